using System.Text.Json;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Selectors;

namespace Verge.Controllers.DaemonSets;

/// <summary>
/// Runs one pod of every DaemonSet on each node it is eligible for (<see cref="DaemonSetEligibility"/>), removes
/// pods from nodes that stop matching or go away, replaces pods of an old template under maxUnavailable
/// (<see cref="DaemonSetPlanner"/>), and reports the status <c>kubectl get ds</c> shows.
/// </summary>
/// <remarks>
/// Daemon pods are created with <c>spec.nodeName</c> set, not with a node affinity for the scheduler to honour: a
/// daemon pod has exactly one possible node, so the scheduler would add a round trip and nothing else, and a site
/// whose link to the scheduler is down still gets its daemons.
/// </remarks>
internal sealed partial class DaemonSetController : Controller
{
    private readonly Informer<DaemonSet> _daemonSets;
    private readonly OwnerRouter<DaemonSet> _owners;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Node> _nodes;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly PodControl _podControl;
    private readonly DaemonSetOptions _daemonSetOptions;
    private readonly ILogger _logger;

    public DaemonSetController(
        Informer<DaemonSet> daemonSets,
        Informer<Pod> pods,
        Informer<Node> nodes,
        ApiClient client,
        EventRecorder events,
        TimeProvider time,
        ILogger logger,
        ControllerOptions options,
        DaemonSetOptions daemonSetOptions)
        : base("daemonset", time, logger, options)
    {
        daemonSetOptions.Validate();
        _daemonSets = daemonSets;
        _owners = new OwnerRouter<DaemonSet>(daemonSets, "DaemonSet", ds => ds.Spec.Selector, Enqueue);
        _pods = pods;
        _nodes = nodes;
        _client = client;
        _events = events;
        _podControl = new PodControl(client, events, (key, revision) => RecordWrite(key, pods, revision));
        _daemonSetOptions = daemonSetOptions;
        _logger = logger;
        daemonSets.AddHandler(new InformerHandler<DaemonSet>
        {
            OnAdd = ds => Enqueue(Objects.KeyOf(ds)),
            OnUpdate = (_, ds) => Enqueue(Objects.KeyOf(ds)),
            OnDelete = ds => Enqueue(Objects.KeyOf(ds)),
        });
        pods.AddHandler(new InformerHandler<Pod>
        {
            // DaemonSets do not adopt orphans: a pod event concerns only the DaemonSet that controls it.
            OnAdd = _owners.EnqueueOwner,
            OnUpdate = (_, pod) => _owners.EnqueueOwner(pod),
            OnDelete = _owners.EnqueueOwner,
        });
        nodes.AddHandler(new InformerHandler<Node>
        {
            OnAdd = _ => EnqueueAll(),
            OnUpdate = (old, node) =>
            {
                if (!SameScheduling(old, node))
                {
                    EnqueueAll();
                }
            },
            OnDelete = _ => EnqueueAll(),
        });
    }

    protected override IEnumerable<IInformer> Informers => [_daemonSets, _pods, _nodes];

    protected override int Workers => _daemonSetOptions.Workers;

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Objects.SplitKey(key);
        var ds = _daemonSets.Get(ns, name);
        if (ds is null)
        {
            ForgetWrites(key);
            return null;
        }

        LabelSelectorExpression selector;
        try
        {
            selector = LabelSelectorExpression.FromLabelSelector(ds.Spec.Selector);
        }
        catch (FormatException e)
        {
            LogBadSelector(_logger, key, e.Message);
            return null;
        }

        var owned = _pods.OwnedBy(ds.Metadata.Uid!)
            .Where(p => p.Metadata.Namespace == ns && Objects.ControllerOf(p)?.Uid == ds.Metadata.Uid && selector.Matches(p.Metadata.Labels))
            .ToList();
        var hash = DaemonSetPlanner.Hash(ds);
        var now = Time.GetUtcNow();
        var plan = DaemonSetPlanner.Plan(ds, hash, _nodes.List(), owned, now);

        Exception? failure = null;
        if (ds.Metadata.DeletionTimestamp is null)
        {
            failure = await ExecuteAsync(key, ds, hash, plan, ct);
        }

        await WriteStatusAsync(key, ds, plan.Status, ct);
        if (failure is not null)
        {
            throw failure;
        }

        return plan.NextAvailable is { } at ? at - now + TimeSpan.FromMilliseconds(100) : null;
    }

    private async Task<Exception?> ExecuteAsync(string key, DaemonSet ds, string hash, DaemonSetPlan plan, CancellationToken ct)
    {
        var results = await Task.WhenAll(
            plan.CreateOn.Select(node => _podControl.CreateAsync(key, ds, DaemonSetPlanner.PodFor(ds, hash, node), ct))
                .Concat(plan.Delete.Select(pod => _podControl.DeleteAsync(key, ds, pod, ct))));
        return results.FirstOrDefault(e => e is not null);
    }

    private async Task WriteStatusAsync(string key, DaemonSet ds, DaemonSetStatus status, CancellationToken ct)
    {
        status.Conditions = ds.Status?.Conditions;
        var info = Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(DaemonSetStatus));
        if (ds.Status is not null && JsonSerializer.Serialize(ds.Status, info) == JsonSerializer.Serialize(status, info))
        {
            return;
        }

        var written = await _client.MutateAsync<DaemonSet>(ds.Metadata.Namespace, ds.Metadata.Name!, "status", current =>
        {
            if (current.Metadata.Uid != ds.Metadata.Uid)
            {
                return false;
            }

            current.Status = status;
            return true;
        }, ct);
        if (written is not null)
        {
            RecordWrite(key, _daemonSets, Objects.RevisionOf(written));
        }
    }

    private void EnqueueAll()
    {
        foreach (var ds in _daemonSets.List())
        {
            Enqueue(Objects.KeyOf(ds));
        }
    }

    /// <summary>Whether what decides eligibility (name, labels, taints) is unchanged.</summary>
    private static bool SameScheduling(Node a, Node b)
    {
        var la = a.Metadata.Labels ?? [];
        var lb = b.Metadata.Labels ?? [];
        if (la.Count != lb.Count || la.Any(p => !lb.TryGetValue(p.Key, out var v) || v != p.Value))
        {
            return false;
        }

        static IEnumerable<string> Taints(Node n) =>
            (n.Spec.Taints ?? []).Select(t => $"{t.Key}={t.Value}:{t.Effect}").Order(StringComparer.Ordinal);
        return Taints(a).SequenceEqual(Taints(b), StringComparer.Ordinal);
    }

    [LoggerMessage(EventId = 4901, Level = LogLevel.Warning, Message = "DaemonSet {Key} has an invalid selector: {Reason}")]
    private static partial void LogBadSelector(ILogger logger, string key, string reason);
}
