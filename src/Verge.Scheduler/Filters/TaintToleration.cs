using Verge.Core.Core;
using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// A node's NoSchedule and NoExecute taints (including the not-ready or unreachable taint a node whose Ready condition
/// is not True implies) keep off pods that do not tolerate them. PreferNoSchedule taints only lower the score.
/// </summary>
internal static class TaintToleration
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        foreach (var taint in node.HardTaints)
        {
            if (!ToleratedBy(taint, pod.Tolerations))
            {
                reasons.Add(Reasons.UntoleratedTaint(taint.Key, taint.Value));
                return FitCode.Unresolvable;
            }
        }

        return FitCode.Fit;
    }

    /// <summary>
    /// Whether the pod tolerates every NoSchedule and NoExecute taint of the node, the cordon's
    /// <c>node.kubernetes.io/unschedulable:NoSchedule</c> included (the node lifecycle controller puts that taint on a
    /// cordoned node; the flag counts before it has): the nodes a spread constraint with <c>nodeTaintsPolicy: Honor</c>
    /// counts.
    /// </summary>
    public static bool ToleratesHardTaints(PendingPod pod, NodeInfo node)
    {
        foreach (var taint in node.HardTaints)
        {
            if (!ToleratedBy(taint, pod.Tolerations))
            {
                return false;
            }
        }

        return !node.Unschedulable || NodeUnschedulable.Tolerates(pod.Tolerations);
    }

    /// <summary>Untolerated PreferNoSchedule taints, the raw score (fewer is better).</summary>
    public static int CountIntolerablePreferNoSchedule(PendingPod pod, NodeInfo node)
    {
        var count = 0;
        foreach (var taint in node.SoftTaints)
        {
            if (!ToleratedBy(taint, pod.Tolerations, preferOnly: true))
            {
                count++;
            }
        }

        return count;
    }

    public static bool ToleratedBy(TaintInfo taint, Toleration[] tolerations, bool preferOnly = false)
    {
        foreach (var toleration in tolerations)
        {
            // For scoring, kube-scheduler counts only tolerations whose effect is PreferNoSchedule or empty.
            if (preferOnly && !string.IsNullOrEmpty(toleration.Effect) && toleration.Effect != TaintInfo.PreferNoSchedule)
            {
                continue;
            }

            if (Tolerates(toleration, taint))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Kubernetes' ToleratesTaint: effect (empty matches all), key (empty with Exists matches all), operator.</summary>
    public static bool Tolerates(Toleration toleration, TaintInfo taint)
    {
        if (!string.IsNullOrEmpty(toleration.Effect) && toleration.Effect != taint.Effect)
        {
            return false;
        }

        if (!string.IsNullOrEmpty(toleration.Key) && toleration.Key != taint.Key)
        {
            return false;
        }

        return toleration.Operator switch
        {
            "Exists" => true,
            null or "" or "Equal" => (toleration.Value ?? "") == taint.Value,
            _ => false,
        };
    }
}
