using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.Controllers.Nodes;

/// <summary>
/// Watches node heartbeats (the node's Lease in <c>kube-node-lease</c> and its Ready condition's lastHeartbeatTime)
/// and, as Kubernetes' node lifecycle controller and taint eviction controller:
/// <list type="bullet">
/// <item>marks a node whose heartbeat is older than the grace period unreachable: every condition becomes Unknown
/// (reason <c>NodeStatusUnknown</c>) and the node gets the <c>node.kubernetes.io/unreachable</c> NoSchedule taint; a
/// renewed heartbeat restores the conditions the node reported and removes the taints;</item>
/// <item>taints a reachable node whose Ready condition is False with <c>node.kubernetes.io/not-ready</c> NoSchedule;</item>
/// <item>adds the matching NoExecute taint once the disruption judgement of its site releases the node
/// (<see cref="SiteDisruption"/>: slower when most of a site is NotReady, never while every node is);</item>
/// <item>evicts (deletes) the pods bound to a node with NoExecute taints they do not tolerate at once, and those that
/// tolerate them with tolerationSeconds when that time has passed since the taint was added.</item>
/// </list>
/// </summary>
/// <remarks>
/// Heartbeat age is measured on the controller's own clock from the moment it saw the heartbeat change (as Kubernetes
/// does), so a node whose clock is off does not matter. Unlike Kubernetes' DefaultTolerationSeconds admission, Verge
/// gives pods no implicit 300 s toleration of unreachable and not-ready: a pod without a toleration is evicted as
/// soon as its node is found unreachable.
/// </remarks>
internal sealed partial class NodeLifecycleController : Controller
{
    /// <summary>The queue key of the periodic check; node names cannot contain '~'.</summary>
    internal const string MonitorKey = "~monitor";

    public const string UnknownReason = "NodeStatusUnknown";
    public const string UnknownMessage = "Kubelet stopped posting node status.";
    public const string NeverUpdatedReason = "NodeStatusNeverUpdated";
    public const string NeverUpdatedMessage = "Kubelet never posted node status.";
    public const string RenewedReason = "NodeStatusRenewed";

    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();

    /// <summary>The reason and message of a pod's Ready condition set to False because its node is not Ready.</summary>
    public const string PodsNotReadyReason = "NodeNotReady";
    public const string PodsNotReadyMessage = "Node is not ready";

    /// <summary>
    /// The shortest time between a monitor pass and one a node's fall asks for. When thousands of nodes go dark
    /// together, each marked one asks; at most one pass in this time answers them all.
    /// </summary>
    internal static readonly TimeSpan EarlyPassGap = TimeSpan.FromMilliseconds(250);

    /// <summary>The pod informer's index by <c>spec.nodeName</c>.</summary>
    internal const string PodsByNode = "spec.nodeName";

    private readonly Informer<Node> _nodes;
    private readonly Informer<Lease> _leases;
    private readonly Informer<Pod> _pods;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly NodeLifecycleOptions _lifecycle;
    private readonly ILogger _logger;
    private readonly SiteDisruption _disruption;
    private long _monitorPasses;
    private long _lastPassTicks;

    private readonly NodeHeartbeats _heartbeats;

    /// <summary>Per node: the conditions it reported before they were set to Unknown, restored when it comes back.</summary>
    private readonly ConcurrentDictionary<string, List<NodeCondition>> _reported = new(StringComparer.Ordinal);

    /// <summary>When a NoExecute taint without timeAdded was first seen.</summary>
    private readonly ConcurrentDictionary<(string Node, string Key, string? Value), DateTimeOffset> _taintSeen = new();

    /// <summary>Nodes that pods are bound to but that do not exist, and since when this process has seen them so.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _missingSince = new(StringComparer.Ordinal);
    private bool _orphansSwept;

    public NodeLifecycleController(
        Informer<Node> nodes,
        Informer<Lease> leases,
        Informer<Pod> pods,
        ApiClient client,
        EventRecorder events,
        TimeProvider time,
        ILogger logger,
        ControllerOptions options,
        NodeLifecycleOptions lifecycle,
        NodeHeartbeats heartbeats)
        : base("node-lifecycle", time, logger, options)
    {
        lifecycle.Validate();
        _heartbeats = heartbeats;

        // Before any handler that may queue a node, since queueing asks the index (IsUrgent).
        pods.AddIndex(PodsByNode, p => p.Spec.NodeName);
        _nodes = nodes;
        _leases = leases;
        _pods = pods;
        _client = client;
        _events = events;
        _lifecycle = lifecycle;
        _logger = logger;
        _disruption = new SiteDisruption(lifecycle);
        nodes.AddHandler(new InformerHandler<Node>
        {
            OnAdd = node => ObserveAndEnqueue(node.Metadata.Name!),
            OnUpdate = (_, node) => ObserveAndEnqueue(node.Metadata.Name!),
            OnDelete = node => Enqueue(node.Metadata.Name!),
        });
        leases.AddHandler(new InformerHandler<Lease>
        {
            OnAdd = OnLease,
            OnUpdate = (_, lease) => OnLease(lease),
        });
        pods.AddHandler(new InformerHandler<Pod>
        {
            OnAdd = OnPod,
            OnUpdate = (_, pod) => OnPod(pod),
        });
        Enqueue(MonitorKey);
    }

    protected override IEnumerable<IInformer> Informers => [_nodes, _leases, _pods];

    protected override int Workers => _lifecycle.Workers;

    /// <summary>
    /// Ahead of the other nodes go: the monitor pass; a node hosting a pod that its NoExecute taints would move; and a
    /// node marked unreachable whose heartbeat is back. When thousands of nodes go dark together each needs a status
    /// and a taint write; the pods that must move should not wait behind the empty nodes (nor behind DaemonSet pods,
    /// which stay), the pass that releases nodes for NoExecute should not wait behind the thousands it queued a second
    /// before, and a node that returns should get its room back before the dead ones are all marked.
    /// </summary>
    protected override bool IsUrgent(string key)
    {
        if (key == MonitorKey)
        {
            return true;
        }

        if (_nodes.Get(null, key) is { } node && IsMarkedUnreachable(node) && _heartbeats.HasRenewed(key) && !_heartbeats.IsLapsed(key))
        {
            return true;
        }

        return _pods.AnyByIndex(PodsByNode, key, pod => PodState.IsActive(pod)
            && !(StaysForever(pod, NodeTaints.Unreachable) && StaysForever(pod, NodeTaints.NotReady)));
    }

    /// <summary>Whether the pod tolerates this controller's NoExecute taint of <paramref name="key"/> without a time limit.</summary>
    private static bool StaysForever(Pod pod, string key)
    {
        var matching = NodeTaints.Matching(pod.Spec.Tolerations, new Taint { Key = key, Effect = NodeTaints.NoExecute }).ToList();
        return matching.Count > 0 && matching.TrueForAll(t => t.TolerationSeconds is null);
    }

    /// <summary>The disruption judgement of the last monitor pass.</summary>
    internal SiteDisruption Disruption => _disruption;

    /// <summary>Monitor passes completed (for tests).</summary>
    internal long MonitorPasses => Interlocked.Read(ref _monitorPasses);

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        if (key == MonitorKey)
        {
            Monitor();
            return _lifecycle.MonitorPeriod;
        }

        var node = _nodes.Get(null, key);
        if (node is null)
        {
            _heartbeats.Forget(key);
            _reported.TryRemove(key, out _);
            foreach (var seen in _taintSeen.Keys.Where(k => k.Node == key))
            {
                _taintSeen.TryRemove(seen, out _);
            }

            ForgetWrites(key);
            return await DeleteOrphansAsync(key, ct);
        }

        _missingSince.TryRemove(key, out _);

        _heartbeats.Observe(key);
        var now = Time.GetUtcNow();
        var staleAt = _heartbeats.StaleAt(key) ?? now + GraceOf(key);

        // A node found marked (by an earlier leader) stays so until its heartbeat is seen to change: the first sight of
        // an old heartbeat is not a sign of life.
        var stale = now > staleAt || (IsMarkedUnreachable(node) && !_heartbeats.HasRenewed(key));

        node = await UpdateConditionsAsync(key, node, stale, ct) ?? node;
        var tainted = await UpdateTaintsAsync(key, node, stale, ct);
        node = tainted ?? node;
        if (tainted is not null && (stale || ReadyCondition(node)?.Status == "False") && !_disruption.IsEvictable(key))
        {
            // The node just got its NoSchedule taint: the disruption judgement that may release it for NoExecute (and
            // its pods for eviction) comes from the monitor pass, so ask for one now rather than within the period.
            RequestMonitorPass();
        }

        var nextEviction = await EvictAsync(key, node, ct);
        await UpdatePodsReadyAsync(key, notReady: stale || ReadyCondition(node)?.Status != "True", ct);

        TimeSpan? next = stale ? null : staleAt - now + TimeSpan.FromMilliseconds(1);
        if (nextEviction is { } at)
        {
            var untilEviction = at - now + TimeSpan.FromMilliseconds(1);
            next = next is { } n2 && n2 < untilEviction ? n2 : untilEviction;
        }

        return next;
    }

    /// <summary>
    /// The periodic pass over every node: judges each site's disruption from all nodes at once, which releases NotReady
    /// nodes for NoExecute taints (see <see cref="SiteDisruption"/>), then queues every node that is NotReady or
    /// carries a taint of this controller for its own reconcile.
    /// </summary>
    private void Monitor()
    {
        var now = Time.GetUtcNow();
        Volatile.Write(ref _lastPassTicks, now.UtcTicks);
        var nodes = _nodes.List();
        if (!_orphansSwept && _nodes.Synced.IsCompleted && _pods.Synced.IsCompleted)
        {
            // Once per term: pods listed before the nodes were known were not checked for a missing node (OnPod).
            _orphansSwept = true;
            foreach (var pod in _pods.List())
            {
                OnPod(pod);
            }
        }

        var health = new List<NodeHealth>(nodes.Count);
        var attention = new List<string>();
        foreach (var node in nodes)
        {
            var name = node.Metadata.Name!;
            _heartbeats.Observe(name);
            var stale = _heartbeats.StaleAt(name) is { } staleAt && now > staleAt;
            var notReady = stale || ReadyCondition(node)?.Status != "True";
            health.Add(new NodeHealth(name, SiteDisruption.SiteOf(node), notReady));
            if (notReady || node.Spec.Taints?.Exists(t => t.Key is NodeTaints.Unreachable or NodeTaints.NotReady) == true)
            {
                attention.Add(name);
            }
        }

        var changes = _disruption.Update(health, now);
        foreach (var (site, from, to) in changes.Sites)
        {
            LogSiteState(_logger, site.Length == 0 ? "(unnamed)" : site, from, to);
        }

        if (changes.ControlPlaneDisrupted == true)
        {
            LogControlPlaneDisrupted(_logger, nodes.Count);
        }
        else if (changes.ControlPlaneDisrupted == false)
        {
            LogControlPlaneRecovered(_logger);
        }

        // A Ready node with a fresh heartbeat and none of these taints has nothing to reconcile: its own timer (set at
        // its last reconcile for when its heartbeat would go stale) and its Node and Lease events cover it. At 5,000
        // nodes, queueing every node every second was 5,000 reconciles a second for nothing.
        foreach (var name in attention)
        {
            Enqueue(name);
        }

        Interlocked.Increment(ref _monitorPasses);
    }

    /// <summary>Queues a monitor pass at once, or <see cref="EarlyPassGap"/> after the last one if that was sooner.</summary>
    private void RequestMonitorPass()
    {
        var sinceLast = Time.GetUtcNow() - new DateTimeOffset(Volatile.Read(ref _lastPassTicks), TimeSpan.Zero);
        Queue.AddAfter(MonitorKey, EarlyPassGap - sinceLast);
    }

    /// <summary>Sets every condition to Unknown when the node is stale; restores what it reported once it is not.</summary>
    private async Task<Node?> UpdateConditionsAsync(string key, Node node, bool stale, CancellationToken ct)
    {
        var ready = ReadyCondition(node);
        if (stale == (ready?.Status == "Unknown" && ready.Reason is UnknownReason or NeverUpdatedReason))
        {
            return null;
        }

        if (!stale && ready?.Status != "Unknown")
        {
            return null;
        }

        var uid = node.Metadata.Uid;
        var wrote = false;
        var written = await _client.MutateAsync<Node>(null, key, "status", current =>
        {
            wrote = false;
            if (current.Metadata.Uid != uid)
            {
                return false;
            }

            var now = Objects.Now(Time);
            var status = current.Status ??= new NodeStatus();
            var conditions = status.Conditions ??= [];
            if (stale)
            {
                var currentReady = conditions.FirstOrDefault(c => c.Type == "Ready");
                if (currentReady?.Status == "Unknown")
                {
                    return false;
                }

                _reported[key] = [.. conditions.Select(Copy)];
                if (currentReady is null)
                {
                    conditions.Add(new NodeCondition
                    {
                        Type = "Ready",
                        Status = "Unknown",
                        Reason = NeverUpdatedReason,
                        Message = NeverUpdatedMessage,
                        LastTransitionTime = now,
                    });
                }

                foreach (var condition in conditions.Where(c => c.Status != "Unknown"))
                {
                    condition.Status = "Unknown";
                    condition.Reason = UnknownReason;
                    condition.Message = UnknownMessage;
                    condition.LastTransitionTime = now;
                }

                return wrote = true;
            }

            if (!conditions.Any(c => c.Type == "Ready" && c.Status == "Unknown" && c.Reason is UnknownReason or NeverUpdatedReason))
            {
                return false;
            }

            status.Conditions = Restore(key, conditions, now);
            return wrote = true;
        }, ct);
        if (written is null || !wrote)
        {
            return null;
        }

        RecordWrite(key, _nodes, Objects.RevisionOf(written));
        if (stale)
        {
            LogUnreachable(_logger, key, GraceOf(key).TotalSeconds);
            await _events.NormalAsync(written, "NodeNotReady", $"Node {key} status is now: NodeNotReady", ct);
        }
        else
        {
            _reported.TryRemove(key, out _);
            LogReachable(_logger, key);
            await _events.NormalAsync(written, "NodeReady", $"Node {key} status is now: NodeReady", ct);
        }

        return written;
    }

    /// <summary>
    /// The conditions the node reported before it was marked Unknown. A node this controller did not see reporting
    /// (it took over meanwhile) is Ready again because it renews its heartbeat; its agent reports anything else itself.
    /// </summary>
    private List<NodeCondition> Restore(string key, List<NodeCondition> conditions, DateTimeOffset now)
    {
        var saved = _reported.TryGetValue(key, out var list) ? list.Select(Copy).ToList() : null;
        var result = new List<NodeCondition>();
        foreach (var condition in conditions)
        {
            if (condition.Status != "Unknown" || condition.Reason is not (UnknownReason or NeverUpdatedReason))
            {
                result.Add(condition);
                continue;
            }

            if (saved?.FirstOrDefault(c => c.Type == condition.Type) is { } before)
            {
                before.LastTransitionTime = now;
                result.Add(before);
            }
            else if (condition.Type == "Ready")
            {
                result.Add(new NodeCondition
                {
                    Type = "Ready",
                    Status = "True",
                    Reason = RenewedReason,
                    Message = "Node renewed its heartbeat.",
                    LastHeartbeatTime = condition.LastHeartbeatTime,
                    LastTransitionTime = now,
                });
            }
            else
            {
                // A pressure condition the node will report again; until then it is not known to be under pressure.
                result.Add(new NodeCondition
                {
                    Type = condition.Type,
                    Status = "False",
                    Reason = RenewedReason,
                    Message = "Node renewed its heartbeat.",
                    LastHeartbeatTime = condition.LastHeartbeatTime,
                    LastTransitionTime = now,
                });
            }
        }

        return result;
    }

    /// <summary>
    /// unreachable while stale, not-ready while Ready is False: NoSchedule at once, NoExecute only while the site's
    /// disruption judgement releases the node for eviction. As Kubernetes' NoSchedule tainting pass, also
    /// unschedulable while the node is cordoned and a pressure taint while the node reports that pressure (a stale
    /// node's conditions are Unknown: no pressure taint).
    /// </summary>
    private async Task<Node?> UpdateTaintsAsync(string key, Node node, bool stale, CancellationToken ct)
    {
        var notReady = !stale && ReadyCondition(node)?.Status == "False";
        var evictable = _disruption.IsEvictable(key);
        (string Key, string Effect, bool Present)[] wanted =
        [
            (NodeTaints.Unreachable, NodeTaints.NoSchedule, stale),
            (NodeTaints.Unreachable, NodeTaints.NoExecute, stale && evictable),
            (NodeTaints.NotReady, NodeTaints.NoSchedule, notReady),
            (NodeTaints.NotReady, NodeTaints.NoExecute, notReady && evictable),
            (NodeTaints.Unschedulable, NodeTaints.NoSchedule, node.Spec.Unschedulable == true),
            (NodeTaints.MemoryPressure, NodeTaints.NoSchedule, !stale && HasCondition(node, "MemoryPressure")),
            (NodeTaints.DiskPressure, NodeTaints.NoSchedule, !stale && HasCondition(node, "DiskPressure")),
            (NodeTaints.PidPressure, NodeTaints.NoSchedule, !stale && HasCondition(node, "PIDPressure")),
            (NodeTaints.NetworkUnavailable, NodeTaints.NoSchedule, !stale && HasCondition(node, "NetworkUnavailable")),
        ];
        if (wanted.All(w => HasTaint(node, w.Key, w.Effect) == w.Present))
        {
            return null;
        }

        var uid = node.Metadata.Uid;
        var written = await _client.MutateAsync<Node>(null, key, null, current =>
        {
            if (current.Metadata.Uid != uid)
            {
                return false;
            }

            var now = Objects.Now(Time);
            var taints = current.Spec.Taints ?? [];
            var changed = false;
            foreach (var (taintKey, effect, present) in wanted)
            {
                changed |= Ensure(taints, taintKey, effect, present, now);
            }

            current.Spec.Taints = taints.Count == 0 ? null : taints;
            return changed;
        }, ct);
        if (written is not null)
        {
            RecordWrite(key, _nodes, Objects.RevisionOf(written));
        }

        return written;
    }

    private static bool Ensure(List<Taint> taints, string taintKey, string effect, bool present, DateTimeOffset now)
    {
        if (!present)
        {
            return taints.RemoveAll(t => t.Key == taintKey && t.Effect == effect) > 0;
        }

        if (taints.Any(t => t.Key == taintKey && t.Effect == effect))
        {
            return false;
        }

        taints.Add(new Taint { Key = taintKey, Effect = effect, TimeAdded = effect == NodeTaints.NoExecute ? now : null });
        return true;
    }

    /// <summary>
    /// Deletes the pods bound to a node that does not exist (deleted, or never registered), once it has been missing
    /// for <see cref="NodeLifecycleOptions.OrphanQuarantine"/>, as Kubernetes' pod garbage collector does: nothing
    /// else would ever delete them, and their controllers count them as running. They go at once, those already
    /// Terminating included: no node is left to confirm that they stopped. Returns when to look again.
    /// </summary>
    private async Task<TimeSpan?> DeleteOrphansAsync(string key, CancellationToken ct)
    {
        var orphans = _pods.ByIndex(PodsByNode, key).Where(p => p.Metadata.DeletionGracePeriodSeconds is not 0).ToList();
        if (orphans.Count == 0)
        {
            _missingSince.TryRemove(key, out _);
            return null;
        }

        var now = Time.GetUtcNow();
        var since = _missingSince.GetOrAdd(key, now);
        if (now - since < _lifecycle.OrphanQuarantine)
        {
            return since + _lifecycle.OrphanQuarantine - now + TimeSpan.FromMilliseconds(1);
        }

        foreach (var pod in orphans)
        {
            await _events.NormalAsync(pod, "DeletionByPodGC", $"Deleting pod {pod.Metadata.Namespace}/{pod.Metadata.Name}: its node {key} no longer exists", ct);

            // As Kubernetes' gcOrphaned: a pod that had not finished is marked Failed, and a disruption target, first.
            await _client.MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, "status", latest =>
            {
                if (latest.Metadata.Uid != pod.Metadata.Uid)
                {
                    return false;
                }

                var marked = DisruptionTarget.Mark(latest, DisruptionTarget.PodGcReason, DisruptionTarget.PodGcMessage, Time.GetUtcNow());
                if (latest.Status!.Phase is "Succeeded" or "Failed")
                {
                    return marked;
                }

                latest.Status.Phase = "Failed";
                return true;
            }, ct);
            if (await _client.DeleteAsync(PodType, pod.Metadata.Namespace, pod.Metadata.Name!, pod.Metadata.Uid, null, ct, gracePeriodSeconds: 0) is { } deleted)
            {
                RecordWrite(key, _pods, Objects.RevisionOf(deleted));
                LogOrphanDeleted(_logger, pod.Metadata.Namespace ?? "", pod.Metadata.Name!, key);
            }
        }

        _missingSince.TryRemove(key, out _);
        return null;
    }

    /// <summary>Deletes the pods on the node that must go now; returns when the next tolerating pod's time runs out.</summary>
    private async Task<DateTimeOffset?> EvictAsync(string key, Node node, CancellationToken ct)
    {
        var noExecute = node.Spec.Taints?.Where(t => t.Effect == NodeTaints.NoExecute).ToList();
        ForgetGoneTaints(key, noExecute);
        if (noExecute is not { Count: > 0 })
        {
            return null;
        }

        var now = Time.GetUtcNow();
        DateTimeOffset? next = null;
        foreach (var pod in _pods.ByIndex(PodsByNode, key).Where(PodState.IsActive))
        {
            var at = EvictionTime(key, pod, noExecute, now);
            if (at is not { } deadline)
            {
                continue;
            }

            if (deadline > now)
            {
                next = next is { } n && n < deadline ? n : deadline;
                continue;
            }

            await _events.NormalAsync(pod, "TaintManagerEviction", $"Marking for deletion Pod {pod.Metadata.Namespace}/{pod.Metadata.Name}", ct);
            await _client.MarkDisruptionTargetAsync(pod, DisruptionTarget.TaintReason, DisruptionTarget.TaintMessage, now, ct);
            var deleted = await _client.DeleteAsync(pod, ct);
            if (deleted is not null)
            {
                RecordWrite(key, _pods, Objects.RevisionOf(deleted));
                LogEvicted(_logger, pod.Metadata.Namespace ?? "", pod.Metadata.Name!, key);
            }
        }

        return next;
    }

    /// <summary>
    /// While the node is not Ready, sets the Ready condition of its Ready pods to False (reason
    /// <see cref="PodsNotReadyReason"/>), as Kubernetes' MarkPodsNotReady: whatever the node last reported, nobody knows
    /// that they still serve, and the counts of their DaemonSets and Deployments must not count them. Once the node is
    /// Ready again, the pods still so marked get back the Ready its agent last reported. An agent publishes a pod's
    /// status only when it changes, and a short cut need not even end its session: without this a pod that ran
    /// untouched through the outage would stay not Ready. Any status the agent publishes replaces the whole condition,
    /// reason included, so a mark still there means nothing newer was reported. Pods being deleted are left alone:
    /// nothing counts them any more.
    /// </summary>
    private async Task UpdatePodsReadyAsync(string key, bool notReady, CancellationToken ct)
    {
        foreach (var pod in _pods.ByIndex(PodsByNode, key).Where(p => PodState.IsActive(p) && NeedsReadyUpdate(p, notReady)))
        {
            var uid = pod.Metadata.Uid;
            var written = await _client.MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, "status", current =>
            {
                if (current.Metadata.Uid != uid || current.Spec.NodeName != key || !NeedsReadyUpdate(current, notReady))
                {
                    return false;
                }

                var ready = PodState.ReadyCondition(current)!;
                ready.Status = notReady ? "False" : "True";
                ready.Reason = notReady ? PodsNotReadyReason : null;
                ready.Message = notReady ? PodsNotReadyMessage : null;
                ready.LastTransitionTime = Objects.Now(Time);
                return true;
            }, ct);
            if (written is not null)
            {
                RecordWrite(key, _pods, Objects.RevisionOf(written));
                if (notReady)
                {
                    await _events.WarningAsync(written, PodsNotReadyReason, PodsNotReadyMessage, ct);
                }
            }
        }
    }

    /// <summary>Whether the pod is Ready on a node that is not, or still marked by this controller on a node that is.</summary>
    private static bool NeedsReadyUpdate(Pod pod, bool nodeNotReady) => PodState.ReadyCondition(pod) is { } ready
        && (nodeNotReady ? ready.Status == "True" : ready.Status == "False" && ready.Reason == PodsNotReadyReason);

    /// <summary>
    /// Forgets when the node's NoExecute taints without a <c>timeAdded</c> were first seen, for those no longer on it:
    /// a taint put back starts its pods' tolerationSeconds again, as Kubernetes' taint manager cancels a pod's
    /// scheduled eviction when the taint is removed (it used to count from the first sighting, and evicted at once).
    /// </summary>
    internal void ForgetGoneTaints(string node, List<Taint>? noExecute)
    {
        foreach (var seen in _taintSeen.Keys.Where(k => k.Node == node && noExecute?.Any(t => t.Key == k.Key && t.Value == k.Value) != true))
        {
            _taintSeen.TryRemove(seen, out _);
        }
    }

    /// <summary>
    /// When <paramref name="pod"/> must leave: at once when a NoExecute taint is not tolerated; never when every
    /// tolerating toleration is without tolerationSeconds; otherwise the earliest taint time plus tolerationSeconds.
    /// </summary>
    internal DateTimeOffset? EvictionTime(string node, Pod pod, List<Taint> noExecute, DateTimeOffset now)
    {
        DateTimeOffset? earliest = null;
        foreach (var taint in noExecute)
        {
            var matching = NodeTaints.Matching(pod.Spec.Tolerations, taint).ToList();
            if (matching.Count == 0)
            {
                return now;
            }

            var since = taint.TimeAdded ?? _taintSeen.GetOrAdd((node, taint.Key, taint.Value), now);
            foreach (var toleration in matching)
            {
                if (toleration.TolerationSeconds is { } seconds)
                {
                    var at = since + TimeSpan.FromSeconds(Math.Max(seconds, 0));
                    earliest = earliest is { } e && e < at ? e : at;
                }
            }
        }

        return earliest;
    }

    private void OnLease(Lease lease)
    {
        if (lease.Metadata.Namespace != _lifecycle.LeaseNamespace)
        {
            return;
        }

        var name = lease.Metadata.Name!;
        var renewed = _heartbeats.Observe(name);

        // A healthy node's renewal changes nothing; only a node marked unreachable needs a look.
        if (renewed && _nodes.Get(null, name) is { } node
            && (ReadyCondition(node)?.Status == "Unknown" || node.Spec.Taints?.Any(t => t.Key == NodeTaints.Unreachable) == true))
        {
            Enqueue(name);
        }
    }

    private void OnPod(Pod pod)
    {
        if (pod.Spec.NodeName is not { Length: > 0 } name)
        {
            return;
        }

        var node = _nodes.Get(null, name);
        if (node is null
            ? pod.Metadata.DeletionGracePeriodSeconds is not 0 && _nodes.Synced.IsCompleted
            : node.Spec.Taints?.Any(t => t.Effect == NodeTaints.NoExecute) == true
                || (PodState.IsActive(pod) && NeedsReadyUpdate(pod, ReadyCondition(node)?.Status != "True")))
        {
            // A pod on a node that does not exist (once the nodes are known) is an orphan to delete after the
            // quarantine (DeleteOrphansAsync), one still Terminating there included: no node will confirm it. A
            // Ready pod on a node that is not is marked not Ready, and such a mark is lifted when the node is Ready
            // (UpdatePodsReadyAsync).
            Enqueue(name);
        }
    }

    private void ObserveAndEnqueue(string name)
    {
        _heartbeats.Observe(name);
        Enqueue(name);
    }

    /// <inheritdoc cref="NodeHeartbeats.GraceOf"/>
    internal TimeSpan GraceOf(string name) => _heartbeats.GraceOf(name);

    /// <summary>Whether the node carries this controller's unreachable marks: Ready Unknown by it, or the unreachable taint.</summary>
    private static bool IsMarkedUnreachable(Node node) =>
        ReadyCondition(node) is { Status: "Unknown", Reason: UnknownReason or NeverUpdatedReason }
        || node.Spec.Taints?.Exists(t => t.Key == NodeTaints.Unreachable) == true;

    private static NodeCondition? ReadyCondition(Node node) => node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");

    private static bool HasCondition(Node node, string type) =>
        node.Status?.Conditions?.Exists(c => c.Type == type && c.Status == "True") == true;

    private static bool HasTaint(Node node, string taintKey, string effect) =>
        node.Spec.Taints?.Any(t => t.Key == taintKey && t.Effect == effect) == true;

    private static NodeCondition Copy(NodeCondition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        Reason = c.Reason,
        Message = c.Message,
        LastHeartbeatTime = c.LastHeartbeatTime,
        LastTransitionTime = c.LastTransitionTime,
    };

    [LoggerMessage(EventId = 4801, Level = LogLevel.Warning, Message = "Node {Node} has not renewed its heartbeat for {Seconds} s; marked unreachable")]
    private static partial void LogUnreachable(ILogger logger, string node, double seconds);

    [LoggerMessage(EventId = 4802, Level = LogLevel.Information, Message = "Node {Node} renewed its heartbeat; reachable again")]
    private static partial void LogReachable(ILogger logger, string node);

    [LoggerMessage(EventId = 4803, Level = LogLevel.Information, Message = "Evicted pod {Namespace}/{Pod} from node {Node}")]
    private static partial void LogEvicted(ILogger logger, string @namespace, string pod, string node);

    [LoggerMessage(EventId = 4809, Level = LogLevel.Information, Message = "Deleted pod {Namespace}/{Pod}: its node {Node} no longer exists")]
    private static partial void LogOrphanDeleted(ILogger logger, string @namespace, string pod, string node);

    [LoggerMessage(EventId = 4804, Level = LogLevel.Warning, Message = "Site {Site} went from {From} to {To}")]
    private static partial void LogSiteState(ILogger logger, string site, DisruptionState from, DisruptionState to);

    [LoggerMessage(EventId = 4805, Level = LogLevel.Warning, Message = "All {Count} nodes of every site are NotReady: the control plane is likely the one cut off or overloaded; no pods are evicted until a node is Ready again")]
    private static partial void LogControlPlaneDisrupted(ILogger logger, int count);

    [LoggerMessage(EventId = 4806, Level = LogLevel.Information, Message = "A node is Ready again; evictions resume")]
    private static partial void LogControlPlaneRecovered(ILogger logger);
}
