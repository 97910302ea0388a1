using System.Text;
using Verge.Agent.Pods;
using Verge.Agent.Tests.Fakes;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class PodVolumesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-volumes-").FullName;
    private readonly FakeConfigSource _source = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Pod PodWith(params Volume[] volumes) => new()
    {
        Metadata = new() { Name = "p", Namespace = "default", Uid = "u" },
        Spec = new PodSpec { Volumes = [.. volumes], Containers = [new Container { Name = "app", VolumeMounts = [.. volumes.Select(v => new VolumeMount { Name = v.Name, MountPath = "/mnt/" + v.Name })] }] },
    };

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task ConfigMapVolume_WritesKeysAsFiles_WithDefaultModeAndItems()
    {
        _source.ConfigMaps["cfg"] = new ConfigMap { Data = new() { ["app.conf"] = "a=1", ["other"] = "x" } };
        var pod = PodWith(
            new Volume { Name = "all", ConfigMap = new ConfigMapVolumeSource { Name = "cfg", DefaultMode = Convert.ToInt32("600", 8) } },
            new Volume { Name = "some", ConfigMap = new ConfigMapVolumeSource { Name = "cfg", Items = [new KeyToPath { Key = "app.conf", Path = "conf/app.conf", Mode = Convert.ToInt32("400", 8) }] } });
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);

        await volumes.PrepareAsync(pod, CancellationToken.None);
        var mounts = volumes.MountsFor(pod, pod.Spec.Containers[0]);

        var all = mounts.Single(m => m.ContainerPath == "/mnt/all");
        Assert.True(all.ReadOnly);
        Assert.Equal("a=1", await File.ReadAllTextAsync(Path.Combine(all.HostPath, "app.conf")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(all.HostPath, "..data", "app.conf")));
        var some = mounts.Single(m => m.ContainerPath == "/mnt/some");
        Assert.Equal("a=1", await File.ReadAllTextAsync(Path.Combine(some.HostPath, "conf", "app.conf")));
        Assert.False(File.Exists(Path.Combine(some.HostPath, "other")));
    }

    [Fact]
    public async Task ConfigMapVolume_IsRefreshedAtomically_WhenTheObjectChanges()
    {
        _source.ConfigMaps["cfg"] = new ConfigMap { Data = new() { ["a"] = "1", ["gone"] = "soon" } };
        var pod = PodWith(new Volume { Name = "v", ConfigMap = new ConfigMapVolumeSource { Name = "cfg" } });
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);
        await volumes.PrepareAsync(pod, CancellationToken.None);
        var path = volumes.MountsFor(pod, pod.Spec.Containers[0])[0].HostPath;
        var before = new FileInfo(Path.Combine(path, "..data")).LinkTarget;

        Assert.False(volumes.Refresh(pod));
        _source.ConfigMaps["cfg"] = new ConfigMap { Data = new() { ["a"] = "2", ["new"] = "n" } };
        Assert.True(volumes.Refresh(pod));

        Assert.Equal("2", await File.ReadAllTextAsync(Path.Combine(path, "a")));
        Assert.Equal("n", await File.ReadAllTextAsync(Path.Combine(path, "new")));
        Assert.False(File.Exists(Path.Combine(path, "gone")));
        Assert.NotEqual(before, new FileInfo(Path.Combine(path, "..data")).LinkTarget);
        Assert.False(Directory.Exists(Path.Combine(path, before!)));
    }

    [Fact]
    public async Task SecretVolume_MissingSecret_FailsUnlessOptional()
    {
        var required = PodWith(new Volume { Name = "s", Secret = new SecretVolumeSource { SecretName = "nope" } });
        var optional = PodWith(new Volume { Name = "s", Secret = new SecretVolumeSource { SecretName = "nope", Optional = true } });

        var error = await Assert.ThrowsAsync<VolumeException>(() => new PodVolumes(Path.Combine(_dir, "a"), _source).PrepareAsync(required, CancellationToken.None));
        await new PodVolumes(Path.Combine(_dir, "b"), _source).PrepareAsync(optional, CancellationToken.None);

        Assert.Equal("MountVolume.SetUp failed for volume \"s\" : secret \"nope\" not found", error.Message);
    }

    [Fact]
    public async Task SecretVolume_WritesDecodedBytes()
    {
        _source.Secrets["creds"] = new Secret { Data = new() { ["token"] = Encoding.UTF8.GetBytes("t0k3n") } };
        var pod = PodWith(new Volume { Name = "s", Secret = new SecretVolumeSource { SecretName = "creds" } });
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);

        await volumes.PrepareAsync(pod, CancellationToken.None);

        Assert.Equal("t0k3n", await File.ReadAllTextAsync(Path.Combine(volumes.MountsFor(pod, pod.Spec.Containers[0])[0].HostPath, "token")));
    }

    [Fact]
    public async Task ConfigMapVolume_ItemWithMissingKey_Fails()
    {
        _source.ConfigMaps["cfg"] = new ConfigMap { Data = new() { ["a"] = "1" } };
        var pod = PodWith(new Volume { Name = "v", ConfigMap = new ConfigMapVolumeSource { Name = "cfg", Items = [new KeyToPath { Key = "b", Path = "b" }] } });

        var error = await Assert.ThrowsAsync<VolumeException>(() => new PodVolumes(Path.Combine(_dir, "pod"), _source).PrepareAsync(pod, CancellationToken.None));

        Assert.Contains("configmap references non-existent config key: b", error.Message);
    }

    [Fact]
    public async Task HostPath_TypeChecks_FollowKubernetes()
    {
        var existingDir = Directory.CreateDirectory(Path.Combine(_dir, "dir")).FullName;
        var existingFile = Path.Combine(_dir, "file");
        await File.WriteAllTextAsync(existingFile, "x");
        async Task<string?> Check(string path, string type)
        {
            try
            {
                await new PodVolumes(Path.Combine(_dir, "pod"), _source).PrepareAsync(PodWith(new Volume { Name = "h", HostPath = new HostPathVolumeSource { Path = path, Type = type } }), CancellationToken.None);
                return null;
            }
            catch (VolumeException e)
            {
                return e.Detail;
            }
        }

        Assert.Null(await Check(existingDir, "Directory"));
        Assert.Equal($"hostPath type check failed: {existingFile} is not a directory", await Check(existingFile, "Directory"));
        Assert.Equal($"hostPath type check failed: {_dir}/missing is not a directory", await Check($"{_dir}/missing", "Directory"));
        Assert.Null(await Check($"{_dir}/made", "DirectoryOrCreate"));
        Assert.True(Directory.Exists($"{_dir}/made"));
        Assert.Null(await Check(existingFile, "File"));
        Assert.Equal($"hostPath type check failed: {existingDir} is not a file", await Check(existingDir, "File"));
        Assert.Null(await Check($"{_dir}/touched", "FileOrCreate"));
        Assert.True(File.Exists($"{_dir}/touched"));
        Assert.Equal($"hostPath type check failed: {existingFile} is not a socket file", await Check(existingFile, "Socket"));
        Assert.Null(await Check("/dev/null", "CharDevice"));
        Assert.Null(await Check($"{_dir}/anything", ""));
    }

    [Fact]
    public async Task EmptyDir_IsCreatedUnderThePod_AndRemovedAtCleanUp()
    {
        var pod = PodWith(new Volume { Name = "scratch", EmptyDir = new EmptyDirVolumeSource() });
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);

        await volumes.PrepareAsync(pod, CancellationToken.None);
        var mount = volumes.MountsFor(pod, pod.Spec.Containers[0])[0];
        Assert.Equal(Path.Combine(_dir, "pod", "volumes", "scratch"), mount.HostPath);
        Assert.False(mount.ReadOnly);
        await volumes.CleanUpAsync(CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(_dir, "pod", "volumes")));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task EmptyDir_IsWritableByAnyone_AndWithAnFsGroup_BelongsToIt()
    {
        var pod = PodWith(new Volume { Name = "scratch", EmptyDir = new EmptyDirVolumeSource() });
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);
        await volumes.PrepareAsync(pod, CancellationToken.None);
        var dir = Path.Combine(_dir, "pod", "volumes", "scratch");
        Assert.Equal(Convert.ToInt32("777", 8), (int)File.GetUnixFileMode(dir));

        var owned = PodWith(new Volume { Name = "owned", EmptyDir = new EmptyDirVolumeSource() });
        owned.Spec.SecurityContext = new PodSecurityContext { FsGroup = 2000 };
        await new PodVolumes(Path.Combine(_dir, "pod2"), _source).PrepareAsync(owned, CancellationToken.None);
        var ownedDir = Path.Combine(_dir, "pod2", "volumes", "owned");
        Assert.Equal(Convert.ToInt32("2777", 8), (int)File.GetUnixFileMode(ownedDir));
        Assert.Equal(2000, GroupOf(ownedDir));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task SecretVolume_WithAnFsGroup_IsReadableByThatGroup()
    {
        _source.Secrets["tls"] = new Secret { Data = new() { ["tls.key"] = Encoding.UTF8.GetBytes("k") } };
        var pod = PodWith(new Volume { Name = "tls", Secret = new SecretVolumeSource { SecretName = "tls", DefaultMode = Convert.ToInt32("400", 8) } });
        pod.Spec.SecurityContext = new PodSecurityContext { FsGroup = 2000 };
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);

        await volumes.PrepareAsync(pod, CancellationToken.None);

        var file = Path.Combine(_dir, "pod", "volumes", "tls", "tls.key");
        var target = Path.GetFullPath(new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true)!.FullName);
        Assert.Equal(Convert.ToInt32("440", 8), (int)File.GetUnixFileMode(target));
        Assert.Equal(2000, GroupOf(target));
        Assert.Equal(2000, GroupOf(Path.GetDirectoryName(target)!));

        // Unchanged content with the group's bits is not written again.
        Assert.False(volumes.Refresh(pod));
    }

    private static long GroupOf(string path)
    {
        var result = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%g", path]) { RedirectStandardOutput = true })!;
        var output = result.StandardOutput.ReadToEnd();
        result.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task EmptyDir_MediumMemory_IsATmpfs()
    {
        var pod = PodWith(new Volume { Name = "ram", EmptyDir = new EmptyDirVolumeSource { Medium = "Memory" } });
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source);

        await volumes.PrepareAsync(pod, CancellationToken.None);
        var path = Path.Combine(_dir, "pod", "volumes", "ram");
        var mounted = File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ') is [_, var target, "tmpfs", ..] && target == path);
        await volumes.CleanUpAsync(CancellationToken.None);

        Assert.True(mounted, "the emptyDir of medium Memory should be a tmpfs mount (the test runs as root)");
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), l => l.Contains(path, StringComparison.Ordinal));
    }
}
