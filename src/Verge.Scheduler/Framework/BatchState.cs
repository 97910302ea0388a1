using Verge.Core.Core;
using Verge.Scheduler.Filters;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Framework;

/// <summary>
/// The cluster as one batch sees it: the snapshot plus the pods the batch assumed and the victims it evicted. Nodes
/// are copied on first change, so the snapshot is never written and a batch costs in proportion to what it touches.
/// </summary>
internal sealed class BatchState
{
    private readonly NodeInfo?[] _nodes;
    private readonly bool[] _owned;
    private readonly Dictionary<string, SpreadTracker> _trackers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool[]> _eligibility = new(StringComparer.Ordinal);
    private readonly List<(PodInfo Pod, int Slot, int Delta)> _journal = [];

    /// <summary>Placed pods with required anti-affinity; -1 until first counted.</summary>
    private int _antiAffinityPods = -1;

    public BatchState(ClusterSnapshot snapshot, SchedulerOptions options)
    {
        Snapshot = snapshot;
        Options = options;
        SlotCount = snapshot.SlotCount;
        _nodes = new NodeInfo?[SlotCount];
        Array.Copy(snapshot.Slots, _nodes, SlotCount);
        _owned = new bool[SlotCount];
        NodeCount = snapshot.NodeCount;
        Random = new Random(options.Seed);
        NextStart = SlotCount == 0 ? 0 : Random.Next(SlotCount);
        Statuses = new FitCode[SlotCount];
    }

    public ClusterSnapshot Snapshot { get; }

    public SchedulerOptions Options { get; }

    public int SlotCount { get; }

    public int NodeCount { get; }

    public Random Random { get; }

    /// <summary>Where the next pod's walk over the nodes starts (round robin, as kube-scheduler does).</summary>
    public int NextStart { get; set; }

    /// <summary>Per-slot filter outcome of the pod being scheduled; read by preemption.</summary>
    public FitCode[] Statuses { get; }

    /// <summary>Pods evicted in this batch, by key.</summary>
    public HashSet<string> Evicted { get; } = new(StringComparer.Ordinal);

    /// <summary>Pods placed or nominated in this batch, by key.</summary>
    public HashSet<string> Placed { get; } = new(StringComparer.Ordinal);

    public NodeInfo? Node(int slot) => _nodes[slot];

    private int[]? _budgetsAllowed;

    /// <summary>
    /// The disruptions each of the snapshot's budgets still allows in this batch: its status's count less the victims
    /// of this batch's preemptions it covers.
    /// </summary>
    public int[] BudgetsAllowed => _budgetsAllowed ??= [.. Snapshot.DisruptionBudgets.Select(b => b.Allowed)];

    /// <summary>Counts a preemption's victim against the budgets that cover it.</summary>
    public void TakeDisruptions(PodInfo victim)
    {
        var budgets = Snapshot.DisruptionBudgets;
        for (var i = 0; i < budgets.Count; i++)
        {
            if (budgets[i].Counts(victim))
            {
                BudgetsAllowed[i]--;
            }
        }
    }

    public int SlotOf(string nodeName)
    {
        for (var slot = 0; slot < SlotCount; slot++)
        {
            if (_nodes[slot]?.Name == nodeName)
            {
                return slot;
            }
        }

        return -1;
    }

    public void Assume(PodInfo pod, int slot)
    {
        if (_antiAffinityPods >= 0 && pod.RequiredAntiAffinity.Length > 0)
        {
            _antiAffinityPods++;
        }

        Own(slot).AddPod(pod);
        Placed.Add(pod.Key);
        Record(pod, slot, +1);
    }

    public void Evict(PodInfo pod, int slot)
    {
        if (_antiAffinityPods >= 0 && pod.RequiredAntiAffinity.Length > 0)
        {
            _antiAffinityPods--;
        }

        Own(slot).RemovePod(pod.Key);
        Evicted.Add(pod.Key);
        Record(pod, slot, -1);
    }

    /// <summary>
    /// Puts a preemption's victim back on its node as terminating, after the preemptor was assumed there: it still
    /// runs until its node stops it, so the rest of the batch may not use its room (the node is then full, or more,
    /// until it is gone); it no longer counts for spread.
    /// </summary>
    public void Hold(PodInfo victim, int slot) => Own(slot).AddPod(victim.AsTerminating());

    /// <summary>Counts a pod in (or out of) every tracker, for a what-if during preemption.</summary>
    public void RecordTrial(PodInfo pod, int slot, int delta)
    {
        foreach (var tracker in _trackers.Values)
        {
            tracker.Record(pod, slot, delta);
        }
    }

    /// <summary>
    /// Computes the domains the pod's required inter-pod affinity and anti-affinity allow, and those placed pods'
    /// anti-affinity forbids it, in one pass over the batch's pods; leaves <see cref="PendingPod.Affinity"/> null when
    /// neither applies (the common case costs nothing per node).
    /// </summary>
    public void BindAffinity(PendingPod pod)
    {
        pod.Affinity = null;
        if (_antiAffinityPods < 0)
        {
            _antiAffinityPods = 0;
            for (var slot = 0; slot < SlotCount; slot++)
            {
                foreach (var placed in _nodes[slot]?.Pods ?? [])
                {
                    _antiAffinityPods += placed.RequiredAntiAffinity.Length > 0 ? 1 : 0;
                }
            }
        }

        var anti = pod.Info.RequiredAntiAffinity;
        var affinity = pod.RequiredAffinity;
        if (anti.Length == 0 && affinity.Length == 0 && _antiAffinityPods == 0)
        {
            return;
        }

        var antiTopology = anti.Select(t => Snapshot.Topology(t.TopologyKey)).ToArray();
        var antiDomains = antiTopology.Select(t => new bool[t.DomainCount]).ToArray();
        var affinityTopology = affinity.Select(t => Snapshot.Topology(t.TopologyKey)).ToArray();
        var affinityDomains = affinityTopology.Select(t => new bool[t.DomainCount]).ToArray();
        var anyMatch = new bool[affinity.Length];
        var existing = new Dictionary<string, (TopologyIndex Topology, bool[] Domains)>(StringComparer.Ordinal);
        for (var slot = 0; slot < SlotCount; slot++)
        {
            if (_nodes[slot] is not { } node)
            {
                continue;
            }

            foreach (var placed in node.Pods)
            {
                for (var i = 0; i < anti.Length; i++)
                {
                    if (anti[i].Matches(placed.Namespace, placed.Labels) && antiTopology[i].DomainOf(slot) is var d and >= 0)
                    {
                        antiDomains[i][d] = true;
                    }
                }

                for (var i = 0; i < affinity.Length; i++)
                {
                    if (affinity[i].Matches(placed.Namespace, placed.Labels))
                    {
                        anyMatch[i] = true;
                        if (affinityTopology[i].DomainOf(slot) is var d and >= 0)
                        {
                            affinityDomains[i][d] = true;
                        }
                    }
                }

                foreach (var term in placed.RequiredAntiAffinity)
                {
                    if (term.Matches(pod.Info.Namespace, pod.Info.Labels))
                    {
                        if (!existing.TryGetValue(term.TopologyKey, out var entry))
                        {
                            var topology = Snapshot.Topology(term.TopologyKey);
                            existing[term.TopologyKey] = entry = (topology, new bool[topology.DomainCount]);
                        }

                        if (entry.Topology.DomainOf(slot) is var d and >= 0)
                        {
                            entry.Domains[d] = true;
                        }
                    }
                }
            }
        }

        pod.Affinity = new InterPodAffinityState
        {
            Anti = [.. antiTopology.Select((t, i) => (t, antiDomains[i]))],
            Affinity = [.. affinityTopology.Select((t, i) =>
                (t, !anyMatch[i] && affinity[i].Matches(pod.Info.Namespace, pod.Info.Labels) ? null : affinityDomains[i]))],
            Existing = [.. existing.Values],
        };
    }

    /// <summary>Binds each of the pod's spread constraints to the batch's shared counts, creating them if needed.</summary>
    public void BindTrackers(PendingPod pod)
    {
        BindTrackers(pod, pod.HardSpread);
        BindTrackers(pod, pod.SoftSpread);
    }

    private void BindTrackers(PendingPod pod, SpreadConstraint[] constraints)
    {
        if (constraints.Length == 0)
        {
            return;
        }

        // A node counts for a constraint when it carries every key of the pod's constraints of the same kind and
        // passes the constraint's node-inclusion policies, as kube-scheduler's PodTopologySpread decides per node.
        var keys = constraints.Length == 1 ? "" : string.Join(',', constraints.Select(c => c.Topology.Key).Distinct().Order(StringComparer.Ordinal));
        var honoredKey = pod.AffinitySignature + "#" + keys;
        var nodeConstraints = pod.HasNodeConstraints || pod.RuntimeClass is not null;
        foreach (var constraint in constraints)
        {
            var eligibilityKey = constraint is { HonorsNodeAffinity: true, HonorsTaints: false }
                ? honoredKey
                : (constraint.HonorsNodeAffinity ? pod.AffinitySignature : "") + "#" + keys + (constraint.HonorsTaints ? "#" + pod.TolerationSignature : "");
            bool[]? eligible = null;
            if ((constraint.HonorsNodeAffinity && nodeConstraints) || constraint.HonorsTaints || keys.Length > 0)
            {
                eligible = Eligibility(pod, constraint, constraints, eligibilityKey);
            }

            var key = string.Join('\u0001', pod.Info.Namespace, constraint.SelectorText, constraint.Topology.Key, eligibilityKey);
            if (!_trackers.TryGetValue(key, out var tracker))
            {
                tracker = CreateTracker(pod.Info.Namespace, constraint, eligible);
                _trackers.Add(key, tracker);
            }

            constraint.Tracker = tracker;
        }
    }

    /// <summary>The slots whose pods <paramref name="constraint"/> counts, computed once per batch for each key.</summary>
    private bool[] Eligibility(PendingPod pod, SpreadConstraint constraint, SpreadConstraint[] constraints, string eligibilityKey)
    {
        if (_eligibility.TryGetValue(eligibilityKey, out var eligible))
        {
            return eligible;
        }

        // A lone constraint's own key is left out (its tracker skips nodes without it anyway), so the array depends
        // only on what the cache key names and pods spreading on different keys can share it.
        eligible = new bool[SlotCount];
        for (var slot = 0; slot < SlotCount; slot++)
        {
            eligible[slot] = _nodes[slot] is { } node
                && (constraints.Length == 1 || HasEveryKey(constraints, slot))
                && (!constraint.HonorsNodeAffinity || (NodeAffinityFilter.MatchesRequired(pod, node) && RuntimeClassFilter.Supports(pod, node)))
                && (!constraint.HonorsTaints || TaintToleration.ToleratesHardTaints(pod, node));
        }

        _eligibility[eligibilityKey] = eligible;
        return eligible;
    }

    private static bool HasEveryKey(SpreadConstraint[] constraints, int slot)
    {
        foreach (var constraint in constraints)
        {
            if (constraint.Topology.DomainOf(slot) < 0)
            {
                return false;
            }
        }

        return true;
    }

    private SpreadTracker CreateTracker(string ns, SpreadConstraint constraint, bool[]? eligible)
    {
        var topology = constraint.Topology;
        var counts = new int[topology.DomainCount];
        if (eligible is null && constraint.SingleLabel is var (labelKey, labelValue))
        {
            // The snapshot keeps these counts for every label; replay what this batch changed since.
            var atoms = Snapshot.AtomCounts(ns, labelKey, labelValue, topology);
            atoms?.AsSpan(0, Math.Min(atoms.Length, counts.Length)).CopyTo(counts);
            var tracker = new SpreadTracker(ns, constraint.Selector, topology, counts, null);
            foreach (var (pod, slot, delta) in _journal)
            {
                tracker.Record(pod, slot, delta);
            }

            return tracker;
        }

        var scanned = new SpreadTracker(ns, constraint.Selector, topology, counts, eligible);
        for (var slot = 0; slot < SlotCount; slot++)
        {
            if (_nodes[slot] is { } node && topology.DomainOf(slot) >= 0 && scanned.IsEligible(slot))
            {
                foreach (var pod in node.Pods)
                {
                    scanned.Record(pod, slot, +1);
                }
            }
        }

        return scanned;
    }

    private void Record(PodInfo pod, int slot, int delta)
    {
        _journal.Add((pod, slot, delta));
        foreach (var tracker in _trackers.Values)
        {
            tracker.Record(pod, slot, delta);
        }
    }

    private NodeInfo Own(int slot)
    {
        if (!_owned[slot])
        {
            _nodes[slot] = _nodes[slot]!.Clone();
            _owned[slot] = true;
        }

        return _nodes[slot]!;
    }

    /// <summary>The pod as the snapshot knows it, for victims named by key.</summary>
    public static PodReference Reference(PodInfo pod) => new(pod.Namespace, pod.Name, pod.Priority);

    public static bool IsBoundByName(Pod pod) => !string.IsNullOrEmpty(pod.Spec.NodeName);
}
