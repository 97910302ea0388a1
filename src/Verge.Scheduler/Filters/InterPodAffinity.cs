using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// The domains a pod's required inter-pod affinity and anti-affinity allow, computed once per pod from the batch's
/// view of every node (<see cref="BatchState.BindAffinity"/>), so the per-node check is a lookup.
/// </summary>
internal sealed class InterPodAffinityState
{
    /// <summary>Per required anti-affinity term of the pod: the domains holding a pod the term matches.</summary>
    public required (TopologyIndex Topology, bool[] Domains)[] Anti { get; init; }

    /// <summary>
    /// Per required affinity term of the pod: the domains holding a pod the term matches; null when no pod matches
    /// anywhere and the pod matches the term itself (the first pod of a group may go to any domain).
    /// </summary>
    public required (TopologyIndex Topology, bool[]? Domains)[] Affinity { get; init; }

    /// <summary>Domains kept out by the required anti-affinity of pods already placed, whose terms match this pod.</summary>
    public required List<(TopologyIndex Topology, bool[] Domains)> Existing { get; init; }
}

/// <summary>
/// Required inter-pod affinity and anti-affinity (kube-scheduler's InterPodAffinity filter): the node's domain under
/// each term's topology key must hold a matching pod (affinity) or none (anti-affinity), and no placed pod's required
/// anti-affinity may match the incoming pod within that pod's domain (checked in kube-scheduler's order: affinity,
/// anti-affinity, existing pods' anti-affinity). A node without the topology key is in no domain:
/// it fails affinity and passes anti-affinity. Verdicts are Unresolvable, so preemption does not try to evict its way
/// past them (Kubernetes lets preemption remove conflicting anti-affinity pods).
/// </summary>
internal static class InterPodAffinity
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        if (pod.Affinity is not { } state)
        {
            return FitCode.Fit;
        }

        foreach (var (topology, domains) in state.Affinity)
        {
            var d = topology.DomainOf(node.Slot);
            if (d < 0 || (domains is not null && (d >= domains.Length || !domains[d])))
            {
                reasons.Add(Reasons.Affinity);
                return FitCode.Unresolvable;
            }
        }

        foreach (var (topology, domains) in state.Anti)
        {
            if (topology.DomainOf(node.Slot) is var d and >= 0 && d < domains.Length && domains[d])
            {
                reasons.Add(Reasons.AntiAffinity);
                return FitCode.Unresolvable;
            }
        }

        foreach (var (topology, domains) in state.Existing)
        {
            if (topology.DomainOf(node.Slot) is var d and >= 0 && d < domains.Length && domains[d])
            {
                reasons.Add(Reasons.ExistingAntiAffinity);
                return FitCode.Unresolvable;
            }
        }

        return FitCode.Fit;
    }
}
