using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Verge.Agent.Tests.Support;

namespace Verge.Agent.Tests.Images;

/// <summary>
/// A small distribution registry in Kestrel for what the real one does not do out of the box: Basic auth, Bearer
/// auth through a token service, blob redirects to another origin, and serving hand-made manifest lists. Manifests are
/// only answered when Accept names their media type, like the real registry.
/// </summary>
internal sealed class FakeRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (byte[] Body, string MediaType)> _manifests = new();
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new();

    private FakeRegistry(WebApplication app) => _app = app;

    public enum AuthMode
    {
        None,
        Basic,
        Bearer,
    }

    public AuthMode Mode { get; init; }

    /// <summary>Credentials the registry (Basic) or its token service (Bearer) accepts; null: the token service is anonymous.</summary>
    public (string User, string Password)? Credentials { get; init; }

    /// <summary>Blob GETs answer 307 to /storage/... (another path standing in for a CDN).</summary>
    public bool RedirectBlobs { get; init; }

    /// <summary>Blob GETs send their headers and a few bytes, then nothing until the client gives up.</summary>
    public bool StallBlobs { get; set; }

    public string Host { get; private set; } = string.Empty;

    public int TokenRequests;

    public int StorageRequestsWithAuthorization;

    public ConcurrentQueue<string> TokenScopes { get; } = new();

    public static async Task<FakeRegistry> StartAsync(AuthMode mode, (string, string)? credentials = null, bool redirectBlobs = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var registry = new FakeRegistry(app) { Mode = mode, Credentials = credentials, RedirectBlobs = redirectBlobs };
        app.Run(registry.HandleAsync);
        await app.StartAsync();
        registry.Host = new Uri(app.Urls.First()).Authority;
        return registry;
    }

    public void AddImage(string repository, string tag, TestImages.BuiltImage image)
    {
        foreach (var (digest, blob) in image.Blobs)
        {
            _blobs[digest] = blob;
        }

        _manifests[$"{repository}/{image.ManifestDigest}"] = (image.Manifest, "application/vnd.oci.image.manifest.v1+json");
        _manifests[$"{repository}/{tag}"] = (image.Manifest, "application/vnd.oci.image.manifest.v1+json");
    }

    public void AddIndex(string repository, string tag, byte[] index, string mediaType = "application/vnd.oci.image.index.v1+json")
    {
        _manifests[$"{repository}/{TestImages.Digest(index)}"] = (index, mediaType);
        _manifests[$"{repository}/{tag}"] = (index, mediaType);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (path == "/token")
        {
            await TokenAsync(context);
            return;
        }

        if (path.StartsWith("/storage/", StringComparison.Ordinal))
        {
            if (context.Request.Headers.Authorization.Count > 0)
            {
                Interlocked.Increment(ref StorageRequestsWithAuthorization);
            }

            await ServeBlobAsync(context, path["/storage/".Length..]);
            return;
        }

        if (!path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (!Authorized(context))
        {
            context.Response.StatusCode = 401;
            var repository = path.Contains("/manifests/", StringComparison.Ordinal) || path.Contains("/blobs/", StringComparison.Ordinal)
                ? path[4..path.LastIndexOf('/', path.LastIndexOf('/') - 1)]
                : string.Empty;
            context.Response.Headers.WWWAuthenticate = Mode == AuthMode.Basic
                ? "Basic realm=\"fake\""
                : $"Bearer realm=\"http://{Host}/token\",service=\"fake-registry\",scope=\"repository:{repository}:pull\"";
            return;
        }

        var manifests = path.IndexOf("/manifests/", StringComparison.Ordinal);
        if (manifests > 0)
        {
            var key = $"{path[4..manifests]}/{path[(manifests + "/manifests/".Length)..]}";
            var accept = context.Request.Headers.Accept.ToString();
            if (!_manifests.TryGetValue(key, out var manifest) || !accept.Contains(manifest.MediaType, StringComparison.Ordinal))
            {
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}");
                return;
            }

            context.Response.ContentType = manifest.MediaType;
            context.Response.Headers["Docker-Content-Digest"] = TestImages.Digest(manifest.Body);
            await context.Response.Body.WriteAsync(manifest.Body);
            return;
        }

        var blobs = path.IndexOf("/blobs/", StringComparison.Ordinal);
        if (blobs > 0)
        {
            var digest = path[(blobs + "/blobs/".Length)..];
            if (RedirectBlobs)
            {
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = $"http://localhost:{new Uri("http://" + Host).Port}/storage/{digest}";
                return;
            }

            await ServeBlobAsync(context, digest);
            return;
        }

        context.Response.StatusCode = path == "/v2/" ? 200 : 404;
    }

    private async Task ServeBlobAsync(HttpContext context, string digest)
    {
        if (!_blobs.TryGetValue(digest, out var blob))
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = blob.Length;
        if (StallBlobs)
        {
            await context.Response.Body.WriteAsync(blob.AsMemory(0, 8));
            await context.Response.Body.FlushAsync();
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        await context.Response.Body.WriteAsync(blob);
    }

    private bool Authorized(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return Mode switch
        {
            AuthMode.None => true,
            AuthMode.Basic => Credentials is { } c && header == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")),
            _ => header == "Bearer fake-token-" + TokenScopes.LastOrDefault(),
        };
    }

    private async Task TokenAsync(HttpContext context)
    {
        Interlocked.Increment(ref TokenRequests);
        if (Credentials is { } c &&
            context.Request.Headers.Authorization.ToString() != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")))
        {
            context.Response.StatusCode = 401;
            return;
        }

        var scope = context.Request.Query["scope"].ToString();
        if (context.Request.Query["service"] != "fake-registry" || scope.Length == 0)
        {
            context.Response.StatusCode = 400;
            return;
        }

        TokenScopes.Enqueue(scope);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($"{{\"token\":\"fake-token-{scope}\",\"expires_in\":300}}");
    }
}
