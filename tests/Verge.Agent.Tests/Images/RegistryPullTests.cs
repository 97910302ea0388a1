using Verge.Agent.Images;
using Verge.Agent.Tests.Support;

namespace Verge.Agent.Tests.Images;

/// <summary>Pulls from a real docker-registry holding the busybox test image.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RegistryPullTests(TestRegistry registry) : IClassFixture<TestRegistry>, IDisposable
{
    private readonly ImageStoreHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Pull_ByTag_StoresVerifiedBlobsAndTheImageConfig()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/by-tag", "v1", ["/bin/sh", "-c"]);
        var store = _harness.Open();

        var image = await store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);

        Assert.Equal(reference, image.Reference);
        Assert.StartsWith("sha256:", image.Digest);
        Assert.Equal(["/bin/sh", "-c"], image.Config.Entrypoint);
        Assert.Equal(["sh"], image.Config.Cmd);
        Assert.Contains(image.Config.Env, e => e.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.Equal(ImageStoreOptions.DefaultArchitecture(), image.Config.Architecture);
        Assert.Single(image.LayerDigests);
        Assert.True(image.Size > 500_000, $"busybox layer should be sizeable, was {image.Size}");
        Assert.True(File.Exists(_harness.BlobPath(image.LayerDigests[0])));
        Assert.True(File.Exists(_harness.BlobPath(image.Digest)));
        Assert.Same(image, store.Find(reference));
        Assert.Equal([image], store.List());
        Assert.Empty(_harness.TempLeftovers());
    }

    [Fact]
    public async Task Pull_DockerV2Image_IsAcceptedAndUnpacked()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsDockerV2Async(registry, "pull/docker-v2", "v1", ["/bin/true"]);
        var store = _harness.Open();

        var image = await store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);

        Assert.Equal(["/bin/true"], image.Config.Entrypoint);
        var manifest = await File.ReadAllTextAsync(_harness.BlobPath(image.Digest));
        Assert.Contains("application/vnd.docker.distribution.manifest.v2+json", manifest);
        Assert.True(File.Exists(Path.Combine(await store.GetRootfsAsync(image, CancellationToken.None), "bin", "busybox")));
    }

    [Fact]
    public async Task Pull_ByDigest_VerifiesTheManifestAndIsFoundByEitherName()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/by-digest", "v1");
        var byTag = await _harness.Open().PullAsync(reference, PullPolicy.Always, null, CancellationToken.None);
        var digestReference = $"{registry.Host}/pull/by-digest@{byTag.Digest}";
        using var fresh = new ImageStoreHarness();

        var byDigest = await fresh.Open().PullAsync(digestReference, PullPolicy.IfNotPresent, null, CancellationToken.None);

        Assert.Equal(byTag.Digest, byDigest.Digest);
        Assert.Equal(digestReference, byDigest.Reference);
        Assert.Equal(byTag.Digest, _harness.Open().Find(digestReference)?.Digest);
    }

    [Fact]
    public async Task Pull_IfNotPresentUsesTheCache_AlwaysReResolvesTheTagAndReusesBlobs()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/policy", "moving", ["/bin/echo", "one"]);
        var handler = new CountingHandler();
        var store = _harness.Open(handler);
        var first = await store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);
        Assert.Equal(2, handler.BlobRequests);
        await TestImages.PushBusyboxAsync(registry, "pull/policy", "moving", ["/bin/echo", "two"]);

        var cached = await store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);
        Assert.Equal(first.Digest, cached.Digest);
        Assert.Equal(1, handler.ManifestRequests);

        var refreshed = await store.PullAsync(reference, PullPolicy.Always, null, CancellationToken.None);
        Assert.NotEqual(first.Digest, refreshed.Digest);
        Assert.Equal(["/bin/echo", "two"], refreshed.Config.Entrypoint);
        Assert.Equal(first.LayerDigests, refreshed.LayerDigests);
        Assert.Equal(3, handler.BlobRequests); // only the new config: the layer was reused
        Assert.Equal(refreshed.Digest, store.Find(reference)?.Digest);
    }

    [Fact]
    public async Task Pull_Never_UsesAPresentImageAndFailsWithErrImageNeverPullOtherwise()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/never", "v1");
        var store = _harness.Open();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            store.PullAsync(reference, PullPolicy.Never, null, CancellationToken.None));
        Assert.Equal("ErrImageNeverPull", error.Reason);
        Assert.Contains("not present", error.Message);

        var pulled = await store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);
        var never = await store.PullAsync(reference, PullPolicy.Never, null, CancellationToken.None);
        Assert.Equal(pulled.Digest, never.Digest);
    }

    [Fact]
    public async Task Pull_WhenImageMissing_FailsWithErrImagePullNotFound()
    {
        await registry.EnsureStartedAsync();
        var store = _harness.Open();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            store.PullAsync($"{registry.Host}/no/such-image:v1", PullPolicy.IfNotPresent, null, CancellationToken.None));

        Assert.Equal("ErrImagePull", error.Reason);
        Assert.Contains("not found", error.Message);
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task Pull_WhenReferenceInvalid_FailsWithInvalidImageName()
    {
        var store = _harness.Open();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            store.PullAsync("Not/Valid:", PullPolicy.IfNotPresent, null, CancellationToken.None));

        Assert.Equal("InvalidImageName", error.Reason);
    }

    [Fact]
    public async Task Pull_ConcurrentPullsOfOneImage_ShareOneDownload()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/concurrent", "v1");
        var handler = new CountingHandler();
        var store = _harness.Open(handler);

        var images = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None)));

        Assert.Single(images.Select(i => i.Digest).Distinct());
        Assert.Equal(2, handler.BlobRequests);
        Assert.Equal(1, handler.ManifestRequests);
    }

    [Fact]
    public async Task Index_SurvivesARestartOfTheStore()
    {
        await registry.EnsureStartedAsync();
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/restart", "v1");
        var pulled = await _harness.Open().PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);

        var reopened = _harness.Open();

        var found = reopened.Find(reference);
        Assert.NotNull(found);
        Assert.Equal(pulled.Digest, found.Digest);
        Assert.Equal(pulled.LayerDigests, found.LayerDigests);
        Assert.Equal(pulled.Config.Cmd, found.Config.Cmd);
        Assert.Equal(pulled.Size, found.Size);
        Assert.Equal(pulled.Digest, (await reopened.PullAsync(reference, PullPolicy.Never, null, CancellationToken.None)).Digest);
    }

    [Fact]
    public async Task GetRootfs_UnpacksBusyboxIntoARunnableRootOnce()
    {
        await registry.EnsureStartedAsync();
        var chroot = Tools.Require("chroot", "coreutils");
        var reference = await TestImages.PushBusyboxAsync(registry, "pull/rootfs", "v1");
        var store = _harness.Open();
        var image = await store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None);

        var rootfs = await store.GetRootfsAsync(image, CancellationToken.None);

        Assert.Equal(Path.Combine(_harness.Root, "rootfs", image.Digest["sha256:".Length..]), rootfs);
        Assert.Equal("busybox", new FileInfo(Path.Combine(rootfs, "bin", "sh")).LinkTarget);
        Assert.True(File.GetUnixFileMode(Path.Combine(rootfs, "bin", "busybox")).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal(Convert.ToInt32("1777", 8), (int)File.GetUnixFileMode(Path.Combine(rootfs, "tmp")));
        var output = await Tools.RunAsync(chroot, [rootfs, "/bin/sh", "-c", "echo hello from $(basename $(readlink /bin/ls))"]);
        Assert.Equal("hello from busybox", output.Trim());
        Assert.Equal(rootfs, await _harness.Open().GetRootfsAsync(image, CancellationToken.None));
        Assert.Empty(_harness.TempLeftovers());
    }
}

/// <summary>A registry of its own: these tests damage the registry's storage.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CorruptRegistryTests : IAsyncLifetime
{
    private readonly ImageStoreHarness _harness = new();
    private TestRegistry? _registry;

    public async Task InitializeAsync() => _registry = await TestRegistry.StartAsync();

    public async Task DisposeAsync()
    {
        _harness.Dispose();
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task Pull_WhenARegistryBlobIsCorrupt_FailsWithDigestMismatchAndCachesNothingOfIt()
    {
        var reference = await TestImages.PushBusyboxAsync(_registry!, "corrupt/busybox", "v1");
        var layerData = Directory.GetFiles(Path.Combine(_registry!.StorageDir, "docker", "registry", "v2", "blobs"), "data", SearchOption.AllDirectories)
            .OrderByDescending(f => new FileInfo(f).Length).First();
        var layerDigest = "sha256:" + Path.GetFileName(Path.GetDirectoryName(layerData));
        var bytes = await File.ReadAllBytesAsync(layerData);
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(layerData, bytes);
        var store = _harness.Open();

        var error = await Assert.ThrowsAsync<ImagePullException>(() =>
            store.PullAsync(reference, PullPolicy.IfNotPresent, null, CancellationToken.None));

        Assert.Equal("ErrImagePull", error.Reason);
        Assert.Contains("digest mismatch", error.Message);
        Assert.Contains(layerDigest, error.Message);
        Assert.False(File.Exists(_harness.BlobPath(layerDigest)));
        Assert.Empty(Directory.GetFiles(Path.Combine(_harness.Root, "blobs", "sha256"))); // nor the config fetched before it
        Assert.Null(store.Find(reference));
        Assert.Empty(store.List());
        Assert.Empty(_harness.TempLeftovers());
        Assert.Null(_harness.Open().Find(reference));
    }
}
