using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.Controllers.Runtime;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Scheduling;
using Verge.Scheduler;

namespace Verge.Controllers.Scheduling;

/// <summary>
/// The loop that feeds <see cref="Verge.Scheduler.Scheduler.Schedule"/> (run on the leader only). Node and pod informers keep one
/// <see cref="ClusterSnapshot"/> current; pending pods this scheduler serves are scheduled in batches; the plan is
/// written back: bindings through the binding subresource's compare-and-swap, failures as the PodScheduled
/// condition and a <c>FailedScheduling</c> event, preemptions as deletions of the victims and the preemptor's
/// <c>status.nominatedNodeName</c>. Pods that failed are tried again, with backoff, when a node is added or changes
/// or a bound pod goes away. A node whose heartbeat has lapsed (as the node lifecycle controller of the same term
/// sees it) gets no new pods, even before the controller has marked it unreachable: it stays in the snapshot with the
/// <c>node.kubernetes.io/unreachable</c> NoSchedule taint the controller will give it, until it renews.
/// </summary>
/// <remarks>
/// Informer handlers only post changes to a channel; the snapshot and the pending queues belong to the loop alone,
/// which drains the channel between batches. Writes of one batch run concurrently and report outcomes that the loop
/// applies afterwards.
/// </remarks>
internal sealed partial class SchedulingLoop : IDisposable
{
    private readonly Informer<Node> _nodes;
    private readonly Informer<Pod> _pods;
    private readonly Informer<PriorityClass> _classes;
    private readonly Informer<PodDisruptionBudget> _budgets;

    /// <summary>Set by the budget informer's handlers; the loop hands the budgets to the snapshot before its next batch.</summary>
    private volatile bool _budgetsChanged = true;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SchedulingLoopOptions _options;
    private readonly ResourceType _podType = ResourceCatalog.For<Pod>();
    private static readonly TimeSpan LapseCheckPeriod = TimeSpan.FromSeconds(1);
    private readonly Func<string, bool>? _nodeLapsed;

    /// <summary>Nodes found lapsed when a pod was about to be bound to them; tainted in the snapshot until they renew.</summary>
    private readonly HashSet<string> _lapsed = new(StringComparer.Ordinal);

    /// <summary>While <see cref="_lapsed"/> is not empty: a look every second for nodes that renewed.</summary>
    private ITimer? _lapseCheck;
    private readonly Channel<Change> _changes = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ClusterSnapshot _snapshot = new();
    private readonly Dictionary<string, Entry> _pending = new(StringComparer.Ordinal);
    private readonly Queue<Entry> _active = new();
    private PriorityClass? _globalDefault;
    private bool _globalDefaultKnown;
    private int _batches;

    /// <param name="nodeLapsed">Whether a node's heartbeat has lapsed (<see cref="Nodes.NodeHeartbeats.IsLapsed"/>); null never treats one so.</param>
    public SchedulingLoop(
        InformerFactory informers,
        ApiClient client,
        TimeProvider time,
        ILoggerFactory loggers,
        string identity,
        SchedulingLoopOptions? options = null,
        Func<string, bool>? nodeLapsed = null)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options ?? new SchedulingLoopOptions();
        _options.Validate();
        _nodeLapsed = nodeLapsed;
        _time = time;
        _logger = loggers.CreateLogger<SchedulingLoop>();
        _client = new ApiClient(client.Service, _options.Component);
        _events = new EventRecorder(_client, time, _options.Component, identity, loggers.CreateLogger<EventRecorder>());
        _nodes = informers.For<Node>();
        _pods = informers.For<Pod>();
        _classes = informers.For<PriorityClass>();
        _budgets = informers.For<PodDisruptionBudget>();
        _nodes.AddHandler(new InformerHandler<Node>
        {
            OnAdd = n => Post(new NodeChanged(null, n)),
            OnUpdate = (old, n) => Post(new NodeChanged(old, n)),
            OnDelete = n => Post(new NodeRemoved(n)),
        });
        _pods.AddHandler(new InformerHandler<Pod>
        {
            OnAdd = p => Post(new PodChanged(p)),
            OnUpdate = (_, p) => Post(new PodChanged(p)),
            OnDelete = p => Post(new PodRemoved(p)),
        });
        _classes.AddHandler(new InformerHandler<PriorityClass>
        {
            OnAdd = _ => Post(ClassesChanged.Instance),
            OnUpdate = (_, _) => Post(ClassesChanged.Instance),
            OnDelete = _ => Post(ClassesChanged.Instance),
        });
        _budgets.AddHandler(new InformerHandler<PodDisruptionBudget>
        {
            OnAdd = _ => _budgetsChanged = true,
            OnUpdate = (_, _) => _budgetsChanged = true,
            OnDelete = _ => _budgetsChanged = true,
        });
    }

    /// <summary>Pods waiting to be scheduled (active, backing off or unschedulable); for tests and diagnostics.</summary>
    internal int PendingCount => Volatile.Read(ref _pendingCount);

    private int _pendingCount;

    /// <summary>Runs until <paramref name="ct"/> is cancelled; the informers must be run alongside (by their factory).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        await Task.WhenAll(_nodes.Synced, _pods.Synced, _classes.Synced, _budgets.Synced).WaitAsync(ct);
        LogStarted(_logger);
        try
        {
            if (_options.CreateSystemPriorityClasses)
            {
                await EnsureSystemPriorityClassesAsync(ct);
            }

            while (true)
            {
                if (_active.Count == 0)
                {
                    Apply(await _changes.Reader.ReadAsync(ct));
                }

                while (_changes.Reader.TryRead(out var change))
                {
                    Apply(change);
                }

                var batch = TakeBatch();
                if (batch.Count > 0)
                {
                    await ScheduleBatchAsync(batch, ct);
                }

                Volatile.Write(ref _pendingCount, _pending.Count);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            LogStopped(_logger);
        }
    }

    public void Dispose()
    {
        _lapseCheck?.Dispose();
        foreach (var entry in _pending.Values)
        {
            entry.Timer?.Dispose();
        }

        _pending.Clear();
    }

    private void Post(Change change) => _changes.Writer.TryWrite(change);

    private async Task EnsureSystemPriorityClassesAsync(CancellationToken ct)
    {
        foreach (var builtIn in PriorityClasses.BuiltIn)
        {
            if (_classes.Get(null, builtIn.Metadata.Name!) is not null)
            {
                continue;
            }

            try
            {
                await _client.CreateAsync(PriorityClasses.CopyOfBuiltIn(builtIn), ct);
            }
            catch (ApiException e) when (e.Code == 409)
            {
            }
            catch (ApiException e)
            {
                LogWriteFailed(_logger, "create", builtIn.Metadata.Name!, e.Message);
            }
        }
    }

    // ---- Keeping the snapshot and the queues current (loop only) ----

    private void Apply(Change change)
    {
        switch (change)
        {
            case NodeChanged(var old, var node):
                _snapshot.AddOrUpdateNode(_lapsed.Contains(node.Metadata.Name!) ? AsLapsed(node) : node);
                if (old is null || SchedulingRelevant(old, node))
                {
                    MoveUnschedulable();
                }

                break;
            case NodeRemoved(var node):
                _snapshot.RemoveNode(node.Metadata.Name!);
                _lapsed.Remove(node.Metadata.Name!);
                break;
            case PodChanged(var pod):
                OnPod(pod);
                break;
            case PodRemoved(var pod):
                Forget(Objects.KeyOf(pod));
                _snapshot.ForgetPreempted(pod.Metadata.Namespace, pod.Metadata.Name!);
                if (!string.IsNullOrEmpty(pod.Spec.NodeName))
                {
                    _snapshot.Unbind(pod);
                    MoveUnschedulable();
                }

                break;
            case ClassesChanged:
                _globalDefaultKnown = false;
                break;
            case LapseCheck:
                ReleaseRenewed();
                break;
            case Retry(var key, var epoch):
                if (_pending.TryGetValue(key, out var entry) && entry.Epoch == epoch)
                {
                    Activate(entry);
                }

                break;
        }
    }

    private void OnPod(Pod pod)
    {
        var key = Objects.KeyOf(pod);

        // A bound pod being deleted keeps its room until it is gone (its node may take its grace period to stop it),
        // as in kube-scheduler; a finished one holds nothing.
        var finished = pod.Status?.Phase is "Succeeded" or "Failed";
        if (!string.IsNullOrEmpty(pod.Spec.NodeName))
        {
            Forget(key);
            if (finished)
            {
                if (_snapshot.Unbind(pod))
                {
                    MoveUnschedulable();
                }
            }
            else
            {
                _snapshot.Bind(WithPriority(pod));
            }

            return;
        }

        // A gated pod waits outside the queue (kube-scheduler's SchedulingGates PreEnqueue): its gates can only be
        // removed, and the update that removes the last one brings it in.
        if (finished || pod.Metadata.DeletionTimestamp is not null || !Serves(pod) || pod.Spec.SchedulingGates is { Count: > 0 })
        {
            Forget(key);
            return;
        }

        // A pod nominated by preemption keeps the room its victims left until it is bound (or nominated elsewhere).
        if (pod.Status?.NominatedNodeName != _snapshot.NominationOf(pod.Metadata.Namespace, pod.Metadata.Name!))
        {
            _snapshot.Nominate(WithPriority(pod), pod.Status?.NominatedNodeName);
        }

        if (_pending.TryGetValue(key, out var entry))
        {
            var before = entry.Pod;
            entry.Pod = pod;
            if (entry.State != EntryState.Active && (before.Metadata.Generation != pod.Metadata.Generation || before.Metadata.Uid != pod.Metadata.Uid))
            {
                // The pod's spec changed: it may fit now.
                Activate(entry);
            }

            return;
        }

        entry = new Entry(key, pod);
        _pending[key] = entry;
        Activate(entry);
    }

    private bool Serves(Pod pod) => string.IsNullOrEmpty(pod.Spec.SchedulerName) || pod.Spec.SchedulerName == _options.SchedulerName;

    private void Forget(string key)
    {
        _snapshot.ClearNomination(key);
        if (_pending.Remove(key, out var entry))
        {
            entry.Removed = true;
            entry.Timer?.Dispose();
            entry.Timer = null;
        }
    }

    private void Activate(Entry entry)
    {
        entry.Epoch++;
        entry.Timer?.Dispose();
        entry.Timer = null;
        entry.State = EntryState.Active;
        if (!entry.Queued)
        {
            entry.Queued = true;
            _active.Enqueue(entry);
        }
    }

    /// <summary>Retries entry after <paramref name="delay"/> (or at once when it has passed).</summary>
    private void RetryAfter(Entry entry, EntryState state, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Activate(entry);
            return;
        }

        entry.Epoch++;
        entry.State = state;
        entry.Timer?.Dispose();
        var retry = new Retry(entry.Key, entry.Epoch);
        entry.Timer = _time.CreateTimer(_ => Post(retry), null, delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The cluster changed: unschedulable pods are tried again once their backoff has passed.</summary>
    private void MoveUnschedulable()
    {
        var now = _time.GetUtcNow();
        foreach (var entry in _pending.Values)
        {
            if (entry.State == EntryState.Unschedulable)
            {
                RetryAfter(entry, EntryState.BackingOff, entry.LastAttempt + Backoff(entry.Attempts) - now);
            }
        }
    }

    private TimeSpan Backoff(int attempts)
    {
        var ms = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        return ms >= _options.MaxBackoff.TotalMilliseconds ? _options.MaxBackoff : TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Whether a node update can make a pod fit that did not: labels, taints, cordon, readiness or room.</summary>
    private static bool SchedulingRelevant(Node old, Node node)
    {
        static string? Ready(Node n) => n.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status;
        static bool SameMap<TV>(Dictionary<string, TV>? a, Dictionary<string, TV>? b)
        {
            if ((a?.Count ?? 0) != (b?.Count ?? 0))
            {
                return false;
            }

            return a is null || a.All(kv => b!.TryGetValue(kv.Key, out var v) && Equals(v, kv.Value));
        }

        static string Taints(Node n) => string.Join('\n', (n.Spec.Taints ?? []).Select(t => $"{t.Key}={t.Value}:{t.Effect}"));

        return old.Spec.Unschedulable != node.Spec.Unschedulable
            || Ready(old) != Ready(node)
            || !SameMap(old.Metadata.Labels, node.Metadata.Labels)
            || !SameMap(old.Metadata.Annotations, node.Metadata.Annotations)
            || Taints(old) != Taints(node)
            || !SameMap(old.Status?.Allocatable, node.Status?.Allocatable)
            || !SameMap(old.Status?.Capacity, node.Status?.Capacity);
    }

    // ---- Priorities ----

    /// <summary>
    /// The pod with <c>spec.priority</c> and <c>spec.preemptionPolicy</c> resolved from its PriorityClass (or the
    /// global default) when admission has not set them; a copy when they change, since informer objects are shared.
    /// </summary>
    private Pod WithPriority(Pod pod)
    {
        if (pod.Spec.Priority is not null)
        {
            return pod;
        }

        if (!_globalDefaultKnown)
        {
            _globalDefault = PriorityClasses.GlobalDefault(_classes.List());
            _globalDefaultKnown = true;
        }

        var pc = PriorityClasses.ClassOf(pod, name => _classes.Get(null, name), _globalDefault, out _);
        var value = pc?.Value ?? 0;
        var libraryValue = PriorityClasses.FindBuiltIn(pod.Spec.PriorityClassName)?.Value ?? 0;
        var policy = pod.Spec.PreemptionPolicy ?? pc?.PreemptionPolicy;
        if (value == libraryValue && policy == pod.Spec.PreemptionPolicy)
        {
            return pod;
        }

        var copy = Objects.Clone(pod);
        copy.Spec.Priority = value;
        copy.Spec.PreemptionPolicy = policy;
        return copy;
    }

    // ---- One batch ----

    private List<Entry> TakeBatch()
    {
        var batch = new List<Entry>(Math.Min(_active.Count, _options.BatchSize));
        while (batch.Count < _options.BatchSize && _active.TryDequeue(out var entry))
        {
            entry.Queued = false;
            if (!entry.Removed && entry.State == EntryState.Active)
            {
                batch.Add(entry);
            }
        }

        return batch;
    }

    private async Task ScheduleBatchAsync(List<Entry> batch, CancellationToken ct)
    {
        ReleaseRenewed();
        var byKey = batch.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var pods = batch.Select(e => WithPriority(e.Pod)).ToList();
        if (_budgetsChanged)
        {
            // Preemption spares the pods whose budgets allow no disruption, as kube-scheduler reads them from its lister.
            _budgetsChanged = false;
            _snapshot.SetDisruptionBudgets(_budgets.List());
        }

        var plan = Scheduler.Scheduler.Schedule(_snapshot, pods, OptionsForBatch());
        _snapshot.Apply(plan);

        var handled = new HashSet<string>(StringComparer.Ordinal);
        var work = new List<Func<CancellationToken, Task>>();
        var outcomes = new ConcurrentQueue<(Entry Entry, Outcome Outcome)>();
        var failedVictims = new ConcurrentQueue<PodReference>();
        var now = _time.GetUtcNow();
        foreach (var binding in plan.Bindings)
        {
            var entry = byKey[Objects.KeyOf(binding.Pod)];
            handled.Add(entry.Key);
            if (RefuseLapsed(binding.NodeName, entry.Pod))
            {
                // Dead, most likely, and not yet marked: place the pod again, now that the node is tainted.
                _snapshot.Unbind(entry.Pod);
                Activate(entry);
                continue;
            }

            var pod = entry.Pod;
            work.Add(async token => outcomes.Enqueue((entry, await BindAsync(pod, binding.NodeName, token))));
        }

        foreach (var failure in plan.Failures)
        {
            var entry = byKey[Objects.KeyOf(failure.Pod)];
            handled.Add(entry.Key);
            MarkUnschedulable(entry, now);
            if (ShouldReport(entry, failure.Message, null))
            {
                var pod = entry.Pod;
                work.Add(token => ReportUnschedulableAsync(pod, failure.Message, null, token));
            }
        }

        foreach (var preemption in plan.Preemptions)
        {
            var entry = byKey[Objects.KeyOf(preemption.Pod)];
            handled.Add(entry.Key);
            if (RefuseLapsed(preemption.NominatedNodeName, entry.Pod))
            {
                // No victim dies for a node that is most likely dead itself; they keep their room in the snapshot.
                foreach (var victim in preemption.Victims)
                {
                    failedVictims.Enqueue(victim);
                }

                Activate(entry);
                continue;
            }

            MarkUnschedulable(entry, now);
            var pod = entry.Pod;
            _snapshot.Nominate(WithPriority(pod), preemption.NominatedNodeName);
            var report = ShouldReport(entry, preemption.Message, preemption.NominatedNodeName);
            foreach (var victim in preemption.Victims)
            {
                var victimPod = _pods.Get(victim.Namespace, victim.Name);
                work.Add(async token =>
                {
                    if (!await EvictAsync(victimPod, victim, pod, preemption.NominatedNodeName, token))
                    {
                        failedVictims.Enqueue(victim);
                    }
                });
            }

            if (report)
            {
                work.Add(token => ReportUnschedulableAsync(pod, preemption.Message, preemption.NominatedNodeName, token));
            }
        }

        // Pods the scheduler skipped are bound in the snapshot already (a binding whose watch event is still on its way).
        foreach (var entry in batch)
        {
            if (!handled.Contains(entry.Key))
            {
                Forget(entry.Key);
            }
        }

        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = _options.WriteConcurrency, CancellationToken = ct },
            async (run, token) => await run(token));

        foreach (var victim in failedVictims)
        {
            // The eviction did not happen: the victim still holds its room.
            _snapshot.ForgetPreempted(victim.Namespace, victim.Name);
            if (_pods.Get(victim.Namespace, victim.Name) is { } still && !string.IsNullOrEmpty(still.Spec.NodeName))
            {
                _snapshot.Bind(WithPriority(still));
            }
        }

        foreach (var (entry, outcome) in outcomes)
        {
            switch (outcome)
            {
                case Outcome.Bound:
                    Forget(entry.Key);
                    break;
                case Outcome.Gone:
                    _snapshot.Unbind(entry.Pod);
                    Forget(entry.Key);
                    break;
                default:
                    // Conflict (bound elsewhere or being deleted; the watch will tell) or a failed write: drop the
                    // assumption and try again after a backoff.
                    _snapshot.Unbind(entry.Pod);
                    if (!entry.Removed)
                    {
                        entry.Attempts++;
                        entry.LastAttempt = now;
                        RetryAfter(entry, EntryState.BackingOff, Backoff(entry.Attempts));
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="pod"/> must not go to <paramref name="nodeName"/> because the node's heartbeat has
    /// lapsed. Such a node is held (<see cref="MarkLapsed"/>) either way; a pod that tolerates the unreachable
    /// NoSchedule taint may still go there, as it may to a node the node lifecycle controller has marked.
    /// </summary>
    private bool RefuseLapsed(string nodeName, Pod pod)
    {
        if (_nodeLapsed?.Invoke(nodeName) != true)
        {
            return false;
        }

        MarkLapsed(nodeName);
        return !Nodes.NodeTaints.IsTolerated(pod.Spec.Tolerations, LapseTaint());
    }

    /// <summary>Taints a node whose heartbeat lapsed in the snapshot, until it renews (<see cref="ReleaseRenewed"/>).</summary>
    private void MarkLapsed(string name)
    {
        if (!_lapsed.Add(name))
        {
            return;
        }

        // A node that renews before the node lifecycle controller marks it changes nothing the informers see: without
        // this look, pods left unschedulable meanwhile would wait for the unschedulable flush.
        _lapseCheck ??= _time.CreateTimer(_ => Post(LapseCheck.Instance), null, LapseCheckPeriod, LapseCheckPeriod);
        if (_nodes.Get(null, name) is { } node)
        {
            _snapshot.AddOrUpdateNode(AsLapsed(node));
        }

        LogNodeLapsed(_logger, name);
    }

    /// <summary>Gives the nodes of <see cref="_lapsed"/> that renewed their heartbeat back to the snapshot as they are.</summary>
    private void ReleaseRenewed()
    {
        var renewed = _lapsed.Count == 0 ? [] : _lapsed.Where(name => _nodeLapsed?.Invoke(name) != true).ToList();
        foreach (var name in renewed)
        {
            _lapsed.Remove(name);
            if (_nodes.Get(null, name) is { } node)
            {
                _snapshot.AddOrUpdateNode(node);
            }
        }

        if (renewed.Count > 0)
        {
            MoveUnschedulable();
        }

        // Also after the last held node was deleted.
        if (_lapsed.Count == 0)
        {
            _lapseCheck?.Dispose();
            _lapseCheck = null;
        }
    }

    /// <summary>The node with the unreachable NoSchedule taint the node lifecycle controller gives a lapsed node.</summary>
    private static Node AsLapsed(Node node)
    {
        if (node.Spec.Taints?.Exists(t => t is { Key: Nodes.NodeTaints.Unreachable, Effect: Nodes.NodeTaints.NoSchedule }) == true)
        {
            return node;
        }

        var copy = Objects.Clone(node);
        (copy.Spec.Taints ??= []).Add(LapseTaint());
        return copy;
    }

    private static Taint LapseTaint() => new() { Key = Nodes.NodeTaints.Unreachable, Effect = Nodes.NodeTaints.NoSchedule };

    private SchedulerOptions OptionsForBatch()
    {
        var o = _options.Scheduler;
        return new SchedulerOptions
        {
            Seed = unchecked(o.Seed + _batches++),
            Strategy = o.Strategy,
            ResourceWeights = o.ResourceWeights,
            PercentageOfNodesToScore = o.PercentageOfNodesToScore,
            ResourceAllocationWeight = o.ResourceAllocationWeight,
            NodeAffinityWeight = o.NodeAffinityWeight,
            TaintTolerationWeight = o.TaintTolerationWeight,
            TopologySpreadWeight = o.TopologySpreadWeight,
            LocalityWeight = o.LocalityWeight,
            EnablePreemption = o.EnablePreemption,
        };
    }

    private void MarkUnschedulable(Entry entry, DateTimeOffset now)
    {
        entry.Attempts++;
        entry.LastAttempt = now;
        entry.State = EntryState.Unschedulable;
        entry.Epoch++;
        entry.Timer?.Dispose();
        var retry = new Retry(entry.Key, entry.Epoch);
        entry.Timer = _time.CreateTimer(_ => Post(retry), null, _options.UnschedulableFlush, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Whether the failure is news: another message (or nominated node) than the pod already shows.</summary>
    private static bool ShouldReport(Entry entry, string message, string? nominated)
    {
        var previous = entry.LastMessage
            ?? entry.Pod.Status?.Conditions?.FirstOrDefault(c => c is { Type: "PodScheduled", Status: "False" })?.Message;
        var changed = previous != message || (nominated is not null && entry.Pod.Status?.NominatedNodeName != nominated);
        entry.LastMessage = message;
        return changed;
    }

    // ---- Writes ----

    private async Task<Outcome> BindAsync(Pod pod, string nodeName, CancellationToken ct)
    {
        var name = pod.Metadata.Name!;
        try
        {
            // The binding subresource's compare-and-swap: a pod is assigned once. It also sets PodScheduled True.
            await PodBinder.BindAsync(_client.Service, pod.Metadata.Namespace, name, nodeName, pod.Metadata.Uid, dryRun: false, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return Outcome.Gone;
        }
        catch (ApiException e) when (e.Code == 409)
        {
            LogBindConflict(_logger, Objects.KeyOf(pod), e.Message);
            return Outcome.Conflict;
        }
        catch (Exception e) when (e is ApiException or Store.StoreException or IOException)
        {
            LogWriteFailed(_logger, "bind", Objects.KeyOf(pod), e.Message);
            return Outcome.Failed;
        }

        await _events.NormalAsync(pod, "Scheduled", $"Successfully assigned {pod.Metadata.Namespace}/{name} to {nodeName}", ct);
        return Outcome.Bound;
    }

    private async Task ReportUnschedulableAsync(Pod pod, string message, string? nominated, CancellationToken ct)
    {
        await SetScheduledConditionAsync(pod, "False", "Unschedulable", message, nominated, ct);
        await _events.WarningAsync(pod, "FailedScheduling", message, ct);
    }

    private async Task SetScheduledConditionAsync(Pod pod, string status, string? reason, string? message, string? nominated, CancellationToken ct)
    {
        var now = Objects.Now(_time);
        try
        {
            await _client.MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, "status", current =>
            {
                if (current.Metadata.Uid != pod.Metadata.Uid || (status == "False" && !string.IsNullOrEmpty(current.Spec.NodeName)))
                {
                    return false;
                }

                var podStatus = current.Status ??= new PodStatus { Phase = "Pending" };
                var conditions = podStatus.Conditions ??= [];
                var condition = conditions.FirstOrDefault(c => c.Type == "PodScheduled");
                if (condition is null)
                {
                    conditions.Add(condition = new PodCondition { Type = "PodScheduled" });
                }

                if (condition.Status != status)
                {
                    condition.LastTransitionTime = now;
                }

                condition.Status = status;
                condition.Reason = reason;
                condition.Message = message;
                condition.LastProbeTime = null;
                if (nominated is not null)
                {
                    podStatus.NominatedNodeName = nominated;
                }

                return true;
            }, ct);
        }
        catch (Exception e) when (e is ApiException or Store.StoreException or IOException)
        {
            LogWriteFailed(_logger, "update status of", Objects.KeyOf(pod), e.Message);
        }
    }

    /// <summary>Deletes a preemption victim (by UID) and tells it why; false when it could not be deleted.</summary>
    private async Task<bool> EvictAsync(Pod? victim, PodReference reference, Pod preemptor, string nodeName, CancellationToken ct)
    {
        try
        {
            if (victim is not null)
            {
                await _client.MarkDisruptionTargetAsync(victim, DisruptionTarget.PreemptionReason,
                    DisruptionTarget.PreemptionMessage(preemptor.Spec.SchedulerName), _time.GetUtcNow(), ct);
            }

            var deleted = await _client.DeleteAsync(_podType, reference.Namespace, reference.Name, victim?.Metadata.Uid, null, ct);
            if (deleted is not null)
            {
                await _events.NormalAsync(victim ?? deleted, "Preempted", $"Preempted by pod {preemptor.Metadata.Uid} on node {nodeName}", ct);
            }

            return true;
        }
        catch (Exception e) when (e is ApiException or Store.StoreException or IOException)
        {
            LogWriteFailed(_logger, "preempt", $"{reference.Namespace}/{reference.Name}", e.Message);
            return false;
        }
    }

    // ---- Types ----

    private enum EntryState
    {
        Active,
        BackingOff,
        Unschedulable,
    }

    private enum Outcome
    {
        Bound,
        Conflict,
        Gone,
        Failed,
    }

    private sealed class Entry(string key, Pod pod)
    {
        public string Key { get; } = key;

        public Pod Pod { get; set; } = pod;

        public EntryState State { get; set; }

        public bool Queued { get; set; }

        public bool Removed { get; set; }

        public int Attempts { get; set; }

        public DateTimeOffset LastAttempt { get; set; }

        public string? LastMessage { get; set; }

        public long Epoch { get; set; }

        public ITimer? Timer { get; set; }
    }

    private abstract record Change;

    private sealed record NodeChanged(Node? Old, Node Node) : Change;

    private sealed record NodeRemoved(Node Node) : Change;

    private sealed record PodChanged(Pod Pod) : Change;

    private sealed record PodRemoved(Pod Pod) : Change;

    private sealed record ClassesChanged : Change
    {
        public static ClassesChanged Instance { get; } = new();
    }

    private sealed record LapseCheck : Change
    {
        public static LapseCheck Instance { get; } = new();
    }

    private sealed record Retry(string Key, long Epoch) : Change;

    [LoggerMessage(EventId = 4811, Level = LogLevel.Information, Message = "Scheduling loop started")]
    private static partial void LogStarted(ILogger logger);

    [LoggerMessage(EventId = 4812, Level = LogLevel.Information, Message = "Scheduling loop stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 4813, Level = LogLevel.Debug, Message = "Binding {Pod} lost a race: {Reason}")]
    private static partial void LogBindConflict(ILogger logger, string pod, string reason);

    [LoggerMessage(EventId = 4815, Level = LogLevel.Information, Message = "Node {Node} missed its heartbeat: no new pods until it renews")]
    private static partial void LogNodeLapsed(ILogger logger, string node);

    [LoggerMessage(EventId = 4814, Level = LogLevel.Warning, Message = "Scheduler failed to {Action} {Target}: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string action, string target, string reason);
}
