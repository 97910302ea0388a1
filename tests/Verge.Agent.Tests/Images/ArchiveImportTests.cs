using System.Formats.Tar;
using System.Runtime.Versioning;
using System.Text;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;
using static Verge.Agent.Tests.Support.TestImages;

namespace Verge.Agent.Tests.Images;

[SupportedOSPlatform("linux")]
public sealed class ArchiveImportTests : IDisposable
{
    private readonly ImageStoreHarness _harness = new();
    private readonly string _dir = Tools.TempDir("verge-archives");

    public void Dispose()
    {
        _harness.Dispose();
        Tools.DeleteDir(_dir);
    }

    [Fact]
    public async Task Import_SkopeoOciArchiveWithATag_NamesTheImageAfterTheFileAndRunsOffline()
    {
        var archive = Path.Combine(_dir, "edge-app.tar");
        await WriteBusyboxArchiveAsync(archive, "v1", ["/bin/sh", "-c", "echo hi"]);
        var store = _harness.Open();

        await using (var stream = File.OpenRead(archive))
        {
            var image = Assert.Single(await store.ImportArchiveAsync(stream, CancellationToken.None));
            Assert.Equal("docker.io/library/edge-app:v1", image.Reference);
            Assert.Equal(["/bin/sh", "-c", "echo hi"], image.Config.Entrypoint);
        }

        // A pod naming the image with pull policy Never (or IfNotPresent) needs no registry.
        var found = await store.PullAsync("edge-app:v1", PullPolicy.Never, null, CancellationToken.None);
        var rootfs = await store.GetRootfsAsync(found, CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(rootfs, "bin", "busybox")));
        Assert.Empty(_harness.TempLeftovers());
    }

    [Fact]
    public async Task Import_FullReferenceInRefName_IsUsedAsIs()
    {
        var archive = Path.Combine(_dir, "whatever.tar");
        await WriteBusyboxArchiveAsync(archive, "ghcr.io/acme/tool:2.0");

        await using var stream = File.OpenRead(archive);
        var image = Assert.Single(await _harness.Open().ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Equal("ghcr.io/acme/tool:2.0", image.Reference);
    }

    [Fact]
    public async Task Import_ContainerdNameAnnotation_WinsOverTheFileName()
    {
        var archive = Path.Combine(_dir, "export.tar");
        await WriteOciArchiveAsync(archive, [(Build([new Layer().File("a", "a").Build()]), "3")],
            new Dictionary<string, string> { ["io.containerd.image.name"] = "registry.example/team/app:3" });

        await using var stream = File.OpenRead(archive);
        var image = Assert.Single(await _harness.Open().ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Equal("registry.example/team/app:3", image.Reference);
    }

    [Fact]
    public async Task Import_UnnamedImageFromAStream_IsRecordedByDigest()
    {
        var built = Build([new Layer().File("a", "a").Build()]);
        var archive = Path.Combine(_dir, "unnamed.tar");
        await WriteOciArchiveAsync(archive, [(built, null)]);

        using var stream = new MemoryStream(await File.ReadAllBytesAsync(archive));
        var image = Assert.Single(await _harness.Open().ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Equal($"docker.io/library/{ImageStore.FallbackImportName}@{built.ManifestDigest}", image.Reference);
        Assert.Equal(built.ManifestDigest, image.Digest);
    }

    [Fact]
    public async Task Import_GzippedArchiveOfSeveralImages_ImportsEach()
    {
        var first = Build([new Layer().File("one", "1").Build()]);
        var second = Build([new Layer().File("two", "2").Build()]);
        var archive = Path.Combine(_dir, "bundle.tar");
        await WriteOciArchiveAsync(archive, [(first, "one"), (second, "two")]);

        using var stream = new MemoryStream(Gzip(await File.ReadAllBytesAsync(archive)));
        var images = await _harness.Open().ImportArchiveAsync(stream, "bundle", CancellationToken.None);

        Assert.Equal(["docker.io/library/bundle:one", "docker.io/library/bundle:two"], images.Select(i => i.Reference).Order().ToArray());
        Assert.Equal(2, _harness.Open().List().Count);
    }

    [Fact]
    public async Task Import_GzippedArchiveFromANonSeekableStream_IsRecognised()
    {
        var built = Build([new Layer().File("a", "a").Build()]);
        var archive = Path.Combine(_dir, "piped.tar");
        await WriteOciArchiveAsync(archive, [(built, "v1")]);

        await using var stream = new NonSeekableStream(Gzip(await File.ReadAllBytesAsync(archive)));
        var image = Assert.Single(await _harness.Open().ImportArchiveAsync(stream, "piped", CancellationToken.None));

        Assert.Equal("docker.io/library/piped:v1", image.Reference);
    }

    [Fact]
    public async Task Import_WhenABlobDoesNotMatchItsDigest_FailsAndStoresNothing()
    {
        var built = Build([new Layer().File("a", "original").Build()]);
        var tampered = built.Blobs.ToDictionary(b => b.Key, b => b.Value);
        tampered[built.LayerDigests[0]] = Gzip(new Layer().File("a", "tampered").Build());
        var archive = Path.Combine(_dir, "tampered.tar");
        await WriteOciArchiveAsync(archive, [(built with { Blobs = tampered }, "v1")]);
        var store = _harness.Open();

        await using var stream = File.OpenRead(archive);
        var error = await Assert.ThrowsAsync<ImagePullException>(() => store.ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Contains("digest mismatch", error.Message);
        Assert.Empty(store.List());
        Assert.Empty(Directory.GetFiles(Path.Combine(_harness.Root, "blobs", "sha256")));
        Assert.Empty(_harness.TempLeftovers());
    }

    [Fact]
    public async Task Import_WhenABlobIsMissing_FailsNamingIt()
    {
        var built = Build([new Layer().File("a", "a").Build()]);
        var archive = Path.Combine(_dir, "partial.tar");
        var partial = built.Blobs.Where(b => b.Key != built.LayerDigests[0]).ToDictionary(b => b.Key, b => b.Value);
        await WriteOciArchiveAsync(archive, [(built with { Blobs = partial }, "v1")]);

        await using var stream = File.OpenRead(archive);
        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Contains(built.LayerDigests[0], error.Message);
    }

    [Theory]
    [InlineData("not a tar at all, just some words that are long enough to fill a header block or so")]
    [InlineData("")]
    public async Task Import_WhenNotAnImageArchive_FailsClearly(string content)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Contains("archive", error.Message);
    }

    [Fact]
    public async Task Import_DockerArchive_BuildsAManifestFromManifestJson()
    {
        var layer = new Layer().Dir("app").File("app/hello", "docker").Build();
        var config = Encoding.UTF8.GetBytes(
            $"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"/app/hello\"]}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{Digest(layer)}\"]}}}}");
        var configName = Digest(config)["sha256:".Length..] + ".json";
        var archive = Path.Combine(_dir, "saved.tar");
        await using (var file = File.Create(archive))
        await using (var writer = new TarWriter(file, TarEntryFormat.Ustar))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, configName) { DataStream = new MemoryStream(config) });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "abc"));
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "abc/layer.tar") { DataStream = new MemoryStream(layer) });
            var manifest = $"[{{\"Config\":\"{configName}\",\"RepoTags\":[\"example/app:1\"],\"Layers\":[\"abc/layer.tar\"]}}]";
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(manifest)) });
        }

        var store = _harness.Open();
        await using var stream = File.OpenRead(archive);
        var image = Assert.Single(await store.ImportArchiveAsync(stream, CancellationToken.None));

        Assert.Equal("docker.io/example/app:1", image.Reference);
        Assert.Equal(["/app/hello"], image.Config.Cmd);
        Assert.Equal([Digest(layer)], image.LayerDigests);
        var rootfs = await store.GetRootfsAsync(image, CancellationToken.None);
        Assert.Equal("docker", await File.ReadAllTextAsync(Path.Combine(rootfs, "app", "hello")));
    }

    [Theory]
    [InlineData("/data/images/Edge_App.v2.tar", "edge_app")]
    [InlineData("my image.tar.gz", "my-image")]
    [InlineData("...", null)]
    public void NameFromFile_LowercasesAndDropsExtensions(string path, string? expected)
    {
        Assert.Equal(expected, ImageStore.NameFromFile(path));
    }

    private sealed class NonSeekableStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}
