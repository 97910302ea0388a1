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
    public async Task DnsSettingsPastTheResolversLimits_AreDNSConfigFormingWarnings_OncePerPodStart()
    {
        await using var host = new PodTestHost();
        host.Driver.NodeResolvConf = "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example\n";
        await host.StartAsync();
        var pod = PodTestHost.MakePod(
            "resolver",
            "Always",
            new Container { Name = "app", Image = "busybox:1" },
            new Container { Name = "helper", Image = "busybox:1" });
        pod.Spec.DnsConfig = new PodDnsConfig { Nameservers = ["1.1.1.1"], Searches = [new string('x', 254)] };
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null && host.Container(pod, "helper")?.State?.Running is not null, "running");

        // A container's restart forms no new sandbox: nothing more.
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 1 && host.Container(pod)?.State?.Running is not null, "restarted");

        var forming = host.Publisher.Events.Where(e => e.Reason == "DNSConfigForming").ToList();
        Assert.Equal(
        [
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.1 10.0.0.2 10.0.0.3",
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: corp.example",
        ], forming.Select(e => e.Message));
        Assert.All(forming, e =>
        {
            Assert.Equal("Warning", e.Type);
            Assert.Equal(("Pod", "resolver", "uid-resolver"), (e.InvolvedObject.Kind, e.InvolvedObject.Name, e.InvolvedObject.Uid));
            Assert.Null(e.InvolvedObject.FieldPath);
            Assert.Equal("kubelet", e.Source!.Component);
        });
    }

    [Fact]
    public async Task DnsSettingsWithinTheResolversLimits_AreNoEvent()
    {
        await using var host = new PodTestHost();
        host.Driver.NodeResolvConf = "nameserver 10.0.0.1\nsearch corp.example\n";
        await host.StartAsync();
        var pod = PodTestHost.MakePod("quiet");
        pod.Spec.DnsConfig = new PodDnsConfig { Nameservers = ["1.1.1.1"], Searches = ["lab.example"] };
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        Assert.DoesNotContain(host.Publisher.Events, e => e.Reason == "DNSConfigForming");
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
