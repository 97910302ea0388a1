using System.Runtime.Versioning;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;
using static Verge.Agent.Tests.Support.TestImages;

namespace Verge.Agent.Tests.Images;

/// <summary>Authentication, redirects and manifest lists, against the in-test <see cref="FakeRegistry"/>.</summary>
[SupportedOSPlatform("linux")]
public sealed class RegistryAuthTests : IDisposable
{
    private static readonly BuiltImage Image = Build([new Layer().File("hello", "auth").Build()]);
    private readonly ImageStoreHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Pull_WithBasicAuth_SendsTheCredentials()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.Basic, ("robot", "s3cret"));
        registry.AddImage("team/app", "v1", Image);

        var image = await _harness.Open().PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always,
            new RegistryCredentials("robot", "s3cret"), CancellationToken.None);

        Assert.Equal(Image.ManifestDigest, image.Digest);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    public async Task Pull_WithBasicAuthAndNoOrWrongCredentials_FailsUnauthorized(string? password)
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.Basic, ("robot", "s3cret"));
        registry.AddImage("team/app", "v1", Image);
        var credentials = password is null ? null : new RegistryCredentials("robot", password);

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            _harness.Open().PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always, credentials, CancellationToken.None));

        Assert.Equal("ErrImagePull", error.Reason);
        Assert.Contains("unauthorized", error.Message);
    }

    [Fact]
    public async Task Pull_WithBearerAuth_GetsATokenWithCredentialsOnceAndReusesIt()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.Bearer, ("robot", "s3cret"));
        registry.AddImage("team/app", "v1", Image);
        var store = _harness.Open();
        var credentials = new RegistryCredentials("robot", "s3cret");

        await store.PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always, credentials, CancellationToken.None);
        var again = await store.PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always, credentials, CancellationToken.None);

        Assert.Equal(Image.ManifestDigest, again.Digest);
        Assert.Equal(1, registry.TokenRequests);
        Assert.Equal(["repository:team/app:pull"], registry.TokenScopes);
    }

    [Fact]
    public async Task Pull_WithBearerAuth_AsksForANewTokenOnceTheOldOneExpired()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.Bearer);
        registry.AddImage("team/app", "v1", Image);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = _harness.Open(time: time);
        await store.PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always, null, CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(200));
        await store.PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always, null, CancellationToken.None);
        Assert.Equal(1, registry.TokenRequests);

        time.Advance(TimeSpan.FromSeconds(200)); // past the 300 s the token service granted
        await store.PullAsync($"{registry.Host}/team/app:v1", PullPolicy.Always, null, CancellationToken.None);
        Assert.Equal(2, registry.TokenRequests);
    }

    [Fact]
    public async Task Pull_WithBearerAuth_WhenTheTokenServiceRefusesTheCredentials_FailsUnauthorized()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.Bearer, ("robot", "s3cret"));
        registry.AddImage("team/app", "v1", Image);

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().PullAsync(
            $"{registry.Host}/team/app:v1", PullPolicy.Always, new RegistryCredentials("robot", "nope"), CancellationToken.None));

        Assert.Contains("unauthorized", error.Message);
        Assert.Contains("token service", error.Message);
    }

    [Fact]
    public async Task Pull_WithAnonymousBearerToken_AndRedirectedBlobs_DoesNotLeakTheTokenToStorage()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.Bearer, redirectBlobs: true);
        registry.AddImage("library/public", "latest", Image);
        var store = _harness.Open();

        var image = await store.PullAsync($"{registry.Host}/library/public", PullPolicy.IfNotPresent, null, CancellationToken.None);

        Assert.Equal(Image.ManifestDigest, image.Digest);
        Assert.Equal(1, registry.TokenRequests);
        Assert.Equal(0, registry.StorageRequestsWithAuthorization);
        var rootfs = await store.GetRootfsAsync(image, CancellationToken.None);
        Assert.Equal("auth", await File.ReadAllTextAsync(Path.Combine(rootfs, "hello")));
    }

    [Theory]
    [InlineData("amd64", null, "amd64")]
    [InlineData("arm64", "v8", "arm64")]
    [InlineData("arm", "v7", "arm-v7")]
    public async Task Pull_ManifestList_ResolvesToTheNodePlatform(string architecture, string? variant, string expected)
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.None);
        var images = new (BuiltImage Image, string Architecture, string? Variant)[]
        {
            (Build([new Layer().File("arch", "amd64").Build()], architecture: "amd64"), "amd64", null),
            (Build([new Layer().File("arch", "arm64").Build()], architecture: "arm64", variant: "v8"), "arm64", "v8"),
            (Build([new Layer().File("arch", "arm-v6").Build()], architecture: "arm", variant: "v6"), "arm", "v6"),
            (Build([new Layer().File("arch", "arm-v7").Build()], architecture: "arm", variant: "v7"), "arm", "v7"),
        };
        foreach (var (image, _, _) in images)
        {
            registry.AddImage("multi/app", image.ManifestDigest, image);
        }

        registry.AddIndex("multi/app", "v1", BuildIndex(images));
        var store = _harness.Open(architecture: architecture, variant: variant);

        var pulled = await store.PullAsync($"{registry.Host}/multi/app:v1", PullPolicy.IfNotPresent, null, CancellationToken.None);

        Assert.Equal(architecture, pulled.Config.Architecture);
        var rootfs = await store.GetRootfsAsync(pulled, CancellationToken.None);
        Assert.Equal(expected, await File.ReadAllTextAsync(Path.Combine(rootfs, "arch")));
    }

    [Fact]
    public async Task Pull_ManifestListWithoutTheNodePlatform_FailsNamingWhatItOffers()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.None);
        var amd64 = Build([new Layer().File("arch", "amd64").Build()], architecture: "amd64");
        registry.AddImage("multi/app", amd64.ManifestDigest, amd64);
        registry.AddIndex("multi/app", "v1", BuildIndex([(amd64, "amd64", null)]));

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open(architecture: "riscv64").PullAsync(
            $"{registry.Host}/multi/app:v1", PullPolicy.IfNotPresent, null, CancellationToken.None));

        Assert.Contains("linux/riscv64", error.Message);
        Assert.Contains("linux/amd64", error.Message);
    }
    [Fact]
    public async Task Pull_Always_WhenTheRegistryIsUnreachable_UsesTheCachedImage()
    {
        var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.None);
        registry.AddImage("edge/app", "v1", Image);
        var reference = $"{registry.Host}/edge/app:v1";
        var store = _harness.Open();
        var pulled = await store.PullAsync(reference, PullPolicy.Always, null, CancellationToken.None);
        await registry.DisposeAsync();

        var offline = await store.PullAsync(reference, PullPolicy.Always, null, CancellationToken.None);

        Assert.Equal(pulled.Digest, offline.Digest);
        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            _harness.Open().PullAsync($"{registry.Host}/edge/other:v1", PullPolicy.Always, null, CancellationToken.None));
        Assert.Contains("cannot reach registry", error.Message);
    }

    [Fact]
    public async Task Pull_WhenALayerIsMissingFromTheRegistry_RemovesTheBlobsItAlreadyFetched()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.None);
        var partial = Image with { Blobs = Image.Blobs.Where(b => b.Key != Image.LayerDigests[0]).ToDictionary() };
        registry.AddImage("edge/partial", "v1", partial);
        var store = _harness.Open();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            store.PullAsync($"{registry.Host}/edge/partial:v1", PullPolicy.IfNotPresent, null, CancellationToken.None));

        Assert.Contains("not found", error.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_harness.Root, "blobs", "sha256")));
        Assert.Empty(store.List());
    }
    [Fact]
    public async Task Pull_WhenABlobDownloadStalls_FailsClearlyAndLeavesNothing()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.None);
        registry.AddImage("edge/slow", "v1", Image);
        registry.StallBlobs = true;
        var store = _harness.Open(configure: o => o with { StallTimeout = TimeSpan.FromSeconds(1) });

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            store.PullAsync($"{registry.Host}/edge/slow:v1", PullPolicy.IfNotPresent, null, CancellationToken.None));

        Assert.Contains("sent no data", error.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_harness.Root, "blobs", "sha256")));
        Assert.Empty(_harness.TempLeftovers());
    }
    [Fact]
    public async Task Pull_DockerManifestList_IsResolvedLikeAnOciIndex()
    {
        await using var registry = await FakeRegistry.StartAsync(FakeRegistry.AuthMode.None);
        var amd64 = Build([new Layer().File("arch", "amd64").Build()], architecture: "amd64");
        var arm64 = Build([new Layer().File("arch", "arm64").Build()], architecture: "arm64");
        registry.AddImage("multi/docker", amd64.ManifestDigest, amd64);
        registry.AddImage("multi/docker", arm64.ManifestDigest, arm64);
        var list = System.Text.Encoding.UTF8.GetString(BuildIndex([(amd64, "amd64", null), (arm64, "arm64", null)]))
            .Replace("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json", StringComparison.Ordinal);
        registry.AddIndex("multi/docker", "v1", System.Text.Encoding.UTF8.GetBytes(list), "application/vnd.docker.distribution.manifest.list.v2+json");

        var pulled = await _harness.Open(architecture: "arm64", variant: "v8").PullAsync(
            $"{registry.Host}/multi/docker:v1", PullPolicy.IfNotPresent, null, CancellationToken.None);

        Assert.Equal(arm64.ManifestDigest, pulled.Digest);
    }
}
