using Verge.Core.Core;
using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>Cordoned nodes (<c>spec.unschedulable</c>) take only pods tolerating <c>node.kubernetes.io/unschedulable:NoSchedule</c>.</summary>
internal static class NodeUnschedulable
{
    private static readonly TaintInfo Taint = new(Conventions.UnschedulableTaint, "", TaintInfo.NoSchedule);

    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        if (!node.Unschedulable || Tolerates(pod.Tolerations))
        {
            return FitCode.Fit;
        }

        reasons.Add(Reasons.Unschedulable);
        return FitCode.Unresolvable;
    }

    public static bool Tolerates(Toleration[] tolerations)
    {
        foreach (var toleration in tolerations)
        {
            if (TaintToleration.Tolerates(toleration, Taint))
            {
                return true;
            }
        }

        return false;
    }
}
