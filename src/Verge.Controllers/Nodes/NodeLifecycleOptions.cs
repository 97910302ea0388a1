using Verge.Core.Coordination;

namespace Verge.Controllers;

/// <summary>
/// Settings of the node lifecycle controller, with defaults chosen for edge fleets rather than Kubernetes' data-centre
/// ones: nodes renew their Lease every second, and a node whose Lease has not been renewed for 4 s is marked
/// unreachable (Kubernetes: renew every 10 s, grace 40 s before 1.32 and 50 s since). A Lease that declares a longer
/// <c>leaseDurationSeconds</c> (large fleets renew every 2 s with 6 s leases) gets that long, up to 40 s: the timings
/// live in <see cref="NodeHeartbeat"/>.
/// </summary>
public sealed class NodeLifecycleOptions
{
    /// <summary>
    /// How long a node's Lease may go unrenewed (on the controller's own clock) before the node is unreachable, at
    /// least; a Lease's own longer <c>leaseDurationSeconds</c> wins.
    /// </summary>
    public TimeSpan GracePeriod { get; set; } = NodeHeartbeat.Default.LeaseDuration;

    /// <summary>How often every node is checked, besides the checks that Lease and Node events trigger.</summary>
    public TimeSpan MonitorPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a node that pods are bound to must be missing (deleted, or never registered) before those pods are
    /// deleted; Kubernetes' pod garbage collector waits 40 s too, so that a node whose object is slow to appear does not
    /// lose its pods.
    /// </summary>
    public TimeSpan OrphanQuarantine { get; set; } = TimeSpan.FromSeconds(40);

    /// <summary>The namespace of the nodes' Leases.</summary>
    public string LeaseNamespace { get; set; } = Verge.Core.Coordination.Lease.NodeLeaseNamespace;

    /// <summary>
    /// Concurrent reconciles of nodes. When many nodes go dark together each needs a status and a taint write before
    /// its pods are evicted; with 4 workers (4 writes per store commit at most) half of a 10,000-node fleet took
    /// seconds to get through, so the pods of the last ones moved late.
    /// </summary>
    public int Workers { get; set; } = 16;

    /// <summary>
    /// NotReady nodes per second, per site, whose pods may be evicted while the site is not partially disrupted; null
    /// (the default) is no limit, so a dead node's pods move at once (Kubernetes: 0.1).
    /// </summary>
    public double? EvictionRate { get; set; }

    /// <summary>
    /// NotReady nodes per second, per site, whose pods may be evicted while most of the site is NotReady: 0.01, one
    /// node every 100 s, as Kubernetes' secondary rate; 0 stops evictions in such a site.
    /// </summary>
    public double SecondaryEvictionRate { get; set; } = 0.01;

    /// <summary>The share of a site's nodes that must be NotReady for the site to be partially disrupted (Kubernetes: 0.55).</summary>
    public double UnhealthySiteThreshold { get; set; } = 0.55;

    /// <summary>The fewest nodes a site must have to be judged partially disrupted; smaller sites stay normal until none is Ready.</summary>
    public int DisruptionMinimumNodes { get; set; } = 3;

    public void Validate()
    {
        if (GracePeriod <= TimeSpan.Zero || MonitorPeriod <= TimeSpan.Zero || OrphanQuarantine < TimeSpan.Zero)
        {
            throw new ArgumentException("the node grace and monitor periods must be positive, and the orphan quarantine not negative");
        }

        if (Workers < 1)
        {
            throw new ArgumentException("node lifecycle workers must be positive");
        }

        if (EvictionRate is <= 0 || SecondaryEvictionRate < 0 || double.IsNaN(SecondaryEvictionRate))
        {
            throw new ArgumentException("the eviction rate must be positive (or null for no limit) and the secondary rate not negative");
        }

        if (UnhealthySiteThreshold is <= 0 or > 1 || double.IsNaN(UnhealthySiteThreshold) || DisruptionMinimumNodes < 1)
        {
            throw new ArgumentException("the unhealthy site threshold must be in (0, 1] and the disruption minimum nodes positive");
        }

        ArgumentException.ThrowIfNullOrEmpty(LeaseNamespace);
    }
}
