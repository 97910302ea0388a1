using System.Runtime.Versioning;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;
using static Verge.Agent.Tests.Support.TestImages;

namespace Verge.Agent.Tests.Images;

/// <summary>The store's own state: options, the persisted index across restarts, shared unpacks.</summary>
[SupportedOSPlatform("linux")]
public sealed class ImageStoreStateTests : IDisposable
{
    private readonly ImageStoreHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("relative/dir")]
    public void Options_WithoutAnAbsoluteRoot_AreRejected(string root)
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new ImageStore(new ImageStoreOptions { Root = root }, NullLogger<ImageStore>.Instance));

        Assert.Contains("Root", error.Message);
    }

    [Fact]
    public void Options_Defaults_DescribeThisMachine()
    {
        var options = new ImageStoreOptions { Root = "/var/lib/verge/images" };

        Assert.Equal("linux", options.Os);
        Assert.Equal(ImageStoreOptions.DefaultArchitecture(), options.Architecture);
        Assert.Contains(options.Architecture, new[] { "amd64", "arm64", "arm", "386", "s390x", "ppc64le", "riscv64", "loong64" });
    }

    [Fact]
    public async Task Restart_WithAnUnreadableIndex_StartsEmpty()
    {
        await ImportAsync("one");
        await File.WriteAllTextAsync(Path.Combine(_harness.Root, "index.json"), "{not json");

        Assert.Empty(_harness.Open().List());
    }

    [Fact]
    public async Task Restart_DropsEntriesWhoseBlobsAreGone()
    {
        var kept = await ImportAsync("kept");
        var lost = await ImportAsync("lost");
        File.Delete(_harness.BlobPath(lost.Digest));

        var reopened = _harness.Open();

        Assert.Equal([kept.Reference], reopened.List().Select(i => i.Reference).ToArray());
        Assert.Null(reopened.Find(lost.Reference));
    }

    [Fact]
    public async Task GetRootfs_ConcurrentCallsShareOneUnpack()
    {
        var image = await ImportAsync("shared");
        var store = _harness.Open();

        var paths = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => store.GetRootfsAsync(image, CancellationToken.None)));

        Assert.Single(paths.Distinct());
        Assert.Equal("shared", await File.ReadAllTextAsync(Path.Combine(paths[0], "name")));
        Assert.Single(Directory.GetDirectories(Path.Combine(_harness.Root, "rootfs")));
        Assert.Empty(_harness.TempLeftovers());
    }

    [Fact]
    public async Task GetRootfs_OfAnImageNotInTheStore_FailsClearly()
    {
        var image = await ImportAsync("elsewhere");
        using var other = new ImageStoreHarness();

        var error = await Assert.ThrowsAsync<ImagePullException>(() => other.Open().GetRootfsAsync(image, CancellationToken.None));

        Assert.Contains("missing from the image store", error.Message);
    }

    private async Task<ImageInfo> ImportAsync(string name)
    {
        var archive = Path.Combine(_harness.Root, $"{name}.tar");
        await WriteOciArchiveAsync(archive, [(Build([new Layer().File("name", name).Build()]), "v1")]);
        await using var stream = File.OpenRead(archive);
        var image = Assert.Single(await _harness.Open().ImportArchiveAsync(stream, CancellationToken.None));
        return image;
    }
}
