using System.Text.Json;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Controllers.ReplicaSets;

/// <summary>
/// Keeps <c>spec.replicas</c> pods running for every ReplicaSet, as Kubernetes' replicaset controller: it claims
/// the pods its selector matches (adopting orphans, releasing pods whose labels no longer match), plans the
/// difference (<see cref="ReplicaSetPlanner"/>), creates pods in slow-start batches or deletes the most expendable,
/// and reports status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration).
/// </summary>
internal sealed partial class ReplicaSetController : Controller
{
    private readonly Informer<ReplicaSet> _replicaSets;
    private readonly OwnerRouter<ReplicaSet> _owners;
    private readonly Informer<Pod> _pods;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly PodControl _podControl;
    private readonly ILogger _logger;

    public ReplicaSetController(
        Informer<ReplicaSet> replicaSets,
        Informer<Pod> pods,
        ApiClient client,
        EventRecorder events,
        TimeProvider time,
        ILogger logger,
        ControllerOptions options)
        : base("replicaset", time, logger, options)
    {
        _replicaSets = replicaSets;
        _owners = new OwnerRouter<ReplicaSet>(replicaSets, "ReplicaSet", rs => rs.Spec.Selector, Enqueue);
        _pods = pods;
        _client = client;
        _events = events;
        _podControl = new PodControl(client, events, (key, revision) => RecordWrite(key, pods, revision));
        _logger = logger;
        replicaSets.AddHandler(new InformerHandler<ReplicaSet>
        {
            OnAdd = rs => Enqueue(Objects.KeyOf(rs)),
            OnUpdate = (_, rs) => Enqueue(Objects.KeyOf(rs)),
            OnDelete = rs => Enqueue(Objects.KeyOf(rs)),
        });
        pods.AddHandler(new InformerHandler<Pod>
        {
            OnAdd = _owners.OnAdded,
            OnUpdate = _owners.OnUpdated,
            OnDelete = _owners.EnqueueOwner,
        });
    }

    protected override IEnumerable<IInformer> Informers => [_replicaSets, _pods];

    protected override int Workers => Options.ReplicaSetWorkers;

    /// <summary>
    /// The active pods of every ReplicaSet that shares this one's controller (the other revisions of its Deployment),
    /// these included, as Kubernetes' getIndirectlyRelatedPods: a scale-down prefers the pods on nodes crowded with
    /// them, so that a rolling update does not leave the new revision doubled up beside the old one.
    /// </summary>
    private List<Pod> RelatedPods(ReplicaSet rs, IReadOnlyList<Pod> owned)
    {
        if (Objects.ControllerOf(rs)?.Uid is not { Length: > 0 } controllerUid)
        {
            return [.. owned];
        }

        var ns = rs.Metadata.Namespace;
        var related = new List<Pod>(owned);
        foreach (var sibling in _replicaSets.Claimable(ns, controllerUid))
        {
            if (sibling.Metadata.Uid is { Length: > 0 } uid && uid != rs.Metadata.Uid && Objects.ControllerOf(sibling)?.Uid == controllerUid)
            {
                related.AddRange(_pods.Claimable(ns, uid).Where(p => PodState.IsActive(p) && Objects.ControllerOf(p)?.Uid == uid));
            }
        }

        return related;
    }

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Objects.SplitKey(key);
        var rs = _replicaSets.Get(ns, name);
        if (rs is null)
        {
            ForgetWrites(key);
            return null;
        }

        LabelSelectorExpression selector;
        try
        {
            selector = LabelSelectorExpression.FromLabelSelector(rs.Spec.Selector);
        }
        catch (FormatException e)
        {
            LogBadSelector(_logger, key, e.Message);
            return null;
        }

        // Only pods this ReplicaSet owns or that have no controller can be claimed; the rest of the namespace is never read.
        var owned = await ClaimPodsAsync(key, rs, selector, [.. _pods.Claimable(ns, rs.Metadata.Uid ?? "").Where(PodState.IsActive)], ct);
        string? failureReason = null;
        Exception? failure = null;
        if (rs.Metadata.DeletionTimestamp is null)
        {
            var plan = ReplicaSetPlanner.Plan(rs, owned, Options.BurstReplicas, Time.GetUtcNow(), () => RelatedPods(rs, owned));
            try
            {
                await ExecuteAsync(key, rs, plan, ct);
            }
            catch (Exception e) when (e is ApiException or Store.StoreException)
            {
                failure = e;
                failureReason = plan.Create > 0 ? "FailedCreate" : "FailedDelete";
            }
        }

        var now = Time.GetUtcNow();
        var status = ReplicaSetPlanner.Status(rs, owned, now, failureReason, failure?.Message);
        await WriteStatusAsync(key, rs, status, ct);
        if (failure is not null)
        {
            throw failure;
        }

        // Pods that are ready but not yet for minReadySeconds become available later: look again then.
        var minReady = rs.Spec.MinReadySeconds ?? 0;
        var next = owned.Select(p => PodState.AvailableAt(p, minReady, now)).Where(t => t is not null).Min();
        return next is { } at ? at - now + TimeSpan.FromMilliseconds(100) : null;
    }

    /// <summary>The owned active pods after adopting matching orphans and releasing owned pods that no longer match.</summary>
    private async Task<List<Pod>> ClaimPodsAsync(string key, ReplicaSet rs, LabelSelectorExpression selector, List<Pod> pods, CancellationToken ct)
    {
        var owned = new List<Pod>();
        bool? canAdopt = null;
        foreach (var pod in pods)
        {
            var controller = Objects.ControllerOf(pod);
            var matches = selector.Matches(pod.Metadata.Labels);
            if (controller is not null)
            {
                if (controller.Uid != rs.Metadata.Uid)
                {
                    continue;
                }

                if (matches)
                {
                    owned.Add(pod);
                }
                else if (rs.Metadata.DeletionTimestamp is null)
                {
                    await ReleaseAsync(key, rs, pod, ct);
                }

                continue;
            }

            if (!matches || rs.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            // Adopt only if the ReplicaSet is still the one we read and is not being deleted (checked once, fresh).
            canAdopt ??= await _client.GetAsync<ReplicaSet>(rs.Metadata.Namespace, rs.Metadata.Name!, ct) is { } fresh
                && fresh.Metadata.Uid == rs.Metadata.Uid && fresh.Metadata.DeletionTimestamp is null;
            if (canAdopt == true && await AdoptAsync(key, rs, pod, ct) is { } adopted)
            {
                owned.Add(adopted);
            }
        }

        return owned;
    }

    private async Task<Pod?> AdoptAsync(string key, ReplicaSet rs, Pod pod, CancellationToken ct)
    {
        var written = await _client.MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, null, current =>
        {
            if (current.Metadata.Uid != pod.Metadata.Uid || current.Metadata.DeletionTimestamp is not null || Objects.ControllerOf(current) is not null)
            {
                return false;
            }

            (current.Metadata.OwnerReferences ??= []).Add(Objects.ControllerReference(rs, ResourceCatalog.For<ReplicaSet>()));
            return true;
        }, ct);
        if (written is null || Objects.ControllerOf(written)?.Uid != rs.Metadata.Uid)
        {
            return null;
        }

        RecordWrite(key, _pods, Objects.RevisionOf(written));
        LogAdopted(_logger, key, pod.Metadata.Name!);
        return written;
    }

    private async Task ReleaseAsync(string key, ReplicaSet rs, Pod pod, CancellationToken ct)
    {
        var written = await _client.MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, null, current =>
        {
            if (current.Metadata.Uid != pod.Metadata.Uid)
            {
                return false;
            }

            return current.Metadata.OwnerReferences?.RemoveAll(r => r.Uid == rs.Metadata.Uid) > 0;
        }, ct);
        if (written is not null)
        {
            RecordWrite(key, _pods, Objects.RevisionOf(written));
            LogReleased(_logger, key, pod.Metadata.Name!);
        }
    }

    /// <summary>Runs a plan: creates in batches of 1, 2, 4, ... stopping at the first failing batch; deletes in parallel.</summary>
    private async Task ExecuteAsync(string key, ReplicaSet rs, ReplicaSetPlan plan, CancellationToken ct)
    {
        if (plan.Create > 0)
        {
            var remaining = plan.Create;
            var template = ReplicaSetPlanner.EncodeTemplate(rs);
            for (var batch = 1; remaining > 0; batch *= 2)
            {
                var size = Math.Min(batch, remaining);
                var results = await Task.WhenAll(Enumerable.Range(0, size).Select(_ => _podControl.CreateAsync(key, rs, ReplicaSetPlanner.PodFromTemplate(rs, template), ct)));
                remaining -= size;
                if (results.FirstOrDefault(e => e is not null) is { } error)
                {
                    LogSkippedCreates(_logger, key, remaining);
                    throw error;
                }
            }
        }

        if (plan.Delete.Count > 0)
        {
            var results = await Task.WhenAll(plan.Delete.Select(pod => _podControl.DeleteAsync(key, rs, pod, ct)));
            if (results.FirstOrDefault(e => e is not null) is { } error)
            {
                throw error;
            }
        }
    }

    private async Task WriteStatusAsync(string key, ReplicaSet rs, ReplicaSetStatus status, CancellationToken ct)
    {
        var info = Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(ReplicaSetStatus));
        if (rs.Status is not null && JsonSerializer.Serialize(rs.Status, info) == JsonSerializer.Serialize(status, info))
        {
            return;
        }

        var written = await _client.MutateAsync<ReplicaSet>(rs.Metadata.Namespace, rs.Metadata.Name!, "status", current =>
        {
            if (current.Metadata.Uid != rs.Metadata.Uid)
            {
                return false;
            }

            current.Status = status;
            return true;
        }, ct);
        if (written is not null)
        {
            RecordWrite(key, _replicaSets, Objects.RevisionOf(written));
        }
    }

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "ReplicaSet {Key} has an invalid selector: {Reason}")]
    private static partial void LogBadSelector(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 4402, Level = LogLevel.Information, Message = "ReplicaSet {Key} adopted pod {Pod}")]
    private static partial void LogAdopted(ILogger logger, string key, string pod);

    [LoggerMessage(EventId = 4403, Level = LogLevel.Information, Message = "ReplicaSet {Key} released pod {Pod}")]
    private static partial void LogReleased(ILogger logger, string key, string pod);

    [LoggerMessage(EventId = 4404, Level = LogLevel.Warning, Message = "ReplicaSet {Key}: a create failed; skipped {Skipped} more")]
    private static partial void LogSkippedCreates(ILogger logger, string key, int skipped);
}
