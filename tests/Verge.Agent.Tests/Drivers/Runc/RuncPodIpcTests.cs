using Verge.Agent.Drivers;
using Verge.Agent.Platform;
using Verge.Agent.Pods;

namespace Verge.Agent.Tests.Drivers.Runc;

/// <summary>
/// The containers of one pod share an IPC namespace and a /dev/shm under real runc, as Kubernetes pods do; another
/// pod's containers do not see them, and the pod's tear-down leaves nothing mounted.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RuncPodIpcTests
{
    [Fact]
    public async Task ContainersOfOnePod_ShareIpcNamespaceAndShm_OtherPodsDoNot()
    {
        await using var harness = new RuncHarness();
        var podDir = Directory.CreateTempSubdirectory("verge-pod-").FullName;
        try
        {
            var ipc = await PodIpc.SetUpAsync(podDir, RuncHarness.Timeout);
            Assert.Equal(ipc, await PodIpc.SetUpAsync(podDir, RuncHarness.Timeout));
            var pod = Guid.NewGuid().ToString();

            // The writer leaves a frame in /dev/shm and stays, as a camera container handing frames to another would.
            var writer = harness.Task("/bin/sh", "-c", "readlink /proc/self/ns/ipc; echo frame-1 > /dev/shm/frame; echo written; exec sleep 1000") with
            {
                PodUid = pod,
                ContainerName = "camera",
                IpcNamespacePath = ipc.Namespace,
                ShmPath = ipc.Shm,
            };
            await harness.StartAsync(writer);
            var writerLog = await RuncHarness.WaitForLogAsync(writer, "written");

            var reader = harness.Task("/bin/sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/frame") with
            {
                PodUid = pod,
                ContainerName = "inference",
                IpcNamespacePath = ipc.Namespace,
                ShmPath = ipc.Shm,
            };
            var readerExit = await harness.Driver.WaitAsync(await harness.StartAsync(reader), RuncHarness.Timeout);

            var stranger = harness.Task("/bin/sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/frame 2>/dev/null || echo no-frame");
            var strangerExit = await harness.Driver.WaitAsync(await harness.StartAsync(stranger), RuncHarness.Timeout);

            var podNamespace = writerLog.Split('\n')[0];
            Assert.StartsWith("ipc:[", podNamespace, StringComparison.Ordinal);
            Assert.Equal((0, $"{podNamespace}\nframe-1\n"), (readerExit.ExitCode, await File.ReadAllTextAsync(reader.LogPath)));
            var strangerLog = await File.ReadAllTextAsync(stranger.LogPath);
            Assert.Equal(0, strangerExit.ExitCode);
            Assert.DoesNotContain(podNamespace, strangerLog, StringComparison.Ordinal);
            Assert.EndsWith("no-frame\n", strangerLog, StringComparison.Ordinal);
            Assert.NotEqual(podNamespace, File.ResolveLinkTarget("/proc/self/ns/ipc", returnFinalTarget: false)?.LinkTarget);
            Assert.Equal("frame-1\n", await File.ReadAllTextAsync(Path.Combine(ipc.Shm, "frame")));
        }
        finally
        {
            await PodIpc.TearDownAsync(podDir, CancellationToken.None);
            var (ns, shm) = PodIpc.PathsOf(podDir);
            Assert.False(MountTable.IsMountPoint(ns) || MountTable.IsMountPoint(shm));
            Assert.False(PodIpc.HasAny(podDir));
            Directory.Delete(podDir, recursive: true);
        }
    }
}
