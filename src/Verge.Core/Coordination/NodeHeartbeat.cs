namespace Verge.Core.Coordination;

/// <summary>
/// How often a node renews its Lease in <c>kube-node-lease</c> and the <c>leaseDurationSeconds</c> it writes there:
/// the one home of these timings for the agent's channel, the hollow-node simulator and the node lifecycle
/// controller. The node lifecycle controller marks a node unreachable once its Lease has gone unrenewed for the
/// lease duration (never less than its own grace period, never more than <see cref="MaxLeaseDuration"/>).
/// </summary>
/// <remarks>
/// Every renewal is a durable write and a watch event, so a fleet costs <c>nodes / RenewInterval</c> writes a
/// second. The default keeps that under <see cref="RenewalBudget"/> a second: every node renews every second (4 s
/// lease) up to 3,400 nodes, so that the pods of a dead node run elsewhere within about 5 s of its last heartbeat;
/// larger fleets renew every <c>ceil(nodes / 3,400)</c> seconds with a lease of three intervals (5,000 nodes: 2 s and
/// 6 s; 10,000 nodes: 3 s and 9 s), trading failover time for a control plane that keeps up. Kubernetes renews every
/// 10 s with a 40 - 50 s grace.
/// </remarks>
public sealed record NodeHeartbeat
{
    /// <summary>
    /// Lease renewals a second the default timings stay under. Measured on 2 cores: 0.08 - 0.14 ms of server CPU each
    /// at 2,500 - 3,300 a second, so 0.3 - 0.5 of the 2 cores at this rate; it was 2,500 when a renewal cost
    /// about 0.2 ms (<c>benchmarks.md</c>, issue 3).
    /// </summary>
    public const int RenewalBudget = 3400;

    /// <summary>The longest lease duration the node lifecycle controller honours (Kubernetes' own grace is 40 - 50 s).</summary>
    public static readonly TimeSpan MaxLeaseDuration = TimeSpan.FromSeconds(40);

    /// <summary>
    /// The longest renew interval <see cref="ForInterval"/> takes: three intervals must fit in
    /// <see cref="MaxLeaseDuration"/>, or the lease would leave a late renewal no slack and healthy nodes would be
    /// marked unreachable (Kubernetes renews every 10 s with a 40 s lease).
    /// </summary>
    public static readonly TimeSpan MaxRenewInterval = TimeSpan.FromSeconds(13);

    public NodeHeartbeat(TimeSpan renewInterval, TimeSpan leaseDuration)
    {
        if (renewInterval <= TimeSpan.Zero || leaseDuration < renewInterval || leaseDuration > MaxLeaseDuration)
        {
            throw new ArgumentException($"a node heartbeat needs a positive renew interval and a lease duration from it up to {MaxLeaseDuration.TotalSeconds:0} s");
        }

        RenewInterval = renewInterval;
        LeaseDuration = leaseDuration;
    }

    /// <summary>Up to <see cref="RenewalBudget"/> nodes: renew every second, lease of 4 s.</summary>
    public static NodeHeartbeat Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));

    /// <summary>How often each node renews its Lease.</summary>
    public TimeSpan RenewInterval { get; }

    /// <summary>How long a Lease may go unrenewed before its node is unreachable (its <c>leaseDurationSeconds</c>).</summary>
    public TimeSpan LeaseDuration { get; }

    /// <summary>The lease duration in whole seconds, as written to <c>spec.leaseDurationSeconds</c>.</summary>
    public int LeaseDurationSeconds => (int)Math.Ceiling(LeaseDuration.TotalSeconds);

    /// <summary>
    /// The documented default for a fleet of <paramref name="nodes"/> nodes: renew every <c>ceil(nodes / 3,400)</c>
    /// seconds (at least 1), with a lease of three intervals (at least 4 s, at most 39 s).
    /// </summary>
    public static NodeHeartbeat ForFleet(int nodes)
    {
        var seconds = Math.Clamp((nodes + RenewalBudget - 1) / RenewalBudget, 1, (int)MaxRenewInterval.TotalSeconds);
        return seconds == 1 ? Default : ForInterval(TimeSpan.FromSeconds(seconds));
    }

    /// <summary>
    /// Timings for nodes that renew every <paramref name="interval"/> (at most <see cref="MaxRenewInterval"/>): a
    /// lease of three intervals, at least the default 4 s, in whole seconds.
    /// </summary>
    /// <remarks>
    /// A lease capped at one interval plus 4 s (8 s at 10,000 nodes with 4 s renewals) brought failover at 10,000
    /// nodes to 9.6 s, but the 10,000-node throughput run on an overloaded machine then marked healthy nodes
    /// unreachable; a lease of three intervals leaves two intervals of slack for a late renewal
    /// (<c>benchmarks.md</c>, issue 3).
    /// </remarks>
    public static NodeHeartbeat ForInterval(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero || interval > MaxRenewInterval)
        {
            throw new ArgumentException($"a node heartbeat needs a positive renew interval up to {MaxRenewInterval.TotalSeconds:0} s");
        }

        var lease = interval * 3 < Default.LeaseDuration ? Default.LeaseDuration : interval * 3;
        lease = TimeSpan.FromSeconds(Math.Ceiling(lease.TotalSeconds));
        return new NodeHeartbeat(interval, lease);
    }
}
