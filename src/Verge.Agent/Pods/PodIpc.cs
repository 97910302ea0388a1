using Verge.Agent.Platform;

namespace Verge.Agent.Pods;

/// <summary>A pod's IPC namespace and its /dev/shm could not be set up (a host tool missing or refusing).</summary>
internal sealed class PodIpcException(string message) : Exception(message);

/// <summary>
/// What the containers of one pod share besides the network, as a Kubernetes pod sandbox gives them: one IPC
/// namespace (System V shared memory, semaphores, message queues, POSIX message queues) and one /dev/shm (POSIX shared
/// memory), so that a container can hand another frames or buffers through shared memory. containerd holds both with
/// the pod's pause container; Verge has no pause container, and holds them without a process:
/// <list type="bullet">
/// <item>the namespace is bind-mounted on <c>PODDIR/ipc/ns</c> (<c>unshare --ipc=FILE</c>), as <c>ip netns</c> holds a
/// network namespace, and each runc container joins it by that path;</item>
/// <item>/dev/shm is a 64 MiB tmpfs (the size and options containerd gives a sandbox) on <c>PODDIR/ipc/shm</c>,
/// bind-mounted into each container.</item>
/// </list>
/// Both outlive an agent restart (the next run finds them mounted and keeps them, so running containers and new ones
/// still share them) and are gone after a reboot, when every container starts again anyway.
/// </summary>
internal static class PodIpc
{
    /// <summary>The mount options containerd gives a pod's /dev/shm.</summary>
    private const string ShmOptions = "nosuid,noexec,nodev,mode=1777,size=65536k";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The namespace file and the shm directory of the pod whose directory is <paramref name="podDir"/>.</summary>
    public static (string Namespace, string Shm) PathsOf(string podDir) =>
        (Path.Combine(podDir, "ipc", "ns"), Path.Combine(podDir, "ipc", "shm"));

    /// <summary>Whether an earlier set-up left anything under <paramref name="podDir"/>.</summary>
    public static bool HasAny(string podDir) => Directory.Exists(Path.Combine(podDir, "ipc"));

    /// <summary>Creates what is missing (idempotent) and returns the paths; throws <see cref="PodIpcException"/>.</summary>
    public static async Task<(string Namespace, string Shm)> SetUpAsync(string podDir, CancellationToken ct)
    {
        var (ns, shm) = PathsOf(podDir);
        Directory.CreateDirectory(shm);
        if (!MountTable.IsMountPoint(shm))
        {
            await RunAsync("mount", ["-t", "tmpfs", "-o", ShmOptions, "shm", shm], "cannot set up the pod's /dev/shm", ct);
        }

        if (!MountTable.IsMountPoint(ns))
        {
            // unshare bind-mounts the new namespace on a file that must exist.
            File.WriteAllBytes(ns, []);
            await RunAsync("unshare", ["--ipc=" + ns, "true"], "cannot set up the pod's IPC namespace", ct);
        }

        return (ns, shm);
    }

    /// <summary>Unmounts both and removes the directory; idempotent, and safe when nothing was set up.</summary>
    public static async Task TearDownAsync(string podDir, CancellationToken ct)
    {
        var dir = Path.Combine(podDir, "ipc");
        if (!Directory.Exists(dir))
        {
            return;
        }

        var (ns, shm) = PathsOf(podDir);
        foreach (var path in new[] { shm, ns })
        {
            if (MountTable.IsMountPoint(path))
            {
                // Lazy: a container that has not quite gone yet keeps its own reference, the pod's path is freed now.
                await RunAsync("umount", ["-l", path], $"cannot unmount {path}", ct);
            }
        }

        Directory.Delete(dir, recursive: true);
    }

    private static async Task RunAsync(string file, string[] args, string failure, CancellationToken ct)
    {
        CommandResult result;
        try
        {
            result = await CommandRunner.RunAsync(file, args, CommandTimeout, ct);
        }
        catch (InvalidOperationException e)
        {
            throw new PodIpcException($"{failure}: {e.Message}");
        }

        if (result.TimedOut)
        {
            throw new PodIpcException($"{failure}: {file} did not finish within {CommandTimeout.TotalSeconds:0} s");
        }

        if (result.ExitCode != 0)
        {
            throw new PodIpcException($"{failure}: {result.Diagnostic}");
        }
    }
}
