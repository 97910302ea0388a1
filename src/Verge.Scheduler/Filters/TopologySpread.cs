using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// DoNotSchedule spread constraints: the node must carry every constraint's topology key, and placing the pod there
/// must keep (matching pods in the node's domain + 1 if the pod matches itself) - (the smallest count over eligible
/// domains) within maxSkew. With fewer eligible domains than minDomains the smallest count is taken as 0. Which nodes
/// are eligible, and so whose pods are counted, follows each constraint's nodeAffinityPolicy and nodeTaintsPolicy.
/// </summary>
internal static class TopologySpread
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        if (pod.HardSpread.Length == 0)
        {
            return FitCode.Fit;
        }

        foreach (var constraint in pod.HardSpread)
        {
            if (constraint.Topology.DomainOf(node.Slot) < 0)
            {
                reasons.Add(Reasons.SpreadMissingLabel);
                return FitCode.Unresolvable;
            }
        }

        foreach (var constraint in pod.HardSpread)
        {
            if (Skew(constraint, node.Slot) > constraint.MaxSkew)
            {
                reasons.Add(Reasons.SpreadConstraints);
                return FitCode.Unschedulable;
            }
        }

        return FitCode.Fit;
    }

    /// <summary>
    /// Whether the node in <paramref name="slot"/> passes <see cref="Filter"/>, from the slot alone: the same verdict,
    /// without a reason and without reading the node.
    /// </summary>
    public static bool Admits(PendingPod pod, int slot)
    {
        foreach (var constraint in pod.HardSpread)
        {
            if (constraint.Topology.DomainOf(slot) < 0 || Skew(constraint, slot) > constraint.MaxSkew)
            {
                return false;
            }
        }

        return true;
    }

    public static int Skew(SpreadConstraint constraint, int slot)
    {
        var tracker = constraint.Tracker!;
        var min = tracker.EligibleDomainCount < constraint.MinDomains ? 0 : tracker.MinCount;
        return tracker.CountAt(slot) + constraint.SelfMatch - min;
    }

    /// <summary>
    /// kube-scheduler's raw ScheduleAnyway score: per constraint, matching pods in the node's domain weighted by
    /// log(domains + 2), plus maxSkew - 1. Lower is better; nodes missing a key are scored separately.
    /// </summary>
    public static double SoftScore(PendingPod pod, NodeInfo node, out bool missingKey)
    {
        double score = 0;
        missingKey = false;
        foreach (var constraint in pod.SoftSpread)
        {
            if (constraint.Topology.DomainOf(node.Slot) < 0)
            {
                missingKey = true;
                return 0;
            }

            var weight = Math.Log(constraint.Tracker!.EligibleDomainCount + 2);
            score += (constraint.Tracker.CountAt(node.Slot) * weight) + (constraint.MaxSkew - 1);
        }

        return score;
    }
}
