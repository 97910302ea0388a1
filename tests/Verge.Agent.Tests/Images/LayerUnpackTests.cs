using System.Runtime.Versioning;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;
using static Verge.Agent.Tests.Support.TestImages;

namespace Verge.Agent.Tests.Images;

/// <summary>Unpacking crafted layers: whiteouts, opaque directories, metadata, and hostile entries.</summary>
[SupportedOSPlatform("linux")]
public sealed class LayerUnpackTests : IDisposable
{
    private readonly ImageStoreHarness _harness = new();
    private readonly string _hostDir = Tools.TempDir("verge-host-victim");

    public void Dispose()
    {
        _harness.Dispose();
        Tools.DeleteDir(_hostDir);
    }

    [Fact]
    public async Task Unpack_WhiteoutDeletesWhatLowerLayersHad()
    {
        var rootfs = await UnpackAsync(
            new Layer().Dir("etc").File("etc/a", "a").File("etc/b", "b").Dir("gone").File("gone/x", "x").Build(),
            new Layer().Whiteout("etc/a").Whiteout("gone").File("etc/c", "c").Whiteout("etc/c").Build());

        Assert.False(File.Exists(Path.Combine(rootfs, "etc", "a")));
        Assert.Equal("b", await File.ReadAllTextAsync(Path.Combine(rootfs, "etc", "b")));
        Assert.False(Directory.Exists(Path.Combine(rootfs, "gone")));
        // A whiteout hides lower layers only: the file its own layer wrote stays.
        Assert.Equal("c", await File.ReadAllTextAsync(Path.Combine(rootfs, "etc", "c")));
        Assert.Empty(Directory.GetFiles(rootfs, ".wh.*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Unpack_OpaqueDirectoryHidesLowerContentAndKeepsItsOwnLayers()
    {
        var rootfs = await UnpackAsync(
            new Layer().Dir("d").File("d/old", "old").Dir("d/sub").File("d/sub/deep", "deep").File("other", "o").Build(),
            new Layer().Dir("d").File("d/early", "early").Opaque("d").File("d/late", "late").Build());

        Assert.Equal(new[] { "early", "late" }, Directory.GetFileSystemEntries(Path.Combine(rootfs, "d")).Select(p => Path.GetFileName(p)!).Order().ToArray());
        Assert.True(File.Exists(Path.Combine(rootfs, "other")));
    }

    [Fact]
    public async Task Unpack_KeepsModesOwnersTimesLinksAndSkipsDevices()
    {
        var mtime = new DateTimeOffset(2021, 6, 7, 8, 9, 10, TimeSpan.Zero);
        var rootfs = await UnpackAsync(
            new Layer()
                .Dir("srv", mode: Convert.ToInt32("700", 8), uid: 1001, gid: 1002)
                .File("srv/run.sh", "#!/bin/sh\n", mode: Convert.ToInt32("4750", 8), uid: 1000, gid: 2000, mtime: mtime)
                .Symlink("srv/current", "run.sh")
                .Symlink("abs", "/srv/run.sh")
                .HardLink("srv/again", "srv/run.sh")
                .CharDevice("dev-null")
                .Build(),
            new Layer().File("srv/run.sh", "#!/bin/sh\necho v2\n", mode: Convert.ToInt32("755", 8), mtime: mtime).Build());

        var stat = Tools.Require("stat", "coreutils");
        var script = Path.Combine(rootfs, "srv", "run.sh");
        Assert.Equal("755 0 0", (await Tools.RunAsync(stat, ["-c", "%a %u %g", script])).Trim());
        Assert.Equal(mtime.UtcDateTime, File.GetLastWriteTimeUtc(script));
        Assert.Equal("700 1001 1002", (await Tools.RunAsync(stat, ["-c", "%a %u %g", Path.Combine(rootfs, "srv")])).Trim());
        Assert.Equal("run.sh", new FileInfo(Path.Combine(rootfs, "srv", "current")).LinkTarget);
        Assert.Equal("/srv/run.sh", new FileInfo(Path.Combine(rootfs, "abs")).LinkTarget);
        // The hard link kept the first layer's file (and its set-user-id mode) when run.sh was replaced.
        var again = Path.Combine(rootfs, "srv", "again");
        Assert.Equal("#!/bin/sh\n", await File.ReadAllTextAsync(again));
        Assert.Equal("4750 1000 2000", (await Tools.RunAsync(stat, ["-c", "%a %u %g", again])).Trim());
        Assert.False(File.Exists(Path.Combine(rootfs, "dev-null")));
    }

    [Fact]
    public async Task Unpack_HardLinksShareTheirInode()
    {
        var rootfs = await UnpackAsync(new Layer().File("a", "same").HardLink("b", "a").HardLink("/c", "./a").Build());

        var stat = Tools.Require("stat", "coreutils");
        var inodes = await Task.WhenAll(new[] { "a", "b", "c" }.Select(n => Tools.RunAsync(stat, ["-c", "%i %h", Path.Combine(rootfs, n)])));
        Assert.Single(inodes.Distinct());
        Assert.EndsWith(" 3", inodes[0].Trim());
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("etc/../../escape")]
    [InlineData("../../../../../../../../tmp/verge-escape")]
    public async Task Unpack_RefusesEntriesClimbingOutOfTheRoot(string name)
    {
        var image = await ImportAsync(new Layer().File("ok", "fine").File(name, "pwned").Build());

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().GetRootfsAsync(image, CancellationToken.None));

        Assert.Contains("refused", error.Message);
        Assert.False(File.Exists("/tmp/verge-escape"));
        Assert.Empty(Directory.GetFiles(_harness.Root, "escape", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_harness.Root, "rootfs")));
        Assert.Empty(_harness.TempLeftovers());
    }

    [Fact]
    public async Task Unpack_ResolvesAbsoluteNamesAndSymlinksInsideTheRoot()
    {
        var relativeUp = string.Concat(Enumerable.Repeat("../", 20)) + _hostDir.TrimStart('/');
        var rootfs = await UnpackAsync(
            new Layer()
                .Symlink("evil", _hostDir)
                .Symlink("up", relativeUp)
                .Dir("sub")
                .Symlink("sub/loop", "../sub/loop")
                .File(_hostDir + "/absolute", "abs")
                .Build(),
            new Layer().File("evil/through-absolute-link", "x").File("up/through-relative-link", "y").Build());

        Assert.Empty(Directory.GetFileSystemEntries(_hostDir));
        var inside = Path.Combine(rootfs, _hostDir.TrimStart('/'));
        Assert.Equal(new[] { "absolute", "through-absolute-link", "through-relative-link" },
            Directory.GetFiles(inside).Select(p => Path.GetFileName(p)!).Order().ToArray());
    }

    [Fact]
    public async Task Unpack_RefusesHardLinksToHostFiles()
    {
        var image = await ImportAsync(new Layer().HardLink("passwd", "/etc/passwd").Build());

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().GetRootfsAsync(image, CancellationToken.None));

        Assert.Contains("does not exist", error.Message);
        Assert.Empty(_harness.TempLeftovers());
    }

    [Fact]
    public async Task Unpack_RefusesASymlinkLoopWithAClearError()
    {
        var image = await ImportAsync(new Layer().Symlink("a", "b").Symlink("b", "a").File("a/x", "x").Build());

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().GetRootfsAsync(image, CancellationToken.None));

        Assert.Contains("symbolic links", error.Message);
    }

    [Fact]
    public async Task Unpack_WhenLayerIsZstd_FailsWithAClearError()
    {
        byte[] zstd = [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0];
        var image = await ImportAsync(Build([zstd], gzip: false));

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().GetRootfsAsync(image, CancellationToken.None));

        Assert.Contains("zstd", error.Message);
    }

    [Fact]
    public async Task Unpack_WhenLayerContentDoesNotMatchTheDiffId_Fails()
    {
        var good = Build([new Layer().File("a", "a").Build()], gzip: false);
        var other = Build([new Layer().File("a", "b").Build()], gzip: false);
        // The first image's config (with its diff_id) over the second image's layer.
        var manifest = System.Text.Encoding.UTF8.GetString(good.Manifest).Replace(good.LayerDigests[0], other.LayerDigests[0], StringComparison.Ordinal)
            .Replace($"\"size\":{good.Blobs[good.LayerDigests[0]].Length}", $"\"size\":{other.Blobs[other.LayerDigests[0]].Length}", StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(manifest);
        var blobs = new Dictionary<string, byte[]> { [good.ConfigDigest] = good.Blobs[good.ConfigDigest], [other.LayerDigests[0]] = other.Blobs[other.LayerDigests[0]] };
        var image = await ImportAsync(new BuiltImage(bytes, Digest(bytes), good.ConfigDigest, other.LayerDigests, blobs));

        var error = await Assert.ThrowsAsync<ImagePullException>(() => _harness.Open().GetRootfsAsync(image, CancellationToken.None));

        Assert.Contains("diff_id", error.Message);
    }

    private async Task<string> UnpackAsync(params byte[][] layers)
    {
        var image = await ImportAsync(Build(layers));
        var store = _harness.Open();
        return await store.GetRootfsAsync(image, CancellationToken.None);
    }

    private async Task<ImageInfo> ImportAsync(byte[] layer) => await ImportAsync(Build([layer]));

    private async Task<ImageInfo> ImportAsync(BuiltImage image)
    {
        var archive = Path.Combine(_harness.Root, "crafted.tar");
        await WriteOciArchiveAsync(archive, [(image, "v1")]);
        await using var stream = File.OpenRead(archive);
        var imported = await _harness.Open().ImportArchiveAsync(stream, CancellationToken.None);
        File.Delete(archive);
        return Assert.Single(imported);
    }
}
