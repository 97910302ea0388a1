using System.Text.Json;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Controllers.DaemonSets;

/// <summary>
/// Runs one pod of every DaemonSet on each node it is eligible for (<see cref="DaemonSetEligibility"/>), removes
/// pods from nodes that stop matching or go away, replaces pods of an old template under maxUnavailable
/// (<see cref="DaemonSetPlanner"/>), and reports the status <c>kubectl get ds</c> shows.
/// </summary>
/// <remarks>
/// Daemon pods are created unbound, with a required node affinity for their one node (<see cref="DaemonSetPlanner.PodFor"/>),
/// and the scheduler binds them, as in Kubernetes: its filters then hold for them too (a daemon that does not fit
/// beside what already runs there stays Pending with the scheduler's reason, or preempts lower priorities, instead of
/// overcommitting the node; host ports and the pod count are checked).
/// </remarks>
internal sealed partial class DaemonSetController : Controller
{
    private readonly Informer<DaemonSet> _daemonSets;
    private readonly OwnerRouter<DaemonSet> _owners;
    private readonly Informer<Pod> _pods;
    private readonly Informer<Node> _nodes;
    private readonly Informer<ControllerRevision> _revisions;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly PodControl _podControl;
    private readonly DaemonSetOptions _daemonSetOptions;
    private readonly ILogger _logger;

    public DaemonSetController(
        Informer<DaemonSet> daemonSets,
        Informer<Pod> pods,
        Informer<Node> nodes,
        Informer<ControllerRevision> revisions,
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
        _revisions = revisions;
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
        revisions.AddHandler(new InformerHandler<ControllerRevision>
        {
            OnAdd = _owners.EnqueueOwner,
            OnUpdate = (_, revision) => _owners.EnqueueOwner(revision),
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

    protected override IEnumerable<IInformer> Informers => [_daemonSets, _pods, _nodes, _revisions];

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
            if (!await SyncHistoryAsync(key, ds, hash, owned, ct))
            {
                // The revision name was taken by another template: collisionCount moved, and with it the hash.
                return TimeSpan.Zero;
            }

            failure = await ExecuteAsync(key, ds, hash, plan, ct);
        }

        await WriteStatusAsync(key, ds, plan.Status, ct);
        if (failure is not null)
        {
            throw failure;
        }

        return plan.NextAvailable is { } at ? at - now + TimeSpan.FromMilliseconds(100) : null;
    }

    /// <summary>
    /// Keeps the DaemonSet's template history in ControllerRevisions (<see cref="DaemonSetHistory"/>); false when the
    /// new revision's name belongs to another template, after raising <c>status.collisionCount</c>.
    /// </summary>
    private async Task<bool> SyncHistoryAsync(string key, DaemonSet ds, string hash, IReadOnlyList<Pod> owned, CancellationToken ct)
    {
        var uid = ds.Metadata.Uid!;
        var revisions = _revisions.OwnedBy(uid)
            .Where(r => r.Metadata.Namespace == ds.Metadata.Namespace && Objects.ControllerOf(r)?.Uid == uid && r.Metadata.DeletionTimestamp is null)
            .ToList();
        var plan = DaemonSetHistory.Plan(ds, hash, revisions, owned, ResourceCatalog.For<DaemonSet>());
        if (plan.Create is { } create)
        {
            try
            {
                var created = await _client.CreateAsync(create, ct);
                RecordWrite(key, _revisions, Objects.RevisionOf(created));
            }
            catch (ApiException e) when (e.Code == 409)
            {
                var existing = await _client.GetAsync<ControllerRevision>(ds.Metadata.Namespace, create.Metadata.Name!, ct);
                if (existing is not null && Objects.ControllerOf(existing)?.Uid == uid && System.Text.Json.Nodes.JsonNode.DeepEquals(existing.Data, create.Data))
                {
                    // Ours, written by an earlier reconcile the informer has not shown yet.
                    RecordWrite(key, _revisions, Objects.RevisionOf(existing));
                }
                else
                {
                    await RaiseCollisionCountAsync(key, ds, ct);
                    return false;
                }
            }
        }

        if (plan.Renumber is var (revision, to))
        {
            var renumbered = await _client.MutateAsync<ControllerRevision>(revision.Metadata.Namespace, revision.Metadata.Name!, null, current =>
            {
                if (current.Metadata.Uid != revision.Metadata.Uid || current.Revision >= to)
                {
                    return false;
                }

                current.Revision = to;
                return true;
            }, ct);
            if (renumbered is not null)
            {
                RecordWrite(key, _revisions, Objects.RevisionOf(renumbered));
            }
        }

        foreach (var old in plan.Delete)
        {
            var deleted = await _client.DeleteAsync(old, ct);
            if (deleted is not null)
            {
                RecordWrite(key, _revisions, Objects.RevisionOf(deleted));
            }
        }

        return true;
    }

    private async Task RaiseCollisionCountAsync(string key, DaemonSet ds, CancellationToken ct)
    {
        var written = await _client.MutateAsync<DaemonSet>(ds.Metadata.Namespace, ds.Metadata.Name!, "status", current =>
        {
            if (current.Metadata.Uid != ds.Metadata.Uid || current.Status?.CollisionCount != ds.Status?.CollisionCount)
            {
                return false;
            }

            current.Status ??= new DaemonSetStatus();
            current.Status.CollisionCount = (current.Status.CollisionCount ?? 0) + 1;
            return true;
        }, ct);
        if (written is not null)
        {
            LogCollision(_logger, key, written.Status!.CollisionCount ?? 0);
            RecordWrite(key, _daemonSets, Objects.RevisionOf(written));
        }
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

    [LoggerMessage(EventId = 4902, Level = LogLevel.Information, Message = "DaemonSet {Key}: revision name taken by another template; collisionCount is now {Count}")]
    private static partial void LogCollision(ILogger logger, string key, int count);
}
