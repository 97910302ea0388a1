using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;

namespace Verge.Agent.Tests.Images;

/// <summary>An image store over a temp root, deleted on dispose; new stores over the same root simulate restarts.</summary>
internal sealed class ImageStoreHarness : IDisposable
{
    private readonly List<ImageStore> _stores = [];

    public ImageStoreHarness() => Root = Tools.TempDir("verge-images");

    public string Root { get; }

    public ImageStore Open(HttpMessageHandler? handler = null, string? architecture = null, string? variant = null,
        Func<ImageStoreOptions, ImageStoreOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new ImageStoreOptions { Root = Root };
        if (architecture is not null)
        {
            options = options with { Architecture = architecture, Variant = variant };
        }

        options = configure?.Invoke(options) ?? options;

        var store = new ImageStore(options, NullLogger<ImageStore>.Instance, handler, time);
        _stores.Add(store);
        return store;
    }

    public string BlobPath(string digest) => Path.Combine(Root, "blobs", "sha256", digest["sha256:".Length..]);

    /// <summary>What is left in the store's scratch directory (must be empty between operations).</summary>
    public string[] TempLeftovers() => Directory.GetFileSystemEntries(Path.Combine(Root, "tmp"));

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        Tools.DeleteDir(Root);
    }
}

/// <summary>Counts requests by path, to show downloads are shared and blobs reused.</summary>
internal sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
{
    private int _blobRequests;
    private int _manifestRequests;

    public int BlobRequests => _blobRequests;

    public int ManifestRequests => _manifestRequests;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (path.Contains("/blobs/", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _blobRequests);
        }
        else if (path.Contains("/manifests/", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _manifestRequests);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
