using Verge.Core.Core;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler;

/// <summary>
/// The scheduler's view of the cluster: nodes with their allocatable resources, labels, taints and readiness, and the
/// pods bound to each. Built once from lists (<see cref="From"/>) and kept current from watch events through
/// <see cref="AddOrUpdateNode"/>, <see cref="RemoveNode"/>, <see cref="Bind"/> and <see cref="Unbind"/>, each of
/// which costs in proportion to the one object it touches. <see cref="Scheduler.Schedule"/> reads a snapshot and
/// never changes it. Not thread-safe: one loop owns it.
/// </summary>
public sealed class ClusterSnapshot
{
    private readonly Dictionary<string, int> _slotsByName = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeSlots = new();
    private readonly Dictionary<string, string> _nodeOfPod = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _nominatedTo = new(StringComparer.Ordinal);

    /// <summary>Pods evicted by a preemption, until they are gone (<see cref="ForgetPreempted"/>).</summary>
    private readonly HashSet<string> _preempted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PodInfo>> _podsOfMissingNodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TopologyIndex> _topologyByKey = new(StringComparer.Ordinal);
    private readonly List<TopologyIndex> _topologies = [];
    private readonly Dictionary<LabelAtom, int[]> _atoms = [];
    private NodeInfo?[] _slots = [];

    /// <summary>An empty snapshot; the <c>verge.dev/site</c> and zone keys are indexed from the start.</summary>
    public ClusterSnapshot()
    {
        Topology(Conventions.SiteLabel);
        Topology(Conventions.ZoneLabel);
    }

    /// <summary>Nodes in the snapshot.</summary>
    public int NodeCount => _slotsByName.Count;

    /// <summary>Pods bound in the snapshot, including those whose node it does not (yet) know.</summary>
    public int PodCount => _nodeOfPod.Count;

    /// <summary>Node names, in slot order.</summary>
    public IEnumerable<string> NodeNames => _slots.Where(n => n is not null).Select(n => n!.Name);

    internal ResourceRegistry Resources { get; } = new();

    /// <summary>The PodDisruptionBudgets preemption tries not to break (<see cref="SetDisruptionBudgets"/>).</summary>
    internal IReadOnlyList<Preemption.DisruptionBudgetInfo> DisruptionBudgets { get; private set; } = [];

    /// <summary>
    /// Replaces the PodDisruptionBudgets preemption reads: when it must choose victims, it spares first the pods whose
    /// eviction would take a budget below zero allowed disruptions, and prefers nodes where fewer victims do so.
    /// </summary>
    public void SetDisruptionBudgets(IEnumerable<Core.Policy.PodDisruptionBudget> budgets)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        DisruptionBudgets = [.. budgets.Select(Preemption.DisruptionBudgetInfo.Create)];
    }

    /// <summary>Node slots; null entries are free. Slot order is the order the scheduler walks nodes in.</summary>
    internal NodeInfo?[] Slots => _slots;

    internal int SlotCount { get; private set; }

    /// <summary>Builds a snapshot from nodes (in name order) and the pods bound to them (<c>spec.nodeName</c>).</summary>
    public static ClusterSnapshot From(IEnumerable<Node> nodes, IEnumerable<Pod> boundPods)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(boundPods);
        var snapshot = new ClusterSnapshot();
        foreach (var node in nodes.OrderBy(n => n.Metadata.Name, StringComparer.Ordinal))
        {
            snapshot.AddOrUpdateNode(node);
        }

        foreach (var pod in boundPods)
        {
            snapshot.Bind(pod);
        }

        return snapshot;
    }

    /// <summary>Adds a node or re-reads one already known (labels, taints, readiness, allocatable); its pods stay.</summary>
    public void AddOrUpdateNode(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var name = node.Metadata.Name;
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("a node needs metadata.name", nameof(node));
        }

        if (_slotsByName.TryGetValue(name, out var slot))
        {
            var info = _slots[slot]!;
            var oldLabels = info.Labels;
            info.Update(node, Resources);
            if (!SameLabels(oldLabels, info.Labels))
            {
                foreach (var topology in _topologies)
                {
                    var (old, next) = topology.SetNode(slot, info.Labels);
                    if (old != next)
                    {
                        foreach (var pod in info.Pods)
                        {
                            CountAtoms(pod, topology, old, -1);
                            CountAtoms(pod, topology, next, +1);
                        }
                    }
                }
            }

            return;
        }

        slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : SlotCount++;
        if (slot >= _slots.Length)
        {
            Array.Resize(ref _slots, Math.Max(16, _slots.Length * 2));
        }

        var added = NodeInfo.Create(node, slot, Resources);
        _slots[slot] = added;
        _slotsByName.Add(name, slot);
        foreach (var topology in _topologies)
        {
            topology.SetNode(slot, added.Labels);
        }

        if (_podsOfMissingNodes.Remove(name, out var waiting))
        {
            foreach (var pod in waiting)
            {
                AttachPod(added, pod);
            }
        }
    }

    /// <summary>Removes a node. Its pods stay bound to the name and come back if a node of that name is added.</summary>
    public bool RemoveNode(string name)
    {
        if (!_slotsByName.Remove(name, out var slot))
        {
            return false;
        }

        var info = _slots[slot]!;
        foreach (var pod in info.Pods)
        {
            foreach (var topology in _topologies)
            {
                CountAtoms(pod, topology, topology.DomainOf(slot), -1);
            }
        }

        foreach (var topology in _topologies)
        {
            topology.SetNode(slot, null);
        }

        if (info.Pods.Count > 0)
        {
            _podsOfMissingNodes[name] = [.. info.Pods];
        }

        _slots[slot] = null;
        _freeSlots.Push(slot);
        return true;
    }

    /// <summary>
    /// Records a pod as bound to <paramref name="nodeName"/> (default: its <c>spec.nodeName</c>). A pod already bound
    /// is moved. Pods that have finished (phase Succeeded or Failed) hold no resources and are not recorded.
    /// </summary>
    /// <returns>Whether the pod is now counted against a node name.</returns>
    public bool Bind(Pod pod, string? nodeName = null)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return Bind(pod, nodeName ?? pod.Spec.NodeName, null);
    }

    private bool Bind(Pod pod, string? nodeName, PodInfo? compiled)
    {
        var key = PodInfo.KeyOf(pod.Metadata.Namespace, pod.Metadata.Name);
        Unbind(key);
        if (string.IsNullOrEmpty(nodeName) || pod.Status?.Phase is "Succeeded" or "Failed")
        {
            return false;
        }

        var info = compiled ?? PodInfo.Create(pod, Resources, registerResources: true);
        _nodeOfPod[key] = nodeName;
        if (_slotsByName.TryGetValue(nodeName, out var slot))
        {
            AttachPod(_slots[slot]!, info);
        }
        else
        {
            if (!_podsOfMissingNodes.TryGetValue(nodeName, out var waiting))
            {
                _podsOfMissingNodes[nodeName] = waiting = [];
            }

            waiting.Add(info);
        }

        return true;
    }

    /// <summary>
    /// Records that a pending pod is nominated to a node by preemption (its <c>status.nominatedNodeName</c>), or with a
    /// null node that it no longer is. Its room on that node is then held against pods of no higher priority
    /// (<see cref="Filters.ResourceFit"/>) until it is bound, nominated elsewhere or forgotten
    /// (<see cref="ClearNomination"/>). A node not in the snapshot holds nothing.
    /// </summary>
    public void Nominate(Pod pod, string? nodeName)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var key = PodInfo.KeyOf(pod.Metadata.Namespace, pod.Metadata.Name);
        ClearNomination(key);
        if (string.IsNullOrEmpty(nodeName) || !_slotsByName.TryGetValue(nodeName, out var slot))
        {
            return;
        }

        var node = _slots[slot]!;
        node.Nominated = [.. node.Nominated ?? [], PodInfo.Create(pod, Resources, registerResources: true)];
        _nominatedTo[key] = nodeName;
    }

    /// <summary>Drops a pod's nomination, if it has one (it was bound, deleted or is no longer nominated).</summary>
    public void ClearNomination(string key)
    {
        if (_nominatedTo.Remove(key, out var nodeName) && _slotsByName.TryGetValue(nodeName, out var slot)
            && _slots[slot]!.Nominated is { } nominated)
        {
            // A new list, not a change in place: a batch's copies of the node share the old one.
            _slots[slot]!.Nominated = nominated.Count == 1 ? null : nominated.Where(p => p.Key != key).ToList();
        }
    }

    /// <summary>The node a pending pod is nominated to, or null.</summary>
    public string? NominationOf(string? podNamespace, string podName) =>
        _nominatedTo.GetValueOrDefault(PodInfo.KeyOf(podNamespace, podName));

    /// <summary>Forgets a bound pod (deleted, finished or evicted).</summary>
    public bool Unbind(string? podNamespace, string podName) => Unbind(PodInfo.KeyOf(podNamespace, podName));

    /// <summary>Forgets a bound pod.</summary>
    public bool Unbind(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return Unbind(pod.Metadata.Namespace, pod.Metadata.Name ?? "");
    }

    /// <summary>The node a pod is bound to, or null.</summary>
    public string? NodeOf(string? podNamespace, string podName) =>
        _nodeOfPod.GetValueOrDefault(PodInfo.KeyOf(podNamespace, podName));

    /// <summary>
    /// Assumes a plan took effect: binds its bindings and marks its preemption victims as terminating. A victim keeps
    /// its resources, ports and pod slot until it is gone (its node stops it within its grace period, as kube-scheduler
    /// keeps a deleted pod in its cache), but no longer counts for spread. Preempting pods are not bound; they come
    /// back in a later batch with <c>status.nominatedNodeName</c> set and are placed once their victims are gone.
    /// </summary>
    public void Apply(SchedulingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var preemption in plan.Preemptions)
        {
            foreach (var victim in preemption.Victims)
            {
                var key = PodInfo.KeyOf(victim.Namespace, victim.Name);
                _preempted.Add(key);
                HoldAsTerminating(key);
            }
        }

        foreach (var binding in plan.Bindings)
        {
            Bind(binding.Pod, binding.NodeName, binding.Info);
        }
    }

    internal bool IsBound(string key) => _nodeOfPod.ContainsKey(key);

    /// <summary>Whether the pod was evicted by a preemption and is not yet gone (kube-scheduler's podTerminatingByPreemption).</summary>
    internal bool WasPreempted(string key) => _preempted.Contains(key);

    /// <summary>The pod is gone, or its eviction failed: it is no longer a victim on its way out.</summary>
    public void ForgetPreempted(string? podNamespace, string podName) => _preempted.Remove(PodInfo.KeyOf(podNamespace, podName));

    /// <summary>Replaces a bound pod with itself being deleted: its room stays taken, its spread counts go.</summary>
    private void HoldAsTerminating(string key)
    {
        if (!_nodeOfPod.TryGetValue(key, out var nodeName) || !_slotsByName.TryGetValue(nodeName, out var slot)
            || _slots[slot]!.Pods.Find(p => p.Key == key) is not { Terminating: false } pod)
        {
            return;
        }

        Unbind(key);
        _nodeOfPod[key] = nodeName;
        AttachPod(_slots[slot]!, pod.AsTerminating());
    }

    internal int SlotOf(string nodeName) => _slotsByName.TryGetValue(nodeName, out var slot) ? slot : -1;

    internal TopologyIndex? FindTopology(string key) => _topologyByKey.GetValueOrDefault(key);

    /// <summary>The index of a topology key, built over every node and pod the first time a constraint names it.</summary>
    internal TopologyIndex Topology(string key)
    {
        if (_topologyByKey.TryGetValue(key, out var topology))
        {
            return topology;
        }

        topology = new TopologyIndex(key, _topologies.Count);
        _topologies.Add(topology);
        _topologyByKey.Add(key, topology);
        for (var slot = 0; slot < SlotCount; slot++)
        {
            if (_slots[slot] is { } node)
            {
                var domain = topology.SetNode(slot, node.Labels).New;
                foreach (var pod in node.Pods)
                {
                    CountAtoms(pod, topology, domain, +1);
                }
            }
        }

        return topology;
    }

    /// <summary>
    /// Per-domain counts of the pods in <paramref name="ns"/> labelled <paramref name="labelKey"/>=<paramref name="labelValue"/>:
    /// what a spread constraint with that one-label selector counts, kept current without scanning pods.
    /// </summary>
    internal int[]? AtomCounts(string ns, string labelKey, string labelValue, TopologyIndex topology) =>
        _atoms.GetValueOrDefault(new LabelAtom(ns, labelKey, labelValue, topology.Id));

    private bool Unbind(string key)
    {
        if (!_nodeOfPod.Remove(key, out var nodeName))
        {
            return false;
        }

        if (_slotsByName.TryGetValue(nodeName, out var slot))
        {
            var node = _slots[slot]!;
            var pod = node.Pods.Find(p => p.Key == key);
            if (pod is not null)
            {
                foreach (var topology in _topologies)
                {
                    CountAtoms(pod, topology, topology.DomainOf(slot), -1);
                }

                node.RemovePod(key);
            }
        }
        else if (_podsOfMissingNodes.TryGetValue(nodeName, out var waiting))
        {
            waiting.RemoveAll(p => p.Key == key);
            if (waiting.Count == 0)
            {
                _podsOfMissingNodes.Remove(nodeName);
            }
        }

        return true;
    }

    private void AttachPod(NodeInfo node, PodInfo pod)
    {
        node.AddPod(pod);
        foreach (var topology in _topologies)
        {
            CountAtoms(pod, topology, topology.DomainOf(node.Slot), +1);
        }
    }

    private void CountAtoms(PodInfo pod, TopologyIndex topology, int domain, int delta)
    {
        if (domain < 0 || pod.Terminating)
        {
            return;
        }

        foreach (var (labelKey, labelValue) in pod.Labels)
        {
            var atom = new LabelAtom(pod.Namespace, labelKey, labelValue, topology.Id);
            if (!_atoms.TryGetValue(atom, out var counts) || counts.Length <= domain)
            {
                var grown = new int[Math.Max(domain + 1, topology.DomainCount)];
                counts?.CopyTo(grown, 0);
                _atoms[atom] = counts = grown;
            }

            counts[domain] += delta;
        }
    }

    private static bool SameLabels(Dictionary<string, string> a, Dictionary<string, string> b)
    {
        if (ReferenceEquals(a, b))
        {
            return false; // the same dictionary may have been edited in place; re-index to be safe
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other) || other != value)
            {
                return false;
            }
        }

        return true;
    }

    private readonly record struct LabelAtom(string Namespace, string LabelKey, string LabelValue, int Topology);
}
