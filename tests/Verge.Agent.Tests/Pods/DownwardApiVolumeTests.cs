using Verge.Agent.Pods;
using Verge.Agent.Tests.Fakes;
using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Agent.Tests.Pods;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DownwardApiVolumeTests : IDisposable
{
    private static readonly PodRuntimeFacts Facts = new("edge-1", null, null, 2000, 4L << 30);
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-downward-").FullName;
    private readonly FakeConfigSource _source = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Pod PodWith(params Volume[] volumes) => new()
    {
        Metadata = new()
        {
            Name = "web",
            Namespace = "shop",
            Uid = "u-1",
            Labels = new() { ["tier"] = "front", ["app"] = "web" },
            Annotations = new() { ["note"] = "line one\nline \"two\"" },
        },
        Spec = new PodSpec
        {
            Volumes = [.. volumes],
            Containers =
            [
                new Container
                {
                    Name = "app",
                    Resources = new ResourceRequirements { Limits = new() { ["memory"] = Quantity.Parse("128Mi") }, Requests = new() { ["cpu"] = Quantity.Parse("100m") } },
                    VolumeMounts = [.. volumes.Select(v => new VolumeMount { Name = v.Name, MountPath = "/mnt/" + v.Name })],
                },
            ],
        },
    };

    private static DownwardApiVolumeFile Field(string path, string fieldPath, int? mode = null) =>
        new() { Path = path, FieldRef = new ObjectFieldSelector { ApiVersion = "v1", FieldPath = fieldPath }, Mode = mode };

    private async Task<(PodVolumes Volumes, string Path)> PrepareAsync(Pod pod)
    {
        var volumes = new PodVolumes(Path.Combine(_dir, "pod"), _source, Facts);
        await volumes.PrepareAsync(pod, CancellationToken.None);
        var mount = volumes.MountsFor(pod, pod.Spec.Containers[0])[0];
        Assert.True(mount.ReadOnly);
        return (volumes, mount.HostPath);
    }

    [Fact]
    public async Task DownwardApiVolume_WritesPodFieldsAndResources_AsTheKubeletDoes()
    {
        var pod = PodWith(new Volume
        {
            Name = "info",
            DownwardAPI = new DownwardApiVolumeSource
            {
                DefaultMode = Convert.ToInt32("444", 8),
                Items =
                [
                    Field("name", "metadata.name"),
                    Field("labels", "metadata.labels", Convert.ToInt32("400", 8)),
                    Field("meta/annotations", "metadata.annotations"),
                    Field("app", "metadata.labels['app']"),
                    new DownwardApiVolumeFile { Path = "mem", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "limits.memory", Divisor = Quantity.Parse("1Mi") } },
                    new DownwardApiVolumeFile { Path = "cpu", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "limits.cpu", Divisor = Quantity.Parse("1m") } },
                ],
            },
        });

        var (_, path) = await PrepareAsync(pod);

        Assert.Equal("web", await File.ReadAllTextAsync(Path.Combine(path, "name")));
        Assert.Equal("app=\"web\"\ntier=\"front\"", await File.ReadAllTextAsync(Path.Combine(path, "labels")));
        Assert.Equal("note=\"line one\\nline \\\"two\\\"\"", await File.ReadAllTextAsync(Path.Combine(path, "meta", "annotations")));
        Assert.Equal("web", await File.ReadAllTextAsync(Path.Combine(path, "app")));
        Assert.Equal("128", await File.ReadAllTextAsync(Path.Combine(path, "mem")));
        Assert.Equal("2000", await File.ReadAllTextAsync(Path.Combine(path, "cpu")));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(Path.Combine(path, "..data", "labels")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(Path.Combine(path, "..data", "name")));
        Assert.Equal("..data/labels", new FileInfo(Path.Combine(path, "labels")).LinkTarget);
    }

    [Fact]
    public async Task DownwardApiVolume_FollowsTheLabels_WhenThePodChanges()
    {
        var pod = PodWith(new Volume { Name = "info", DownwardAPI = new DownwardApiVolumeSource { Items = [Field("labels", "metadata.labels")] } });
        var (volumes, path) = await PrepareAsync(pod);
        Assert.False(volumes.Refresh(pod));

        pod.Metadata.Labels!["tier"] = "back";

        Assert.True(volumes.Refresh(pod));
        Assert.Equal("app=\"web\"\ntier=\"back\"", await File.ReadAllTextAsync(Path.Combine(path, "labels")));
    }

    [Fact]
    public async Task DownwardApiVolume_NamingAnUnknownContainer_FailsTheMount()
    {
        var pod = PodWith(new Volume
        {
            Name = "info",
            DownwardAPI = new DownwardApiVolumeSource { Items = [new() { Path = "cpu", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "ghost", Resource = "limits.cpu" } }] },
        });

        var error = await Assert.ThrowsAsync<VolumeException>(() => new PodVolumes(Path.Combine(_dir, "pod"), _source, Facts).PrepareAsync(pod, CancellationToken.None));

        Assert.Equal("MountVolume.SetUp failed for volume \"info\" : error preparing data for downwardAPI volume: container ghost not found", error.Message);
    }

    [Fact]
    public async Task ProjectedVolume_PutsEverySourceInOneDirectory_WithTheVolumesDefaultMode()
    {
        _source.ConfigMaps["cfg"] = new ConfigMap { Data = new() { ["app.conf"] = "a=1", ["other"] = "x" } };
        _source.Secrets["creds"] = new Secret { StringData = new() { ["token"] = "s3cret" } };
        var pod = PodWith(new Volume
        {
            Name = "all",
            Projected = new ProjectedVolumeSource
            {
                DefaultMode = Convert.ToInt32("440", 8),
                Sources =
                [
                    new VolumeProjection { ConfigMap = new KeyProjection { Name = "cfg", Items = [new KeyToPath { Key = "app.conf", Path = "conf/app.conf" }] } },
                    new VolumeProjection { Secret = new KeyProjection { Name = "creds", Items = [new KeyToPath { Key = "token", Path = "token", Mode = Convert.ToInt32("400", 8) }] } },
                    new VolumeProjection { Secret = new KeyProjection { Name = "absent", Optional = true } },
                    new VolumeProjection { DownwardAPI = new DownwardApiProjection { Items = [Field("podname", "metadata.name")] } },
                ],
            },
        });

        var (_, path) = await PrepareAsync(pod);

        Assert.Equal("a=1", await File.ReadAllTextAsync(Path.Combine(path, "conf", "app.conf")));
        Assert.Equal("s3cret", await File.ReadAllTextAsync(Path.Combine(path, "token")));
        Assert.Equal("web", await File.ReadAllTextAsync(Path.Combine(path, "podname")));
        Assert.False(File.Exists(Path.Combine(path, "other")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(path, "..data", "podname")));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(Path.Combine(path, "..data", "token")));
    }

    [Fact]
    public async Task ProjectedVolume_WithAMissingRequiredSecret_FailsTheMount()
    {
        var pod = PodWith(new Volume { Name = "all", Projected = new ProjectedVolumeSource { Sources = [new VolumeProjection { Secret = new KeyProjection { Name = "absent" } }] } });

        var error = await Assert.ThrowsAsync<VolumeException>(() => new PodVolumes(Path.Combine(_dir, "pod"), _source, Facts).PrepareAsync(pod, CancellationToken.None));

        Assert.Equal("secret \"absent\" not found", error.Detail);
    }
}
