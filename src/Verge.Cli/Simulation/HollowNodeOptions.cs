using Verge.Core.Coordination;

namespace Verge.Cli.Simulation;

/// <summary>What <c>verge sim nodes</c> simulates: how many nodes, over how many sites, their size and how often they report.</summary>
internal sealed record HollowNodeOptions
{
    public required int Count { get; init; }

    public int Sites { get; init; } = 1;

    public string Prefix { get; init; } = "hollow";

    /// <summary>How often each node's Lease in kube-node-lease is renewed, and the lease duration written; null for the default of a fleet of <see cref="Count"/> nodes.</summary>
    public NodeHeartbeat? LeaseTimings { get; init; }

    /// <summary>The Lease timings in effect: <see cref="LeaseTimings"/>, or <see cref="NodeHeartbeat.ForFleet"/> of <see cref="Count"/>.</summary>
    public NodeHeartbeat Leases => LeaseTimings ?? NodeHeartbeat.ForFleet(Count);

    /// <summary>
    /// How often each node's Ready condition gets a new lastHeartbeatTime. As the kubelet with node leases
    /// (nodeStatusReportFrequency, 5 min) and Verge's agent (which reports its Node only when it changes), the Lease is
    /// the heartbeat; rewriting every Node every few seconds would send a Node event to every node watcher (the
    /// scheduler among them) for nothing.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a summary line is printed.</summary>
    public TimeSpan SummaryInterval { get; init; } = TimeSpan.FromSeconds(5);

    public string Cpu { get; init; } = "4";

    public string Memory { get; init; } = "8Gi";

    public string EphemeralStorage { get; init; } = "100Gi";

    public int Pods { get; init; } = 110;

    /// <summary>
    /// How many registrations and pod updates the simulator has in flight at most: 32, or one per 50 nodes when that is
    /// more. Real nodes update their pods each on their own, and at 10,000 nodes a lane of 32 capped the pods marked
    /// Running at about 32 / latency (680 a second) while the control plane bound 1,100 a second.
    /// </summary>
    public int PodLane => Math.Max(32, Count / 50);

    /// <summary>
    /// How many Lease renewals and node heartbeats the simulator has in flight at most, apart from pod work: a real node
    /// renews its Lease on its own, so a simulated one must not wait behind other nodes' pod updates, nor behind many
    /// other nodes' renewals when the server is slow (at 1 s renewals and 500 ms latency, 1,000 nodes need 500 in
    /// flight; 5,000 nodes would need 2,500, see docs/benchmarks.md). At most two per node are ever used. 512, or half
    /// the nodes when that is more, so that renewals keep their interval at up to half an interval of latency.
    /// </summary>
    public int HeartbeatLane => Math.Max(512, Count / 2);

    /// <summary>Up to this many nodes each watch their own pods (fieldSelector spec.nodeName); more share one watch on all pods.</summary>
    public int PerNodeWatchLimit { get; init; } = 8;

    /// <summary>
    /// The <c>timeoutSeconds</c> of each pod watch (whole seconds, at least 1), after which the server ends it and the
    /// simulator resumes from its last resourceVersion, as client-go's reflectors do; null for none.
    /// </summary>
    public TimeSpan? PodWatchTimeout { get; init; }
}
