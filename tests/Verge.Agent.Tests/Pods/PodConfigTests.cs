using Verge.Agent.Drivers;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class PodConfigTests
{
    [Fact]
    public async Task MissingConfigMapKey_ShowsCreateContainerConfigError_UntilTheConfigMapArrives()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("cfg", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1",
            Command = ["run", "--mode=$(MODE)"],
            Env = [new EnvVar { Name = "MODE", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new KeySelector { Name = "settings", Key = "mode" } } }],
        });
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Reason == "CreateContainerConfigError", "config error");
        Assert.Equal("configmap \"settings\" not found", host.Container(pod)!.State!.Waiting!.Message);
        Assert.Contains(host.Publisher.Events, e => e.Type == "Warning" && e.Reason == "Failed" && e.Message == "Error: configmap \"settings\" not found");

        await host.ApplyAsync(new ConfigMap { Metadata = new() { Name = "settings", Namespace = "default" }, Data = new() { ["mode"] = "fast" } });

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running once the configmap exists");
        var config = host.Driver.Started.Single();
        Assert.Contains(new KeyValuePair<string, string>("MODE", "fast"), config.Env);
        Assert.Equal(["run", "--mode=fast"], config.Command);
    }

    [Fact]
    public async Task UnsafeSysctl_FailsThePodWithSysctlForbidden_AndTheSecurityContextReachesTheDriver()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var refused = PodTestHost.MakePod("unsafe", "Always", new Container { Name = "app", Image = "busybox:1", Command = ["run"] });
        refused.Spec.SecurityContext = new PodSecurityContext { Sysctls = [new Sysctl { Name = "kernel.msgmax", Value = "65536" }] };
        var restricted = PodTestHost.MakePod("restricted", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1",
            Command = ["run"],
            SecurityContext = new SecurityContext { AllowPrivilegeEscalation = false, Capabilities = new Capabilities { Drop = ["ALL"] } },
        });
        restricted.Spec.SecurityContext = new PodSecurityContext
        {
            RunAsNonRoot = true,
            SeccompProfile = new SeccompProfile { Type = "RuntimeDefault" },
            Sysctls = [new Sysctl { Name = "net.ipv4.ip_unprivileged_port_start", Value = "0" }],
        };

        await host.ApplyAsync(refused);
        await host.ApplyAsync(restricted);

        // As the kubelet's admission: the pod fails and nothing of it starts.
        await PodTestHost.Eventually(() => host.Status(refused)?.Phase == "Failed", "sysctl refused");
        Assert.Equal(("SysctlForbidden", "Pod was rejected: forbidden sysctl: \"kernel.msgmax\" not allowlisted"), (host.Status(refused)!.Reason, host.Status(refused)!.Message));
        Assert.Contains(host.Publisher.Events, e => e.Reason == "SysctlForbidden" && e.InvolvedObject.Name == "unsafe");
        Assert.DoesNotContain(host.Driver.Started, c => c.PodName == "unsafe");
        await PodTestHost.Eventually(() => host.Container(restricted)?.State?.Running is not null, "restricted pod running");
        var security = host.Driver.Started.Single(c => c.PodName == "restricted").Security;
        Assert.Equal((true, true, SeccompMode.RuntimeDefault), (security.RunAsNonRoot, security.NoNewPrivileges, security.Seccomp));
        Assert.Equal(["ALL"], security.DropCapabilities);
        Assert.Equal([new KeyValuePair<string, string>("net.ipv4.ip_unprivileged_port_start", "0")], security.Sysctls);
    }

    [Fact]
    public async Task ConfigMapVolume_IsRefreshedInTheRunningPod_WhenTheConfigMapChanges()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        await host.ApplyAsync(new ConfigMap { Metadata = new() { Name = "files", Namespace = "default" }, Data = new() { ["app.conf"] = "v1" } });
        var pod = PodTestHost.MakePod("vol", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1",
            VolumeMounts = [new VolumeMount { Name = "conf", MountPath = "/etc/app" }],
        });
        pod.Spec.Volumes = [new Volume { Name = "conf", ConfigMap = new ConfigMapVolumeSource { Name = "files" } }];
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        var mount = Assert.Single(host.Driver.Started.Single().Mounts);
        Assert.Equal("/etc/app", mount.ContainerPath);
        Assert.True(mount.ReadOnly);
        var file = Path.Combine(mount.HostPath, "app.conf");
        Assert.Equal("v1", await File.ReadAllTextAsync(file));

        await host.ApplyAsync(new ConfigMap { Metadata = new() { Name = "files", Namespace = "default" }, Data = new() { ["app.conf"] = "v2" } });

        await PodTestHost.Eventually(() => File.ReadAllText(file) == "v2", "file refreshed");
        Assert.Single(host.Driver.Started);
    }

    [Fact]
    public async Task MissingSecretVolume_ShowsContainerCreatingWithFailedMountEvent()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("nosecret");
        pod.Spec.Volumes = [new Volume { Name = "creds", Secret = new SecretVolumeSource { SecretName = "db" } }];
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Publisher.Events.Any(e => e.Reason == "FailedMount"), "FailedMount");
        Assert.Equal("MountVolume.SetUp failed for volume \"creds\" : secret \"db\" not found", host.Publisher.Events.First(e => e.Reason == "FailedMount").Message);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Reason == "ContainerCreating", "ContainerCreating");

        await host.ApplyAsync(new Secret { Metadata = new() { Name = "db", Namespace = "default" }, Data = new() { ["pw"] = "x"u8.ToArray() } });
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running once the secret exists");
    }

    [Fact]
    public async Task HostNetworkPod_GetsNoPodNetwork_AndUsesTheHostIp()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("hostnet");
        pod.Spec.HostNetwork = true;
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        Assert.Equal("192.168.1.10", host.Status(pod)!.PodIP);
        Assert.Null(host.Driver.Started.Single().NetworkNamespacePath);
    }

    [Fact]
    public async Task GuaranteedPod_HasItsQosClassAndLimitsInTheTask()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var limits = new Dictionary<string, Verge.Core.Quantities.Quantity> { ["cpu"] = Verge.Core.Quantities.Quantity.Parse("500m"), ["memory"] = Verge.Core.Quantities.Quantity.Parse("64Mi") };
        var pod = PodTestHost.MakePod("sized", "Always", new Container { Name = "app", Image = "busybox:1", Resources = new ResourceRequirements { Limits = limits } });
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        Assert.Equal("Guaranteed", host.Status(pod)!.QosClass);
        var resources = host.Driver.Started.Single().Resources;
        Assert.Equal(64L << 20, resources.MemoryLimitBytes);
        Assert.Equal(500, resources.CpuLimitMillis);
    }
}

public sealed class PodUpdateTests
{
    [Fact]
    public async Task ImageChange_RestartsTheContainerWithTheNewImage_EvenUnderNever()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("upgrade", "Never");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");

        pod.Spec.Containers[0].Image = "busybox:1.37";
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.Image == "busybox:1.37" && host.Container(pod)?.State?.Running is not null && host.Container(pod)?.RestartCount == 1, "restarted with the new image");
        Assert.Equal(["busybox:1.36", "busybox:1.37"], host.Driver.Started.Select(s => s.ImageReference));
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Killing" && e.Message == "Container app definition changed, will be restarted");
    }
}
