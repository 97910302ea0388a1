using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// The pod's requests must fit in what the node has left: allocatable minus what bound and assumed pods request, for
/// cpu, memory, ephemeral-storage, extended resources, and the pod count. Every shortfall is a reason of its own.
/// </summary>
internal static class ResourceFit
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, ResourceRegistry registry, List<string> reasons)
    {
        var code = FitCode.Fit;
        if (node.Pods.Count + 1 > node.AllowedPods)
        {
            reasons.Add(Reasons.TooManyPods);
            code = FitCode.Unschedulable;
        }

        foreach (var request in pod.Info.Requests)
        {
            if (request.Amount > node.AllocatableOf(request.Index) - node.RequestedOf(request.Index))
            {
                reasons.Add(request.Index >= 0 ? registry.InsufficientReason(request.Index) : "Insufficient " + request.Name);
                code = FitCode.Unschedulable;
            }
        }

        return code;
    }
}
