using Verge.Scheduler.Filters;
using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Preemption;

/// <summary>
/// The node a pod can preempt its way onto, whom it evicts there, and how many of those victims a PodDisruptionBudget
/// would rather keep (their eviction takes a budget below zero allowed disruptions).
/// </summary>
internal sealed record PreemptionCandidate(int Slot, List<PodInfo> Victims, int BudgetViolations = 0)
{
    public int MaxPriority => Victims.Max(v => v.Priority);

    /// <summary>
    /// The victims' priorities summed as kube-scheduler sums them, each raised by 2^31 so that none counts as less
    /// than nothing: of two nodes whose victims' highest priority is the same, fewer victims almost always win.
    /// </summary>
    public long PrioritySum => Victims.Sum(v => (long)v.Priority + int.MaxValue + 1L);

    /// <summary>
    /// The earliest start time among the victims of the highest priority (kube-scheduler's GetEarliestPodStartTime). A
    /// victim that has not started counts as started now, as kube-scheduler takes the current time for it: later than
    /// any that has. The scheduler reads no clock, so that is <see cref="DateTimeOffset.MaxValue"/>.
    /// </summary>
    public DateTimeOffset EarliestTopStart
    {
        get
        {
            var top = MaxPriority;
            var earliest = DateTimeOffset.MaxValue;
            foreach (var victim in Victims)
            {
                var start = victim.StartTime ?? DateTimeOffset.MaxValue;
                if (victim.Priority == top && start < earliest)
                {
                    earliest = start;
                }
            }

            return earliest;
        }
    }
}

/// <summary>
/// When a pod fits nowhere: on every node whose failure eviction could cure, remove all pods of lower priority, check
/// that the pod then fits, and give back every pod it can do without: first the pods whose eviction would break a
/// PodDisruptionBudget, then the others, each group most important first (kube-scheduler's SelectVictimsOnNode). The
/// node with the fewest budget-breaking victims wins, then the one whose victims have the lowest highest priority,
/// then the lowest sum of priorities (each raised by 2^31, as kube-scheduler sums them), then the fewest victims,
/// then the one whose highest-priority victims started last (the latest earliest start time, so that the pods that
/// have run longest stay), then walk order. Pods of equal or higher priority are
/// never victims; a budget is preferred, not guaranteed: when only breaking it makes room, it is broken.
/// </summary>
internal static class Preemptor
{
    public static PreemptionCandidate? Find(BatchState state, PendingPod pod, Dictionary<string, int> histogram)
    {
        var scratch = new List<string>();
        PreemptionCandidate? best = null;
        for (var slot = 0; slot < state.SlotCount; slot++)
        {
            var node = state.Node(slot);
            if (node is null)
            {
                continue;
            }

            if (state.Statuses[slot] != FitCode.Unschedulable)
            {
                Count(histogram, Reasons.PreemptionNotHelpful);
                continue;
            }

            var candidate = SelectVictims(state, pod, node, scratch);
            if (candidate is null)
            {
                Count(histogram, Reasons.NoVictims);
                continue;
            }

            if (best is null || Better(candidate, best))
            {
                best = candidate;
            }
        }

        return best;
    }

    /// <summary>Whether <paramref name="a"/> is the better place to preempt than <paramref name="b"/>.</summary>
    public static bool Better(PreemptionCandidate a, PreemptionCandidate b)
    {
        if (a.BudgetViolations != b.BudgetViolations)
        {
            return a.BudgetViolations < b.BudgetViolations;
        }

        if (a.MaxPriority != b.MaxPriority)
        {
            return a.MaxPriority < b.MaxPriority;
        }

        if (a.PrioritySum != b.PrioritySum)
        {
            return a.PrioritySum < b.PrioritySum;
        }

        if (a.Victims.Count != b.Victims.Count)
        {
            return a.Victims.Count < b.Victims.Count;
        }

        return a.EarliestTopStart > b.EarliestTopStart;
    }

    private static PreemptionCandidate? SelectVictims(BatchState state, PendingPod pod, NodeInfo node, List<string> scratch)
    {
        if (!CouldFitWithout(pod, node))
        {
            return null;
        }

        var potential = node.Pods.Where(p => p.Priority < pod.Info.Priority).ToList();

        // Most important first: higher priority, then a stable order by key.
        potential.Sort((a, b) => a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : string.CompareOrdinal(a.Key, b.Key));
        var trial = node.Clone();
        foreach (var victim in potential)
        {
            trial.RemovePod(victim.Key);
            state.RecordTrial(victim, node.Slot, -1);
        }

        if (!Fits(state, pod, trial, scratch))
        {
            foreach (var victim in potential)
            {
                state.RecordTrial(victim, node.Slot, +1);
            }

            return null;
        }

        var victims = new List<PodInfo>();
        var violations = 0;
        var violating = ViolatingBudgets(state, potential);
        foreach (var reprieveViolating in (bool[])[true, false])
        {
            for (var i = 0; i < potential.Count; i++)
            {
                if (violating[i] != reprieveViolating)
                {
                    continue;
                }

                var candidate = potential[i];
                trial.AddPod(candidate);
                state.RecordTrial(candidate, node.Slot, +1);
                if (!Fits(state, pod, trial, scratch))
                {
                    trial.RemovePod(candidate.Key);
                    state.RecordTrial(candidate, node.Slot, -1);
                    victims.Add(candidate);
                    violations += reprieveViolating ? 1 : 0;
                }
            }
        }

        foreach (var victim in victims)
        {
            state.RecordTrial(victim, node.Slot, +1);
        }

        return victims.Count == 0 ? null : new PreemptionCandidate(node.Slot, victims, violations);
    }

    /// <summary>
    /// Which of the potential victims (most important first) would break a budget if all of them went: each takes one
    /// disruption from every budget that covers it and has not counted it yet, and breaks the budget whose count then
    /// falls below zero (kube-scheduler's filterPodsWithPDBViolation, over what this batch's earlier preemptions left).
    /// </summary>
    private static bool[] ViolatingBudgets(BatchState state, List<PodInfo> potential)
    {
        var violating = new bool[potential.Count];
        var budgets = state.Snapshot.DisruptionBudgets;
        if (budgets.Count == 0)
        {
            return violating;
        }

        var allowed = (int[])state.BudgetsAllowed.Clone();
        for (var i = 0; i < potential.Count; i++)
        {
            for (var b = 0; b < budgets.Count; b++)
            {
                if (budgets[b].Counts(potential[i]) && --allowed[b] < 0)
                {
                    violating[i] = true;
                }
            }
        }

        return violating;
    }

    /// <summary>Cheap bound before the dry run: even with every lower-priority pod gone, do the resources suffice?</summary>
    private static bool CouldFitWithout(PendingPod pod, NodeInfo node)
    {
        var any = false;
        foreach (var held in node.Pods)
        {
            any |= held.Priority < pod.Info.Priority;
        }

        if (!any)
        {
            return false;
        }

        foreach (var request in pod.Info.Requests)
        {
            var free = node.AllocatableOf(request.Index) - node.RequestedOf(request.Index);
            if (request.Amount <= free)
            {
                continue;
            }

            foreach (var victim in node.Pods)
            {
                if (victim.Priority >= pod.Info.Priority)
                {
                    continue;
                }

                foreach (var held in victim.Requests)
                {
                    if (held.Index == request.Index)
                    {
                        free += held.Amount;
                    }
                }
            }

            if (request.Amount > free)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Fits(BatchState state, PendingPod pod, NodeInfo node, List<string> scratch)
    {
        scratch.Clear();
        return FilterChain.Run(pod, node, state.Snapshot.Resources, scratch) == FitCode.Fit;
    }

    private static void Count(Dictionary<string, int> histogram, string reason) =>
        histogram[reason] = histogram.GetValueOrDefault(reason) + 1;
}
