namespace Verge.Core.Coordination;

/// <summary>
/// How often a node renews its Lease in <c>kube-node-lease</c> and the <c>leaseDurationSeconds</c> it writes there:
/// the one home of these timings for the agent's channel, the hollow-node simulator and the node lifecycle
/// controller. The node lifecycle controller marks a node unreachable once its Lease has gone unrenewed for the
/// lease duration (never less than its own grace period, never more than <see cref="MaxLeaseDuration"/>).
/// </summary>
/// <remarks>
/// Every renewal is a durable write and a watch event, so a fleet costs <c>nodes / RenewInterval</c> writes a
/// second. Small fleets renew every second with a 4 s lease, so that the pods of a dead node run elsewhere within
/// about 5 s of its last heartbeat; fleets of more than <see cref="LargeFleet"/> nodes renew every 2 s with a 6 s lease
/// (half the writes, and 4 s of slack for a late renewal instead of 3), which keeps failover under 10 s. Kubernetes
/// renews every 10 s with a 40 - 50 s grace.
/// </remarks>
public sealed record NodeHeartbeat
{
    /// <summary>Fleets of more nodes than this use <see cref="Large"/>.</summary>
    public const int LargeFleet = 1000;

    /// <summary>The longest lease duration the node lifecycle controller honours (Kubernetes' own grace is 40 - 50 s).</summary>
    public static readonly TimeSpan MaxLeaseDuration = TimeSpan.FromSeconds(40);

    public NodeHeartbeat(TimeSpan renewInterval, TimeSpan leaseDuration)
    {
        if (renewInterval <= TimeSpan.Zero || leaseDuration < renewInterval || leaseDuration > MaxLeaseDuration)
        {
            throw new ArgumentException($"a node heartbeat needs a positive renew interval and a lease duration from it up to {MaxLeaseDuration.TotalSeconds:0} s");
        }

        RenewInterval = renewInterval;
        LeaseDuration = leaseDuration;
    }

    /// <summary>Up to <see cref="LargeFleet"/> nodes: renew every second, lease of 4 s.</summary>
    public static NodeHeartbeat Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));

    /// <summary>More than <see cref="LargeFleet"/> nodes: renew every 2 s, lease of 6 s.</summary>
    public static NodeHeartbeat Large { get; } = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6));

    /// <summary>How often each node renews its Lease.</summary>
    public TimeSpan RenewInterval { get; }

    /// <summary>How long a Lease may go unrenewed before its node is unreachable (its <c>leaseDurationSeconds</c>).</summary>
    public TimeSpan LeaseDuration { get; }

    /// <summary>The lease duration in whole seconds, as written to <c>spec.leaseDurationSeconds</c>.</summary>
    public int LeaseDurationSeconds => (int)Math.Ceiling(LeaseDuration.TotalSeconds);

    /// <summary>The documented default for a fleet of <paramref name="nodes"/> nodes.</summary>
    public static NodeHeartbeat ForFleet(int nodes) => nodes > LargeFleet ? Large : Default;
}
