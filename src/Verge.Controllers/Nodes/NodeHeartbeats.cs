using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Verge.Controllers.Runtime;
using Verge.Core.Coordination;
using Verge.Core.Core;

namespace Verge.Controllers.Nodes;

/// <summary>
/// The heartbeats of the nodes as the node lifecycle controller sees them: per node, the last heartbeat (its Lease's
/// renewTime and its Ready condition's lastHeartbeatTime) and when this process first saw it. Ages are measured on
/// this process's clock from that moment, as Kubernetes does, so a node whose clock is off does not matter.
/// </summary>
/// <remarks>
/// The scheduling loop of the same leadership term reads <see cref="IsLapsed"/> too: a node whose heartbeat has
/// lapsed gets no new pods even before the controller has had time to mark it (when thousands go dark together,
/// marking them all takes seconds).
/// </remarks>
internal sealed class NodeHeartbeats(Informer<Node> nodes, Informer<Lease> leases, NodeLifecycleOptions options, TimeProvider time)
{
    /// <summary>Per node: the last heartbeat, when it was first seen, and whether it changed since the node was first seen.</summary>
    private readonly ConcurrentDictionary<string, (HeartbeatMark Mark, DateTimeOffset SeenAt, bool Renewed)> _seen = new(StringComparer.Ordinal);

    /// <summary>Records the node's current heartbeat; true when it changed since last seen.</summary>
    public bool Observe(string name)
    {
        var lease = leases.Get(options.LeaseNamespace, name);
        var heartbeat = nodes.Get(null, name) is { } node ? node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.LastHeartbeatTime : null;
        var mark = new HeartbeatMark(lease?.Metadata.Uid, lease?.Spec.RenewTime?.UtcTicks, heartbeat?.UtcTicks);
        if (_seen.TryGetValue(name, out var seen) && seen.Mark == mark)
        {
            // Unchanged, the common case (the monitor looks at every node every second): no allocation, no write.
            return false;
        }

        var now = time.GetUtcNow();
        var changed = new StrongBox<bool>();
        _seen.AddOrUpdate(
            name,
            static (_, arg) =>
            {
                arg.Changed.Value = true;
                return (arg.Mark, arg.Now, false);
            },
            static (_, old, arg) =>
            {
                if (old.Mark == arg.Mark)
                {
                    return old;
                }

                arg.Changed.Value = true;
                return (arg.Mark, arg.Now, old.Renewed || old.Mark.Renews(arg.Mark));
            },
            (Mark: mark, Now: now, Changed: changed));
        return changed.Value;
    }

    /// <summary>When the node's heartbeat goes stale: when its last heartbeat was first seen plus its grace; null for a node never observed.</summary>
    public DateTimeOffset? StaleAt(string name) => _seen.TryGetValue(name, out var seen) ? seen.SeenAt + GraceOf(name) : null;

    /// <summary>Whether the node's last heartbeat is older than its grace (false for a node never observed). Thread-safe.</summary>
    public bool IsLapsed(string name) => StaleAt(name) is { } at && time.GetUtcNow() > at;

    /// <summary>
    /// Whether this process has seen the node's heartbeat change since it first saw the node. A new leader sees every
    /// heartbeat for the first time: that a node it finds marked unreachable has a heartbeat says nothing of whether it
    /// is alive, only a change does.
    /// </summary>
    public bool HasRenewed(string name) => _seen.TryGetValue(name, out var seen) && seen.Renewed;

    public void Forget(string name) => _seen.TryRemove(name, out _);

    /// <summary>
    /// How long the node's heartbeat may stay unchanged: the grace period, or the <c>leaseDurationSeconds</c> its Lease
    /// declares when that is longer (a large fleet renews less often, see <see cref="NodeHeartbeat"/>), at most
    /// <see cref="NodeHeartbeat.MaxLeaseDuration"/>.
    /// </summary>
    public TimeSpan GraceOf(string name)
    {
        var grace = options.GracePeriod;
        if (leases.Get(options.LeaseNamespace, name)?.Spec.LeaseDurationSeconds is { } seconds)
        {
            var declared = TimeSpan.FromSeconds(Math.Min(seconds, NodeHeartbeat.MaxLeaseDuration.TotalSeconds));
            grace = declared > grace ? declared : grace;
        }

        return grace;
    }
}

/// <summary>What identifies one heartbeat of a node: its Lease (uid and renewTime) and its Ready condition's lastHeartbeatTime.</summary>
internal readonly record struct HeartbeatMark(string? LeaseUid, long? RenewTicks, long? HeartbeatTicks)
{
    /// <summary>
    /// Whether <paramref name="next"/> is a new heartbeat after this one: a part seen before changed. A part seen for
    /// the first time (the Lease listed before the Node, or the other way round) is not one.
    /// </summary>
    public bool Renews(HeartbeatMark next) =>
        (LeaseUid is not null && next.LeaseUid != LeaseUid)
        || (RenewTicks is not null && next.RenewTicks != RenewTicks)
        || (HeartbeatTicks is not null && next.HeartbeatTicks != HeartbeatTicks);
}
