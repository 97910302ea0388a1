using Verge.Agent.Platform;
using Verge.Agent.Pods;
using Verge.Agent.Tests.Fakes;
using Verge.Agent.Tests.Support;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

/// <summary>
/// The pod worker gives every runc container of a pod the pod's IPC namespace and /dev/shm (real mounts under the
/// pod's directory), none to pods with hostIPC or on drivers that do not join them, and removes them with the pod,
/// or as a leftover of an earlier run.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PodIpcTests
{
    [Fact]
    public async Task RuncContainersOfAPod_GetThePodsIpc_WhichGoesWithThePod()
    {
        Tools.RequireRoot();
        await using var host = new PodTestHost(new FakeDriver("runc"));
        await host.StartAsync();
        var pod = PodTestHost.MakePod(
            "shared", "Always", new Container { Name = "camera", Image = "busybox:1.36" }, new Container { Name = "inference", Image = "busybox:1.36" });
        var podDir = Path.Combine(host.DataDir, "pods", "uid-shared");
        var (ns, shm) = PodIpc.PathsOf(podDir);

        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("camera") == 1 && host.Driver.RunningCount("inference") == 1, "both running");

        Assert.All(host.Driver.Started, task => Assert.Equal((ns, shm), (task.IpcNamespacePath, task.ShmPath)));
        Assert.True(MountTable.IsMountPoint(ns) && MountTable.IsMountPoint(shm));

        await host.MarkDeletedAsync(pod, 5);
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-shared") == 1, "termination confirmed");
        Assert.False(MountTable.IsMountPoint(ns) || MountTable.IsMountPoint(shm));
        Assert.False(Directory.Exists(podDir));
    }

    [Fact]
    public async Task HostIpcPods_AndDriversThatDoNotJoinIt_GetNone()
    {
        Tools.RequireRoot();
        await using var host = new PodTestHost(new FakeDriver("runc"));
        host.ExtraDrivers.Add(new FakeDriver("docker"));
        await host.RestartAgentAsync(new FakeDriver("runc"));
        var hostIpc = PodTestHost.MakePod("host-ipc");
        hostIpc.Spec.HostIPC = true;
        var docker = PodTestHost.MakePod("docker", "Always", new Container { Name = "engine", Image = "busybox:1.36" });
        docker.Spec.RuntimeClassName = "docker";

        await host.ApplyAsync(hostIpc);
        await host.ApplyAsync(docker);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "the hostIPC pod running");

        var task = Assert.Single(host.Driver.Started);
        Assert.Equal((true, null, null), (task.HostIpc, task.IpcNamespacePath, task.ShmPath));
        Assert.False(PodIpc.HasAny(Path.Combine(host.DataDir, "pods", "uid-host-ipc")));
        await PodTestHost.Eventually(() => host.ExtraDrivers.OfType<FakeDriver>().Single().Started.Count == 1, "the docker pod started");
        Assert.False(PodIpc.HasAny(Path.Combine(host.DataDir, "pods", "uid-docker")));
    }

    [Fact]
    public async Task IpcLeftByAnEarlierRun_OfAPodNoLongerHere_IsRemoved()
    {
        Tools.RequireRoot();
        var dataDir = Directory.CreateTempSubdirectory("verge-agent-").FullName;
        var podDir = Path.Combine(dataDir, "pods", "uid-gone");
        await PodIpc.SetUpAsync(podDir, CancellationToken.None);
        await using var host = new PodTestHost(dataDir: dataDir);
        await host.StartAsync();

        // Any sync looks for leftovers; applying another pod makes one.
        await host.ApplyAsync(PodTestHost.MakePod("other"));

        await PodTestHost.Eventually(() => !Directory.Exists(podDir), "the leftover removed");
        var (ns, shm) = PodIpc.PathsOf(podDir);
        Assert.False(MountTable.IsMountPoint(ns) || MountTable.IsMountPoint(shm));
    }
}
