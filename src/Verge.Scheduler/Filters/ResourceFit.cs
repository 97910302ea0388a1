using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// The pod's requests must fit in what the node has left: allocatable minus what bound and assumed pods request, for
/// cpu, memory, ephemeral-storage, extended resources, and the pod count. Every shortfall is a reason of its own.
/// Pods nominated to the node by preemption and not yet bound count too, when their priority is at least the pod's
/// (as kube-scheduler adds nominated pods before it filters): the room their victims left is theirs.
/// </summary>
internal static class ResourceFit
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, ResourceRegistry registry, List<string> reasons)
    {
        var code = FitCode.Fit;
        var held = node.Nominated is { Count: > 0 } ? HeldFor(pod, node) : null;
        if (node.Pods.Count + (held?.Count ?? 0) + 1 > node.AllowedPods)
        {
            reasons.Add(Reasons.TooManyPods);
            code = FitCode.Unschedulable;
        }

        foreach (var request in pod.Info.Requests)
        {
            if (request.Amount > node.AllocatableOf(request.Index) - node.RequestedOf(request.Index) - (held is null ? 0 : HeldOf(held, request)))
            {
                reasons.Add(request.Index >= 0 ? registry.InsufficientReason(request.Index) : "Insufficient " + request.Name);
                code = FitCode.Unschedulable;
            }
        }

        return code;
    }

    /// <summary>The nominated pods whose room the pod must leave: not itself, not bound yet, of at least its priority.</summary>
    private static List<PodInfo>? HeldFor(PendingPod pod, NodeInfo node)
    {
        List<PodInfo>? held = null;
        foreach (var nominated in node.Nominated!)
        {
            if (nominated.Key != pod.Info.Key && nominated.Priority >= pod.Info.Priority && !node.Pods.Exists(p => p.Key == nominated.Key))
            {
                (held ??= []).Add(nominated);
            }
        }

        return held;
    }

    private static long HeldOf(List<PodInfo> held, ResourceRequest request)
    {
        long amount = 0;
        foreach (var nominated in held)
        {
            foreach (var other in nominated.Requests)
            {
                if (other.Index == request.Index && other.Name == request.Name)
                {
                    amount += other.Amount;
                }
            }
        }

        return amount;
    }
}
