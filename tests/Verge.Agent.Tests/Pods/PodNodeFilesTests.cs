using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class PodNodeFilesTests
{
    [Fact]
    public async Task Pod_HandsItsHostAliasesAndDnsSettingsToTheDriver()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("dns", "Always", new Container { Name = "app", Image = "busybox:1" });
        pod.Spec.HostAliases = [new HostAlias { Ip = "10.1.2.3", Hostnames = ["db.local"] }];
        pod.Spec.DnsPolicy = "None";
        pod.Spec.DnsConfig = new PodDnsConfig { Nameservers = ["1.1.1.1"] };
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        var config = host.Driver.Started.Single();
        Assert.Equal("10.1.2.3", Assert.Single(config.HostAliases!).Ip);
        Assert.Equal("None", config.DnsPolicy);
        Assert.Equal(["1.1.1.1"], config.DnsConfig!.Nameservers!);
    }

    [Fact]
    public async Task DownwardApiVolume_IsRewrittenInTheRunningPod_WhenItsLabelsChange()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("labelled", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1",
            VolumeMounts = [new VolumeMount { Name = "info", MountPath = "/etc/podinfo" }],
        });
        pod.Metadata.Labels = new() { ["version"] = "1" };
        pod.Spec.Volumes =
        [
            new Volume
            {
                Name = "info",
                DownwardAPI = new DownwardApiVolumeSource { Items = [new DownwardApiVolumeFile { Path = "labels", FieldRef = new ObjectFieldSelector { FieldPath = "metadata.labels" } }] },
            },
        ];
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        var file = Path.Combine(Assert.Single(host.Driver.Started.Single().Mounts).HostPath, "labels");
        Assert.Equal("version=\"1\"", await File.ReadAllTextAsync(file));

        pod.Metadata.Labels["version"] = "2";
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => File.ReadAllText(file) == "version=\"2\"", "labels file rewritten");
        Assert.Single(host.Driver.Started);
    }
}
