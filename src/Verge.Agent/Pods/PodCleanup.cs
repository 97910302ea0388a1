namespace Verge.Agent.Pods;

/// <summary>
/// What is left of a pod on the node once its tasks are stopped and removed: its network, IPC namespace and /dev/shm,
/// volumes, task records and directory (logs included). One order for a worker's termination and for an earlier
/// run's leftovers, so that neither forgets a piece the other removes.
/// </summary>
internal static class PodCleanup
{
    /// <summary>Removes it all; idempotent. <paramref name="network"/> false leaves the network alone (a pod that has none).</summary>
    public static async Task RemoveAsync(PodWorkerContext ctx, string uid, PodVolumes volumes, bool network, CancellationToken ct)
    {
        if (network)
        {
            await ctx.Network.TearDownAsync(uid, ct);
        }

        var dir = ctx.Options.PodDir(uid);
        await PodIpc.TearDownAsync(dir, ct);
        await volumes.CleanUpAsync(ct);
        ctx.State.DeleteTasks(uid);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
