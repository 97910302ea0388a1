using System.Text;
using Verge.Core.Core;
using Verge.Core.Scheduling;
using Verge.Scheduler.Filters;
using Verge.Scheduler.Framework;
using Verge.Scheduler.Preemption;
using Verge.Scheduler.Scores;

namespace Verge.Scheduler;

/// <summary>
/// Places a batch of pending pods on the nodes of a snapshot: filter, score, pick; preempt when nothing fits. Pure:
/// the same snapshot, pods and options (seed included) give the same plan, and the snapshot is not changed.
/// </summary>
public static class Scheduler
{
    /// <summary>
    /// Schedules <paramref name="pending"/> in priority order (highest first, the given order among equals). Each pod
    /// placed or nominated counts against capacity and spread for the pods after it.
    /// </summary>
    public static SchedulingPlan Schedule(ClusterSnapshot snapshot, IReadOnlyList<Pod> pending, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(pending);
        options ??= SchedulerOptions.Default;
        options.Validate();

        var state = new BatchState(snapshot, options);
        var cycle = new Cycle(state);
        var bindings = new List<PodBinding>();
        var preemptions = new List<PodPreemption>();
        var failures = new List<PodFailure>();
        var skipped = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new List<Pod>(pending.Count);
        foreach (var pod in pending)
        {
            var key = Snapshot.PodInfo.KeyOf(pod.Metadata.Namespace, pod.Metadata.Name);
            if (BatchState.IsBoundByName(pod) || snapshot.IsBound(key) || !seen.Add(key))
            {
                skipped++;
                continue;
            }

            queue.Add(pod);
        }

        foreach (var pod in queue.OrderByDescending(Snapshot.PodInfo.PriorityOf))
        {
            PendingPod compiled;
            try
            {
                compiled = PendingPod.Compile(pod, snapshot);
            }
            catch (FormatException e)
            {
                failures.Add(new PodFailure(pod, "invalid topology spread constraint: " + e.Message));
                continue;
            }

            cycle.ScheduleOne(compiled, bindings, preemptions, failures);
        }

        return new SchedulingPlan(bindings, preemptions, failures, skipped);
    }

    /// <summary>The per-pod work, with buffers reused across the batch.</summary>
    private sealed class Cycle(BatchState state)
    {
        private readonly List<int> _feasible = [];
        private readonly List<string> _reasons = [];
        private readonly Dictionary<string, int> _histogram = new(StringComparer.Ordinal);
        private readonly ResourceAllocation _allocation = new(state.Options, state.Snapshot.Resources);
        private long[] _total = new long[128];
        private long[] _raw = new long[128];
        private bool[] _ignored = new bool[128];

        public void ScheduleOne(PendingPod pod, List<PodBinding> bindings, List<PodPreemption> preemptions, List<PodFailure> failures)
        {
            if (state.NodeCount == 0)
            {
                failures.Add(new PodFailure(pod.Pod, Reasons.NoNodes));
                return;
            }

            state.BindTrackers(pod);
            state.BindAffinity(pod);
            var registry = state.Snapshot.Resources;

            if (pod.NominatedNode is not null && state.Snapshot.SlotOf(pod.NominatedNode) is var nominated and >= 0
                && state.Node(nominated) is { } nominatedNode)
            {
                _reasons.Clear();
                if (FilterChain.Run(pod, nominatedNode, registry, _reasons) == FitCode.Fit)
                {
                    Bind(pod, nominated, bindings);
                    return;
                }
            }

            _feasible.Clear();
            if (pod.OnlyNodes is { } only)
            {
                FilterNamed(pod, only, registry);
            }
            else
            {
                WalkCluster(pod, registry);
            }

            if (_feasible.Count > 0)
            {
                Bind(pod, _feasible.Count == 1 ? _feasible[0] : Pick(pod), bindings);
                return;
            }

            Unplaceable(pod, registry, preemptions, failures);
        }

        /// <summary>The pod may go to these nodes alone (a daemon pod names its node): filter them, not the cluster.</summary>
        private void FilterNamed(PendingPod pod, string[] only, Snapshot.ResourceRegistry registry)
        {
            foreach (var name in only)
            {
                if (state.Snapshot.SlotOf(name) is var slot and >= 0 && state.Node(slot) is { } named && TopologySpread.Admits(pod, slot))
                {
                    _reasons.Clear();
                    if (FilterChain.Run(pod, named, registry, _reasons) == FitCode.Fit)
                    {
                        _feasible.Add(slot);
                    }
                }
            }
        }

        /// <summary>Walks the nodes from where the last pod stopped until enough are feasible, as kube-scheduler does.</summary>
        private void WalkCluster(PendingPod pod, Snapshot.ResourceRegistry registry)
        {
            var toFind = state.Options.FeasibleNodesToFind(state.NodeCount);
            var start = state.NextStart;
            var slots = state.SlotCount;
            var visited = 0;
            for (; visited < slots && _feasible.Count < toFind; visited++)
            {
                var slot = start + visited;
                if (slot >= slots)
                {
                    slot -= slots;
                }

                // Whether a node fits does not depend on the order of the filters, so the walk asks the spread
                // constraints first: they read two arrays by slot, where the others read the node itself, and with
                // a tight maxSkew they turn most nodes away. Why a node does not fit is only needed when none does
                // (Explain, below, in kube-scheduler's order).
                if (state.Node(slot) is not { } node || !TopologySpread.Admits(pod, slot))
                {
                    continue;
                }

                _reasons.Clear();
                if (FilterChain.Run(pod, node, registry, _reasons) == FitCode.Fit)
                {
                    _feasible.Add(slot);
                }
            }

            state.NextStart = (start + visited) % slots;
        }

        /// <summary>No node fits the pod: say why, and preempt when that can help.</summary>
        private void Unplaceable(PendingPod pod, Snapshot.ResourceRegistry registry, List<PodPreemption> preemptions, List<PodFailure> failures)
        {
            Explain(pod, registry);
            var message = FitMessage(state.NodeCount, _histogram);
            if (!state.Options.EnablePreemption)
            {
                failures.Add(new PodFailure(pod.Pod, message));
                return;
            }

            if (pod.Pod.Spec.PreemptionPolicy == PriorityClasses.Never)
            {
                // kube-scheduler's words for a pod that may not preempt (DefaultPreemption's PodEligibleToPreemptOthers).
                failures.Add(new PodFailure(pod.Pod, message + " preemption: not eligible due to preemptionPolicy=Never."));
                return;
            }

            if (VictimsStillGoing(pod))
            {
                // The room an earlier preemption made is on its way: preempting again would take more than it needs.
                failures.Add(new PodFailure(pod.Pod, message + " preemption: not eligible due to a terminating pod on the nominated node."));
                return;
            }

            var preemptionHistogram = new Dictionary<string, int>(StringComparer.Ordinal);
            var candidate = Preemptor.Find(state, pod, preemptionHistogram);
            if (candidate is null)
            {
                failures.Add(new PodFailure(pod.Pod, message + " preemption: " + FitMessage(state.NodeCount, preemptionHistogram)));
                return;
            }

            foreach (var victim in candidate.Victims)
            {
                state.Evict(victim, candidate.Slot);
                state.TakeDisruptions(victim);
            }

            state.Assume(pod.Info, candidate.Slot);
            foreach (var victim in candidate.Victims)
            {
                state.Hold(victim, candidate.Slot);
            }

            preemptions.Add(new PodPreemption(pod.Pod, state.Node(candidate.Slot)!.Name,
                [.. candidate.Victims.Select(BatchState.Reference)], message));
        }

        /// <summary>
        /// Whether a victim of a preemption, lower in priority, is still terminating on the node the pod is nominated
        /// to, kube-scheduler's PodEligibleToPreemptOthers: the victims are going, and the pod waits for them rather than
        /// preempt again (unless that node can no longer take it whatever is evicted). A pod stuck terminating for
        /// another reason (a finalizer) does not make it wait.
        /// </summary>
        private bool VictimsStillGoing(PendingPod pod)
        {
            if (pod.NominatedNode is null || state.Snapshot.SlotOf(pod.NominatedNode) is not (var slot and >= 0)
                || state.Node(slot) is not { } node || state.Statuses[slot] == FitCode.Unresolvable)
            {
                return false;
            }

            foreach (var held in node.Pods)
            {
                if (held.Terminating && held.Priority < pod.Info.Priority && state.Snapshot.WasPreempted(held.Key))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// For a pod no node fits (so every node was walked): each node's verdict and reason as kube-scheduler's
        /// filter order gives them, the first filter to reject the node, for the message and for preemption.
        /// </summary>
        private void Explain(PendingPod pod, Snapshot.ResourceRegistry registry)
        {
            _histogram.Clear();
            for (var slot = 0; slot < state.SlotCount; slot++)
            {
                if (state.Node(slot) is not { } node)
                {
                    continue;
                }

                _reasons.Clear();
                if (pod.OnlyNodes is { } only && Array.IndexOf(only, node.Name) < 0)
                {
                    // Left out by the PreFilter, as kube-scheduler 1.31+ counts such nodes: no eviction brings them in.
                    state.Statuses[slot] = FitCode.Unresolvable;
                    _reasons.Add(Reasons.NodeAffinityPreFilter);
                }
                else
                {
                    state.Statuses[slot] = FilterChain.Run(pod, node, registry, _reasons);
                }

                foreach (var reason in _reasons)
                {
                    _histogram[reason] = _histogram.GetValueOrDefault(reason) + 1;
                }
            }
        }

        private void Bind(PendingPod pod, int slot, List<PodBinding> bindings)
        {
            state.Assume(pod.Info, slot);
            bindings.Add(new PodBinding(pod.Pod, state.Node(slot)!.Name) { Info = pod.Info });
        }

        /// <summary>Scores the feasible nodes and picks the best; ties go to a seeded draw.</summary>
        private int Pick(PendingPod pod)
        {
            var count = _feasible.Count;
            if (_total.Length < count)
            {
                _total = new long[count];
                _raw = new long[count];
                _ignored = new bool[count];
            }

            var total = _total.AsSpan(0, count);
            var raw = _raw.AsSpan(0, count);
            total.Clear();
            var options = state.Options;

            if (options.ResourceAllocationWeight > 0)
            {
                for (var i = 0; i < count; i++)
                {
                    total[i] += options.ResourceAllocationWeight * _allocation.Score(pod.Info, state.Node(_feasible[i])!);
                }
            }

            if (options.NodeAffinityWeight > 0 && pod.PreferredTerms.Length > 0)
            {
                for (var i = 0; i < count; i++)
                {
                    raw[i] = NodeAffinityFilter.PreferredScore(pod, state.Node(_feasible[i])!);
                }

                Normalize.ByMax(raw, reverse: false);
                Add(total, raw, options.NodeAffinityWeight);
            }

            if (options.TaintTolerationWeight > 0)
            {
                var any = false;
                for (var i = 0; i < count; i++)
                {
                    var node = state.Node(_feasible[i])!;
                    raw[i] = node.SoftTaints.Length == 0 ? 0 : TaintToleration.CountIntolerablePreferNoSchedule(pod, node);
                    any |= raw[i] != 0;
                }

                if (any)
                {
                    Normalize.ByMax(raw, reverse: true);
                    Add(total, raw, options.TaintTolerationWeight);
                }
            }

            if (options.TopologySpreadWeight > 0 && pod.SoftSpread.Length > 0)
            {
                var ignored = _ignored.AsSpan(0, count);
                for (var i = 0; i < count; i++)
                {
                    raw[i] = (long)Math.Round(TopologySpread.SoftScore(pod, state.Node(_feasible[i])!, out var missing));
                    ignored[i] = missing;
                }

                Normalize.Spread(raw, ignored);
                Add(total, raw, options.TopologySpreadWeight);
            }

            if (options.LocalityWeight > 0 && Locality.Applies(pod))
            {
                for (var i = 0; i < count; i++)
                {
                    total[i] += options.LocalityWeight * Locality.Score(pod, state.Node(_feasible[i])!);
                }
            }

            var best = 0;
            var ties = 1;
            for (var i = 1; i < count; i++)
            {
                if (total[i] > total[best])
                {
                    best = i;
                    ties = 1;
                }
                else if (total[i] == total[best] && state.Random.Next(++ties) == 0)
                {
                    best = i;
                }
            }

            return _feasible[best];
        }

        private static void Add(Span<long> total, ReadOnlySpan<long> raw, int weight)
        {
            for (var i = 0; i < total.Length; i++)
            {
                total[i] += weight * raw[i];
            }
        }
    }

    /// <summary>
    /// kube-scheduler's FitError text: <c>0/N nodes are available: </c> then "count reason" entries sorted as strings
    /// (as kube-scheduler sorts them), joined by ", ", and a final period.
    /// </summary>
    internal static string FitMessage(int nodes, Dictionary<string, int> histogram)
    {
        var entries = histogram.Select(p => $"{p.Value} {p.Key}").Order(StringComparer.Ordinal);
        var sb = new StringBuilder();
        sb.Append("0/").Append(nodes).Append(" nodes are available: ").AppendJoin(", ", entries).Append('.');
        return sb.ToString();
    }
}
