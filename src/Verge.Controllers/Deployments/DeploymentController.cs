using System.Globalization;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Controllers.Deployments;

/// <summary>
/// Rolls Deployments out through ReplicaSets, as Kubernetes' deployment controller does: one ReplicaSet per
/// template (named <c>{deployment}-{pod-template-hash}</c>), revisions in annotations, RollingUpdate within
/// maxSurge and maxUnavailable or Recreate, proportional scaling of every active ReplicaSet when the Deployment is
/// scaled mid-rollout, paused Deployments that scale but do not roll, cleanup of old ReplicaSets beyond
/// revisionHistoryLimit, and the status counters and the Available and Progressing conditions that
/// <c>kubectl rollout status</c> reads.
/// </summary>
internal sealed partial class DeploymentController : Controller
{
    private static readonly ResourceType DeploymentType = ResourceCatalog.For<Deployment>();

    private readonly Informer<Deployment> _deployments;
    private readonly Informer<ReplicaSet> _replicaSets;
    private readonly OwnerRouter<Deployment> _owners;
    private readonly Informer<Pod> _pods;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly ILogger _logger;

    public DeploymentController(
        Informer<Deployment> deployments,
        Informer<ReplicaSet> replicaSets,
        Informer<Pod> pods,
        ApiClient client,
        EventRecorder events,
        TimeProvider time,
        ILogger logger,
        ControllerOptions options)
        : base("deployment", time, logger, options)
    {
        _deployments = deployments;
        _owners = new OwnerRouter<Deployment>(deployments, "Deployment", d => d.Spec.Selector, Enqueue);
        _replicaSets = replicaSets;
        _pods = pods;
        _client = client;
        _events = events;
        _logger = logger;
        deployments.AddHandler(new InformerHandler<Deployment>
        {
            OnAdd = d => Enqueue(Objects.KeyOf(d)),
            OnUpdate = (_, d) => Enqueue(Objects.KeyOf(d)),
            OnDelete = d => Enqueue(Objects.KeyOf(d)),
        });
        replicaSets.AddHandler(new InformerHandler<ReplicaSet>
        {
            OnAdd = _owners.OnAdded,
            OnUpdate = _owners.OnUpdated,
            OnDelete = _owners.EnqueueOwner,
        });
        pods.AddHandler(new InformerHandler<Pod> { OnDelete = OnPodDeleted });
    }

    protected override IEnumerable<IInformer> Informers => [_deployments, _replicaSets, _pods];

    protected override int Workers => Options.DeploymentWorkers;

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Objects.SplitKey(key);
        var cached = _deployments.Get(ns, name);
        if (cached is null)
        {
            ForgetWrites(key);
            return null;
        }

        var d = Objects.Clone(cached);
        d.Status ??= new DeploymentStatus();
        LabelSelectorExpression selector;
        try
        {
            selector = LabelSelectorExpression.FromLabelSelector(d.Spec.Selector);
        }
        catch (FormatException e)
        {
            LogBadSelector(_logger, key, e.Message);
            return null;
        }

        if (selector.IsEmpty)
        {
            await _events.WarningAsync(d, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.", ct);
            if ((d.Status.ObservedGeneration ?? 0) < (d.Metadata.Generation ?? 0))
            {
                d.Status.ObservedGeneration = d.Metadata.Generation;
                await WriteStatusAsync(key, d, ct);
            }

            return null;
        }

        var rsList = await ClaimReplicaSetsAsync(key, d, selector, ct);
        if (d.Metadata.DeletionTimestamp is not null)
        {
            await SyncAsync(key, d, rsList, ct);
            return null;
        }

        await CheckPausedConditionsAsync(key, d, ct);
        if (d.Spec.Paused == true || await IsScalingEventAsync(key, d, rsList, ct))
        {
            await SyncAsync(key, d, rsList, ct);
            return null;
        }

        return DeploymentUtil.IsRollingUpdate(d)
            ? await RolloutRollingAsync(key, d, rsList, ct)
            : await RolloutRecreateAsync(key, d, rsList, ct);
    }

    // ---- claiming -------------------------------------------------------------------------------------------

    private async Task<List<ReplicaSet>> ClaimReplicaSetsAsync(string key, Deployment d, LabelSelectorExpression selector, CancellationToken ct)
    {
        var owned = new List<ReplicaSet>();
        bool? canAdopt = null;
        foreach (var cached in _replicaSets.Claimable(d.Metadata.Namespace, d.Metadata.Uid ?? ""))
        {
            var controller = Objects.ControllerOf(cached);
            var matches = selector.Matches(cached.Metadata.Labels);
            if (controller is not null)
            {
                if (controller.Uid != d.Metadata.Uid)
                {
                    continue;
                }

                if (matches)
                {
                    owned.Add(Objects.Clone(cached));
                }
                else if (d.Metadata.DeletionTimestamp is null)
                {
                    var released = await _client.MutateAsync<ReplicaSet>(cached.Metadata.Namespace, cached.Metadata.Name!, null,
                        rs => rs.Metadata.Uid == cached.Metadata.Uid && rs.Metadata.OwnerReferences?.RemoveAll(r => r.Uid == d.Metadata.Uid) > 0, ct);
                    Record(key, _replicaSets, released);
                }

                continue;
            }

            if (!matches || d.Metadata.DeletionTimestamp is not null || cached.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            canAdopt ??= await _client.GetAsync<Deployment>(d.Metadata.Namespace, d.Metadata.Name!, ct) is { } fresh
                && fresh.Metadata.Uid == d.Metadata.Uid && fresh.Metadata.DeletionTimestamp is null;
            if (canAdopt != true)
            {
                continue;
            }

            var adopted = await _client.MutateAsync<ReplicaSet>(cached.Metadata.Namespace, cached.Metadata.Name!, null, rs =>
            {
                if (rs.Metadata.Uid != cached.Metadata.Uid || Objects.ControllerOf(rs) is not null || rs.Metadata.DeletionTimestamp is not null)
                {
                    return false;
                }

                (rs.Metadata.OwnerReferences ??= []).Add(Objects.ControllerReference(d, DeploymentType));
                return true;
            }, ct);
            if (adopted is not null && Objects.ControllerOf(adopted)?.Uid == d.Metadata.Uid)
            {
                Record(key, _replicaSets, adopted);
                owned.Add(adopted);
            }
        }

        return owned;
    }

    // ---- the new ReplicaSet and revisions ---------------------------------------------------------------------

    /// <summary>The new ReplicaSet (created when asked and missing, its revision raised when reused) and all the others.</summary>
    private async Task<(ReplicaSet? New, List<ReplicaSet> Old)> GetAllReplicaSetsAndSyncRevisionAsync(
        string key, Deployment d, List<ReplicaSet> rsList, bool createIfMissing, CancellationToken ct)
    {
        var existing = DeploymentUtil.FindNewReplicaSet(d, rsList);
        var old = rsList.Where(rs => !ReferenceEquals(rs, existing)).ToList();
        var newRs = await GetNewReplicaSetAsync(key, d, existing, old, createIfMissing, ct);
        return (newRs, old);
    }

    private async Task<ReplicaSet?> GetNewReplicaSetAsync(string key, Deployment d, ReplicaSet? existing, List<ReplicaSet> old, bool createIfMissing, CancellationToken ct)
    {
        var newRevision = DeploymentUtil.MaxRevision(old) + 1;
        var now = Objects.Now(Time);
        if (existing is not null)
        {
            var copy = Objects.Clone(existing);
            var annotationsUpdated = DeploymentUtil.SetNewReplicaSetAnnotations(d, copy, newRevision, exists: true);
            if (annotationsUpdated || (copy.Spec.MinReadySeconds ?? 0) != (d.Spec.MinReadySeconds ?? 0))
            {
                copy.Spec.MinReadySeconds = d.Spec.MinReadySeconds;
                var updated = await _client.UpdateAsync(copy, ct);
                Record(key, _replicaSets, updated);
                return updated;
            }

            await SetDeploymentRevisionAsync(key, d, copy.Metadata.Annotations?.GetValueOrDefault(DeploymentUtil.RevisionAnnotation), ct);
            if (DeploymentUtil.HasProgressDeadline(d) && DeploymentUtil.Condition(d.Status, DeploymentUtil.Progressing) is null)
            {
                DeploymentUtil.SetCondition(d.Status!, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "True",
                    DeploymentUtil.FoundNewReplicaSetReason, $"Found new replica set \"{copy.Metadata.Name}\"", now));
                await WriteStatusAsync(key, d, ct);
            }

            return copy;
        }

        if (!createIfMissing)
        {
            return null;
        }

        var newRs = NewReplicaSet(d);
        newRs.Spec.Replicas = DeploymentUtil.NewReplicaSetReplicas(d, [.. old, newRs], newRs);
        DeploymentUtil.SetNewReplicaSetAnnotations(d, newRs, newRevision, exists: false);
        ReplicaSet created;
        var alreadyExisted = false;
        try
        {
            created = await _client.CreateAsync(newRs, ct);
            Record(key, _replicaSets, created);
        }
        catch (ApiException e) when (e.Code == 409 && e.Reason == "AlreadyExists")
        {
            var found = await _client.GetAsync<ReplicaSet>(newRs.Metadata.Namespace, newRs.Metadata.Name!, ct);
            if (found is not null && Objects.ControllerOf(found)?.Uid == d.Metadata.Uid && DeploymentUtil.EqualIgnoreHash(d.Spec.Template, found.Spec.Template))
            {
                created = found;
                alreadyExisted = true;
            }
            else
            {
                // A different template hashed to the same name: move the hash on and try again.
                d.Status!.CollisionCount = (d.Status.CollisionCount ?? 0) + 1;
                await WriteStatusAsync(key, d, ct);
                LogHashCollision(_logger, key, newRs.Metadata.Name!);
                throw;
            }
        }
        catch (ApiException e) when (e.Code is 400 or 422 or 403)
        {
            var message = $"Failed to create new replica set \"{newRs.Metadata.Name}\": {e.Message}";
            if (DeploymentUtil.HasProgressDeadline(d))
            {
                DeploymentUtil.SetCondition(d.Status!, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "False",
                    DeploymentUtil.FailedReplicaSetCreateReason, message, now));
                await WriteStatusAsync(key, d, ct);
            }

            await _events.WarningAsync(d, DeploymentUtil.FailedReplicaSetCreateReason, message, ct);
            throw;
        }

        if (!alreadyExisted && DeploymentUtil.Replicas(created) > 0)
        {
            await _events.NormalAsync(d, "ScalingReplicaSet",
                $"Scaled up replica set {created.Metadata.Name} from 0 to {DeploymentUtil.Replicas(created)}", ct);
        }

        await SetDeploymentRevisionAsync(key, d, newRevision.ToString(CultureInfo.InvariantCulture), ct);
        if (!alreadyExisted && DeploymentUtil.HasProgressDeadline(d))
        {
            DeploymentUtil.SetCondition(d.Status!, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "True",
                DeploymentUtil.NewReplicaSetReason, $"Created new replica set \"{created.Metadata.Name}\"", now));
            await WriteStatusAsync(key, d, ct);
        }

        return created;
    }

    /// <summary>The ReplicaSet for the Deployment's current template: hash label in template and selector, controller reference.</summary>
    private static ReplicaSet NewReplicaSet(Deployment d)
    {
        var copy = Objects.Clone(d);
        var template = copy.Spec.Template;
        var hash = PodTemplateHash.Compute(template, d.Status?.CollisionCount);
        template.Metadata ??= new ObjectMeta();
        template.Metadata.Labels = new Dictionary<string, string>(template.Metadata.Labels ?? [], StringComparer.Ordinal) { [PodTemplateHash.Label] = hash };
        var selector = copy.Spec.Selector ?? new LabelSelector();
        selector.MatchLabels = new Dictionary<string, string>(selector.MatchLabels ?? [], StringComparer.Ordinal) { [PodTemplateHash.Label] = hash };
        return new ReplicaSet
        {
            Metadata = new ObjectMeta
            {
                Name = $"{d.Metadata.Name}-{hash}",
                Namespace = d.Metadata.Namespace,
                OwnerReferences = [Objects.ControllerReference(d, DeploymentType)],
                Labels = new Dictionary<string, string>(template.Metadata.Labels, StringComparer.Ordinal),
            },
            Spec = new ReplicaSetSpec
            {
                Replicas = 0,
                MinReadySeconds = d.Spec.MinReadySeconds,
                Selector = selector,
                Template = template,
            },
        };
    }

    /// <summary>Sets the Deployment's revision annotation (a metadata write; Verge's status writes touch status only).</summary>
    private async Task SetDeploymentRevisionAsync(string key, Deployment d, string? revision, CancellationToken ct)
    {
        if (revision is null || d.Metadata.Annotations?.GetValueOrDefault(DeploymentUtil.RevisionAnnotation) == revision)
        {
            return;
        }

        (d.Metadata.Annotations ??= [])[DeploymentUtil.RevisionAnnotation] = revision;
        var written = await _client.MutateAsync<Deployment>(d.Metadata.Namespace, d.Metadata.Name!, null, current =>
        {
            if (current.Metadata.Uid != d.Metadata.Uid || current.Metadata.Annotations?.GetValueOrDefault(DeploymentUtil.RevisionAnnotation) == revision)
            {
                return false;
            }

            (current.Metadata.Annotations ??= [])[DeploymentUtil.RevisionAnnotation] = revision;
            return true;
        }, ct);
        Record(key, _deployments, written);
    }

    // ---- scaling --------------------------------------------------------------------------------------------

    /// <summary>Whether a ReplicaSet's desired-replicas annotation disagrees with spec.replicas: the user scaled.</summary>
    private async Task<bool> IsScalingEventAsync(string key, Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRs, old) = await GetAllReplicaSetsAndSyncRevisionAsync(key, d, rsList, false, ct);
        var desired = DeploymentUtil.Replicas(d).ToString(CultureInfo.InvariantCulture);
        return DeploymentUtil.FilterActive([.. old, newRs]).Any(rs =>
            rs.Metadata.Annotations?.GetValueOrDefault(DeploymentUtil.DesiredReplicasAnnotation) is { } annotated && annotated != desired);
    }

    /// <summary>Scales without rolling: paused Deployments, scaling events, and Deployments being deleted (status only).</summary>
    private async Task SyncAsync(string key, Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRs, old) = await GetAllReplicaSetsAndSyncRevisionAsync(key, d, rsList, false, ct);
        if (d.Metadata.DeletionTimestamp is null)
        {
            await ScaleAsync(key, d, newRs, old, ct);
            if (d.Spec.Paused == true)
            {
                await CleanupAsync(key, d, old, ct);
            }
        }

        var status = DeploymentUtil.CalculateStatus([.. old, .. newRs is null ? Array.Empty<ReplicaSet>() : [newRs]], newRs, d, Objects.Now(Time));
        if (!DeploymentUtil.SameStatus(d.Status, status))
        {
            d.Status = status;
            await WriteStatusAsync(key, d, ct);
        }
    }

    /// <summary>Brings the ReplicaSets to the Deployment's size, proportionally when several are active (Kubernetes' scale).</summary>
    private async Task ScaleAsync(string key, Deployment d, ReplicaSet? newRs, List<ReplicaSet> old, CancellationToken ct)
    {
        if (DeploymentUtil.FindActiveOrLatest(newRs, old) is { } only)
        {
            if (DeploymentUtil.Replicas(only) != DeploymentUtil.Replicas(d))
            {
                await ScaleAndRecordAsync(key, only, DeploymentUtil.Replicas(d), d, ct);
            }

            return;
        }

        if (DeploymentUtil.IsSaturated(d, newRs))
        {
            foreach (var rs in DeploymentUtil.FilterActive(old))
            {
                await ScaleAndRecordAsync(key, rs, 0, d, ct);
            }

            return;
        }

        if (!DeploymentUtil.IsRollingUpdate(d))
        {
            return;
        }

        var all = DeploymentUtil.FilterActive([.. old, newRs]);
        var allowed = DeploymentUtil.Replicas(d) > 0 ? DeploymentUtil.Replicas(d) + DeploymentUtil.MaxSurge(d) : 0;
        var toAdd = allowed - DeploymentUtil.SpecReplicas(all);
        var operation = "";
        if (toAdd > 0)
        {
            all.Sort(DeploymentUtil.BySizeNewer);
            operation = "up";
        }
        else if (toAdd < 0)
        {
            all.Sort(DeploymentUtil.BySizeOlder);
            operation = "down";
        }

        var added = 0;
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var rs in all)
        {
            var proportion = toAdd != 0 ? DeploymentUtil.Proportion(rs, d, toAdd, added) : 0;
            sizes[rs.Metadata.Name!] = DeploymentUtil.Replicas(rs) + proportion;
            added += proportion;
        }

        for (var i = 0; i < all.Count; i++)
        {
            var rs = all[i];
            if (i == 0 && toAdd != 0)
            {
                // Leftovers go to the largest ReplicaSet.
                sizes[rs.Metadata.Name!] = Math.Max(sizes[rs.Metadata.Name!] + toAdd - added, 0);
            }

            await ScaleReplicaSetAsync(key, rs, sizes[rs.Metadata.Name!], d, operation, ct);
        }
    }

    private async Task<(bool Scaled, ReplicaSet ReplicaSet)> ScaleAndRecordAsync(string key, ReplicaSet rs, int newScale, Deployment d, CancellationToken ct)
    {
        if (DeploymentUtil.Replicas(rs) == newScale)
        {
            return (false, rs);
        }

        return await ScaleReplicaSetAsync(key, rs, newScale, d, DeploymentUtil.Replicas(rs) < newScale ? "up" : "down", ct);
    }

    /// <summary>Writes a ReplicaSet's size and replica annotations (pinned to the version read) and records a ScalingReplicaSet event.</summary>
    private async Task<(bool Scaled, ReplicaSet ReplicaSet)> ScaleReplicaSetAsync(string key, ReplicaSet rs, int newScale, Deployment d, string operation, CancellationToken ct)
    {
        var sizeChanged = DeploymentUtil.Replicas(rs) != newScale;
        var copy = Objects.Clone(rs);
        var annotationsChanged = DeploymentUtil.SetReplicasAnnotations(copy, DeploymentUtil.Replicas(d), DeploymentUtil.Replicas(d) + DeploymentUtil.MaxSurge(d));
        if (!sizeChanged && !annotationsChanged)
        {
            return (false, rs);
        }

        var oldScale = DeploymentUtil.Replicas(rs);
        copy.Spec.Replicas = newScale;
        var updated = await _client.UpdateAsync(copy, ct);
        Record(key, _replicaSets, updated);
        if (sizeChanged)
        {
            await _events.NormalAsync(d, "ScalingReplicaSet", $"Scaled {operation} replica set {rs.Metadata.Name} to {newScale} from {oldScale}", ct);
        }

        return (sizeChanged, updated);
    }

    // ---- rolling update -------------------------------------------------------------------------------------

    private async Task<TimeSpan?> RolloutRollingAsync(string key, Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRs, old) = await GetAllReplicaSetsAndSyncRevisionAsync(key, d, rsList, true, ct);
        var all = new List<ReplicaSet>([.. old, newRs!]);
        if (await ReconcileNewReplicaSetAsync(key, all, newRs!, d, ct))
        {
            return await SyncRolloutStatusAsync(key, all, newRs, d, ct);
        }

        if (await ReconcileOldReplicaSetsAsync(key, all, DeploymentUtil.FilterActive(old), newRs!, d, ct))
        {
            return await SyncRolloutStatusAsync(key, all, newRs, d, ct);
        }

        if (DeploymentUtil.IsComplete(d, d.Status!))
        {
            await CleanupAsync(key, d, old, ct);
        }

        return await SyncRolloutStatusAsync(key, all, newRs, d, ct);
    }

    private async Task<bool> ReconcileNewReplicaSetAsync(string key, List<ReplicaSet> all, ReplicaSet newRs, Deployment d, CancellationToken ct)
    {
        var desired = DeploymentUtil.Replicas(d);
        if (DeploymentUtil.Replicas(newRs) == desired)
        {
            return false;
        }

        if (DeploymentUtil.Replicas(newRs) > desired)
        {
            return (await ScaleAndRecordAsync(key, newRs, desired, d, ct)).Scaled;
        }

        var count = DeploymentUtil.NewReplicaSetReplicas(d, all, newRs);
        return (await ScaleAndRecordAsync(key, newRs, count, d, ct)).Scaled;
    }

    private async Task<bool> ReconcileOldReplicaSetsAsync(string key, List<ReplicaSet> all, List<ReplicaSet> oldActive, ReplicaSet newRs, Deployment d, CancellationToken ct)
    {
        if (DeploymentUtil.SpecReplicas(oldActive) == 0)
        {
            return false;
        }

        var minAvailable = DeploymentUtil.Replicas(d) - DeploymentUtil.MaxUnavailable(d);
        var newUnavailable = DeploymentUtil.Replicas(newRs) - (newRs.Status?.AvailableReplicas ?? 0);
        var maxScaledDown = DeploymentUtil.SpecReplicas(all) - minAvailable - newUnavailable;
        if (maxScaledDown <= 0)
        {
            return false;
        }

        // Unhealthy old replicas go first: they cost no availability.
        var cleaned = await CleanupUnhealthyReplicasAsync(key, oldActive, d, maxScaledDown, ct);
        var scaledDown = await ScaleDownOldReplicaSetsAsync(key, [.. oldActive, newRs], oldActive, d, ct);
        return cleaned + scaledDown > 0;
    }

    private async Task<int> CleanupUnhealthyReplicasAsync(string key, List<ReplicaSet> old, Deployment d, int maxCleanup, CancellationToken ct)
    {
        old.Sort(DeploymentUtil.ByCreation);
        var total = 0;
        for (var i = 0; i < old.Count && total < maxCleanup; i++)
        {
            var rs = old[i];
            var available = rs.Status?.AvailableReplicas ?? 0;
            if (DeploymentUtil.Replicas(rs) == 0 || DeploymentUtil.Replicas(rs) == available)
            {
                continue;
            }

            var count = Math.Min(maxCleanup - total, DeploymentUtil.Replicas(rs) - available);
            var (_, updated) = await ScaleAndRecordAsync(key, rs, DeploymentUtil.Replicas(rs) - count, d, ct);
            old[i] = updated;
            total += count;
        }

        return total;
    }

    private async Task<int> ScaleDownOldReplicaSetsAsync(string key, List<ReplicaSet> all, List<ReplicaSet> old, Deployment d, CancellationToken ct)
    {
        var minAvailable = DeploymentUtil.Replicas(d) - DeploymentUtil.MaxUnavailable(d);
        var availableCount = DeploymentUtil.AvailableReplicas(all);
        if (availableCount <= minAvailable)
        {
            return 0;
        }

        old.Sort(DeploymentUtil.ByCreation);
        var target = availableCount - minAvailable;
        var total = 0;
        foreach (var rs in old)
        {
            if (total >= target)
            {
                break;
            }

            if (DeploymentUtil.Replicas(rs) == 0)
            {
                continue;
            }

            var count = Math.Min(DeploymentUtil.Replicas(rs), target - total);
            await ScaleAndRecordAsync(key, rs, DeploymentUtil.Replicas(rs) - count, d, ct);
            total += count;
        }

        return total;
    }

    // ---- recreate -------------------------------------------------------------------------------------------

    private async Task<TimeSpan?> RolloutRecreateAsync(string key, Deployment d, List<ReplicaSet> rsList, CancellationToken ct)
    {
        var (newRs, old) = await GetAllReplicaSetsAndSyncRevisionAsync(key, d, rsList, false, ct);
        var all = new List<ReplicaSet>([.. old, .. newRs is null ? Array.Empty<ReplicaSet>() : [newRs]]);
        var scaledDown = false;
        foreach (var rs in DeploymentUtil.FilterActive(old))
        {
            scaledDown |= (await ScaleAndRecordAsync(key, rs, 0, d, ct)).Scaled;
        }

        if (scaledDown || OldPodsRunning(newRs, old))
        {
            return await SyncRolloutStatusAsync(key, all, newRs, d, ct);
        }

        if (newRs is null)
        {
            (newRs, old) = await GetAllReplicaSetsAndSyncRevisionAsync(key, d, rsList, true, ct);
            all = [.. old, newRs!];
        }

        await ScaleAndRecordAsync(key, newRs!, DeploymentUtil.Replicas(d), d, ct);
        if (DeploymentUtil.IsComplete(d, d.Status!))
        {
            await CleanupAsync(key, d, old, ct);
        }

        return await SyncRolloutStatusAsync(key, all, newRs, d, ct);
    }

    /// <summary>Whether any pod of an old ReplicaSet is still there and not finished (Recreate waits for them).</summary>
    private bool OldPodsRunning(ReplicaSet? newRs, List<ReplicaSet> old)
    {
        if (DeploymentUtil.StatusReplicas(old) > 0)
        {
            return true;
        }

        var oldUids = old.Select(rs => rs.Metadata.Uid!).ToHashSet(StringComparer.Ordinal);
        return oldUids.Count > 0 && old.Count > 0 && _pods.List(old[0].Metadata.Namespace).Any(pod =>
            Objects.ControllerOf(pod) is { } owner && oldUids.Contains(owner.Uid) && owner.Uid != newRs?.Metadata.Uid
            && pod.Status?.Phase is not ("Succeeded" or "Failed"));
    }

    // ---- history, pause, status -----------------------------------------------------------------------------

    /// <summary>Deletes the oldest ReplicaSets beyond revisionHistoryLimit that are scaled to zero and settled.</summary>
    private async Task CleanupAsync(string key, Deployment d, List<ReplicaSet> old, CancellationToken ct)
    {
        if (d.Spec.RevisionHistoryLimit is not { } limit)
        {
            return;
        }

        var cleanable = old.Where(rs => rs.Metadata.DeletionTimestamp is null).ToList();
        var diff = cleanable.Count - limit;
        if (diff <= 0)
        {
            return;
        }

        cleanable.Sort(DeploymentUtil.ByRevision);
        foreach (var rs in cleanable.Take(diff))
        {
            if ((rs.Status?.Replicas ?? 0) != 0 || DeploymentUtil.Replicas(rs) != 0
                || (rs.Metadata.Generation ?? 0) > (rs.Status?.ObservedGeneration ?? 0))
            {
                continue;
            }

            LogCleanup(_logger, key, rs.Metadata.Name!);
            var deleted = await _client.DeleteAsync(rs, ct);
            Record(key, _replicaSets, deleted);
        }
    }

    /// <summary>Marks the Progressing condition paused or resumed (unless the rollout already timed out).</summary>
    private async Task CheckPausedConditionsAsync(string key, Deployment d, CancellationToken ct)
    {
        if (!DeploymentUtil.HasProgressDeadline(d))
        {
            return;
        }

        var condition = DeploymentUtil.Condition(d.Status, DeploymentUtil.Progressing);
        if (condition?.Reason == DeploymentUtil.TimedOutReason)
        {
            return;
        }

        var pausedShown = condition?.Reason == DeploymentUtil.PausedReason;
        var now = Objects.Now(Time);
        if (d.Spec.Paused == true && !pausedShown)
        {
            DeploymentUtil.SetCondition(d.Status!, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "Unknown", DeploymentUtil.PausedReason, "Deployment is paused", now));
        }
        else if (d.Spec.Paused != true && pausedShown)
        {
            DeploymentUtil.SetCondition(d.Status!, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "Unknown", DeploymentUtil.ResumedReason, "Deployment is resumed", now));
        }
        else
        {
            return;
        }

        await WriteStatusAsync(key, d, ct);
    }

    /// <summary>Status plus the Progressing condition of a rollout; returns when to look again for a progress deadline.</summary>
    private async Task<TimeSpan?> SyncRolloutStatusAsync(string key, List<ReplicaSet> all, ReplicaSet? newRs, Deployment d, CancellationToken ct)
    {
        var now = Objects.Now(Time);
        var status = DeploymentUtil.CalculateStatus(all, newRs, d, now);
        if (!DeploymentUtil.HasProgressDeadline(d))
        {
            DeploymentUtil.RemoveCondition(status, DeploymentUtil.Progressing);
        }

        var current = DeploymentUtil.Condition(d.Status, DeploymentUtil.Progressing);
        var complete = status.Replicas == status.UpdatedReplicas && current?.Reason == DeploymentUtil.NewReplicaSetAvailableReason;
        if (DeploymentUtil.HasProgressDeadline(d) && !complete)
        {
            var subject = newRs is null ? $"Deployment \"{d.Metadata.Name}\"" : $"ReplicaSet \"{newRs.Metadata.Name}\"";
            if (DeploymentUtil.IsComplete(d, status))
            {
                DeploymentUtil.SetCondition(status, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "True",
                    DeploymentUtil.NewReplicaSetAvailableReason, $"{subject} has successfully progressed.", now));
            }
            else if (DeploymentUtil.IsProgressing(d, status))
            {
                var condition = DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "True",
                    DeploymentUtil.ReplicaSetUpdatedReason, $"{subject} is progressing.", now);
                if (current is not null)
                {
                    if (current.Status == "True")
                    {
                        condition.LastTransitionTime = current.LastTransitionTime;
                    }

                    DeploymentUtil.RemoveCondition(status, DeploymentUtil.Progressing);
                }

                DeploymentUtil.SetCondition(status, condition);
            }
            else if (DeploymentUtil.IsTimedOut(d, status, now))
            {
                DeploymentUtil.SetCondition(status, DeploymentUtil.NewCondition(DeploymentUtil.Progressing, "False",
                    DeploymentUtil.TimedOutReason, $"{subject} has timed out progressing.", now));
            }
        }

        var failure = all.Concat(newRs is null ? [] : [newRs])
            .SelectMany(rs => rs.Status?.Conditions ?? [])
            .FirstOrDefault(c => c.Type == DeploymentUtil.ReplicaFailure && c.Status == "True");
        if (failure is not null)
        {
            DeploymentUtil.SetCondition(status, new DeploymentCondition
            {
                Type = DeploymentUtil.ReplicaFailure,
                Status = failure.Status,
                Reason = failure.Reason,
                Message = failure.Message,
                LastUpdateTime = failure.LastTransitionTime,
                LastTransitionTime = failure.LastTransitionTime,
            });
        }
        else
        {
            DeploymentUtil.RemoveCondition(status, DeploymentUtil.ReplicaFailure);
        }

        if (DeploymentUtil.SameStatus(d.Status, status))
        {
            return RequeueIfStuck(d, status);
        }

        d.Status = status;
        await WriteStatusAsync(key, d, ct);
        return null;
    }

    /// <summary>When a rollout shows no progress, look again once its progress deadline has passed.</summary>
    private TimeSpan? RequeueIfStuck(Deployment d, DeploymentStatus status)
    {
        var current = DeploymentUtil.Condition(d.Status, DeploymentUtil.Progressing);
        if (!DeploymentUtil.HasProgressDeadline(d) || current is null
            || DeploymentUtil.IsComplete(d, status) || current.Reason == DeploymentUtil.TimedOutReason)
        {
            return null;
        }

        var after = (current.LastUpdateTime ?? Time.GetUtcNow()) + TimeSpan.FromSeconds(d.Spec.ProgressDeadlineSeconds!.Value) - Time.GetUtcNow();
        return after < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : after + TimeSpan.FromSeconds(1);
    }

    private async Task WriteStatusAsync(string key, Deployment d, CancellationToken ct)
    {
        var status = d.Status;
        var written = await _client.MutateAsync<Deployment>(d.Metadata.Namespace, d.Metadata.Name!, "status", current =>
        {
            if (current.Metadata.Uid != d.Metadata.Uid)
            {
                return false;
            }

            current.Status = status;
            return true;
        }, ct);
        Record(key, _deployments, written);
    }

    private void Record(string key, IInformer informer, KubeObject? written)
    {
        if (written is not null)
        {
            RecordWrite(key, informer, Objects.RevisionOf(written));
        }
    }

    // ---- event handlers -------------------------------------------------------------------------------------

    private void OnPodDeleted(Pod pod)
    {
        // Recreate waits for the old pods to be gone: look again when one goes.
        if (Objects.ControllerOf(pod) is { Kind: "ReplicaSet" } reference
            && _replicaSets.Get(pod.Metadata.Namespace, reference.Name) is { } rs && rs.Metadata.Uid == reference.Uid
            && _owners.OwnerOf(rs) is { } d && !DeploymentUtil.IsRollingUpdate(d))
        {
            Enqueue(Objects.KeyOf(d));
        }
    }

    [LoggerMessage(EventId = 4501, Level = LogLevel.Warning, Message = "Deployment {Key} has an invalid selector: {Reason}")]
    private static partial void LogBadSelector(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Information, Message = "Deployment {Key}: hash collision on {ReplicaSet}; raising collisionCount")]
    private static partial void LogHashCollision(ILogger logger, string key, string replicaSet);

    [LoggerMessage(EventId = 4503, Level = LogLevel.Information, Message = "Deployment {Key}: removing old ReplicaSet {ReplicaSet} beyond the revision history limit")]
    private static partial void LogCleanup(ILogger logger, string key, string replicaSet);
}
