using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Serialization;

namespace Verge.Controllers.Deployments;

/// <summary>
/// The pure rules of the Deployment controller, as Kubernetes' <c>deployment/util</c> package states them:
/// annotations, revisions, surge and unavailability bounds, proportional scaling, status and conditions.
/// </summary>
internal static class DeploymentUtil
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    public const string RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
    public const string DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
    public const string MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
    public const string LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";
    public const string RollbackToAnnotation = "deprecated.deployment.rollback.to";
    public const int MaxRevisionHistoryLength = 2000;

    // Condition types and reasons that kubectl and users read.
    public const string Available = "Available";
    public const string Progressing = "Progressing";
    public const string ReplicaFailure = "ReplicaFailure";
    public const string MinimumReplicasAvailable = "MinimumReplicasAvailable";
    public const string MinimumReplicasUnavailable = "MinimumReplicasUnavailable";
    public const string NewReplicaSetReason = "NewReplicaSetCreated";
    public const string FoundNewReplicaSetReason = "FoundNewReplicaSet";
    public const string ReplicaSetUpdatedReason = "ReplicaSetUpdated";
    public const string NewReplicaSetAvailableReason = "NewReplicaSetAvailable";
    public const string TimedOutReason = "ProgressDeadlineExceeded";
    public const string FailedReplicaSetCreateReason = "ReplicaSetCreateError";
    public const string PausedReason = "DeploymentPaused";
    public const string ResumedReason = "DeploymentResumed";

    private static readonly HashSet<string> AnnotationsToSkip = new(StringComparer.Ordinal)
    {
        LastAppliedAnnotation, RevisionAnnotation, RevisionHistoryAnnotation, DesiredReplicasAnnotation, MaxReplicasAnnotation, RollbackToAnnotation,
    };

    public static int Replicas(Deployment d) => d.Spec.Replicas ?? 1;

    public static int Replicas(ReplicaSet rs) => rs.Spec.Replicas ?? 1;

    public static bool IsRollingUpdate(Deployment d) => d.Spec.Strategy?.Type is null or "RollingUpdate";

    public static bool HasProgressDeadline(Deployment d) => d.Spec.ProgressDeadlineSeconds is { } s && s != int.MaxValue;

    /// <summary>
    /// maxSurge and maxUnavailable against the desired count: surge rounded up, unavailable rounded down, and when
    /// both come to zero, one unavailable so that the rollout can move (Kubernetes' ResolveFenceposts).
    /// </summary>
    public static (int Surge, int Unavailable) ResolveFenceposts(Verge.Core.Quantities.IntOrString? maxSurge, Verge.Core.Quantities.IntOrString? maxUnavailable, int desired)
    {
        var surge = (maxSurge ?? 0).GetScaledValue(desired, roundUp: true);
        var unavailable = (maxUnavailable ?? 0).GetScaledValue(desired, roundUp: false);
        return surge == 0 && unavailable == 0 ? (0, 1) : (surge, unavailable);
    }

    public static int MaxSurge(Deployment d) =>
        IsRollingUpdate(d) ? ResolveFenceposts(d.Spec.Strategy?.RollingUpdate?.MaxSurge, d.Spec.Strategy?.RollingUpdate?.MaxUnavailable, Replicas(d)).Surge : 0;

    public static int MaxUnavailable(Deployment d)
    {
        if (!IsRollingUpdate(d) || Replicas(d) == 0)
        {
            return 0;
        }

        var (_, unavailable) = ResolveFenceposts(d.Spec.Strategy?.RollingUpdate?.MaxSurge, d.Spec.Strategy?.RollingUpdate?.MaxUnavailable, Replicas(d));
        return Math.Min(unavailable, Replicas(d));
    }

    /// <summary>Whether two templates are equal once the pod-template-hash label is ignored.</summary>
    public static bool EqualIgnoreHash(PodTemplateSpec a, PodTemplateSpec b) => JsonNode.DeepEquals(WithoutHash(a), WithoutHash(b));

    private static JsonObject WithoutHash(PodTemplateSpec template)
    {
        var node = JsonSerializer.SerializeToNode(template, VergeJson.Options.GetTypeInfo(typeof(PodTemplateSpec)))!.AsObject();
        if (node["metadata"] is JsonObject meta)
        {
            if (meta["labels"] is JsonObject labels)
            {
                labels.Remove(PodTemplateHash.Label);
                if (labels.Count == 0)
                {
                    meta.Remove("labels");
                }
            }

            if (meta.Count == 0)
            {
                node.Remove("metadata");
            }
        }

        return node;
    }

    public static long Revision(ReplicaSet rs) =>
        rs.Metadata.Annotations?.GetValueOrDefault(RevisionAnnotation) is { } text
        && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ? revision : 0;

    public static long MaxRevision(IEnumerable<ReplicaSet> replicaSets) => replicaSets.Select(Revision).DefaultIfEmpty(0).Max();

    /// <summary>ReplicaSets by creation time, then name (Kubernetes' ReplicaSetsByCreationTimestamp).</summary>
    public static int ByCreation(ReplicaSet a, ReplicaSet b)
    {
        var ta = a.Metadata.CreationTimestamp ?? DateTimeOffset.MinValue;
        var tb = b.Metadata.CreationTimestamp ?? DateTimeOffset.MinValue;
        return ta != tb ? ta.CompareTo(tb) : string.CompareOrdinal(a.Metadata.Name, b.Metadata.Name);
    }

    /// <summary>Larger first; among equals, newer first (scaling up).</summary>
    public static int BySizeNewer(ReplicaSet a, ReplicaSet b) =>
        Replicas(a) != Replicas(b) ? Replicas(b).CompareTo(Replicas(a)) : ByCreation(b, a);

    /// <summary>Larger first; among equals, older first (scaling down).</summary>
    public static int BySizeOlder(ReplicaSet a, ReplicaSet b) =>
        Replicas(a) != Replicas(b) ? Replicas(b).CompareTo(Replicas(a)) : ByCreation(a, b);

    /// <summary>By revision, then creation (which old ReplicaSets history cleanup removes first).</summary>
    public static int ByRevision(ReplicaSet a, ReplicaSet b)
    {
        var ra = Revision(a);
        var rb = Revision(b);
        return ra != rb ? ra.CompareTo(rb) : ByCreation(a, b);
    }

    /// <summary>The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash label).</summary>
    public static ReplicaSet? FindNewReplicaSet(Deployment d, IEnumerable<ReplicaSet> replicaSets)
    {
        var sorted = replicaSets.ToList();
        sorted.Sort(ByCreation);
        return sorted.FirstOrDefault(rs => EqualIgnoreHash(rs.Spec.Template, d.Spec.Template));
    }

    public static List<ReplicaSet> FilterActive(IEnumerable<ReplicaSet?> replicaSets) => [.. replicaSets.OfType<ReplicaSet>().Where(rs => Replicas(rs) > 0)];

    public static int SpecReplicas(IEnumerable<ReplicaSet?> replicaSets) => replicaSets.OfType<ReplicaSet>().Sum(Replicas);

    public static int StatusReplicas(IEnumerable<ReplicaSet?> replicaSets) => replicaSets.OfType<ReplicaSet>().Sum(rs => rs.Status?.Replicas ?? 0);

    public static int ReadyReplicas(IEnumerable<ReplicaSet?> replicaSets) => replicaSets.OfType<ReplicaSet>().Sum(rs => rs.Status?.ReadyReplicas ?? 0);

    public static int AvailableReplicas(IEnumerable<ReplicaSet?> replicaSets) => replicaSets.OfType<ReplicaSet>().Sum(rs => rs.Status?.AvailableReplicas ?? 0);

    /// <summary>The only active ReplicaSet, or the newest when none is active, or null when several are (Kubernetes' FindActiveOrLatest).</summary>
    public static ReplicaSet? FindActiveOrLatest(ReplicaSet? newRs, List<ReplicaSet> oldRss)
    {
        if (newRs is null && oldRss.Count == 0)
        {
            return null;
        }

        var sorted = oldRss.ToList();
        sorted.Sort((a, b) => ByCreation(b, a));
        var active = FilterActive([.. sorted, newRs]);
        return active.Count switch
        {
            0 => newRs ?? sorted[0],
            1 => active[0],
            _ => null,
        };
    }

    /// <summary>Whether the new ReplicaSet runs everything the Deployment wants, all available.</summary>
    public static bool IsSaturated(Deployment d, ReplicaSet? rs) =>
        rs is not null
        && rs.Metadata.Annotations?.GetValueOrDefault(DesiredReplicasAnnotation) == Replicas(d).ToString(CultureInfo.InvariantCulture)
        && Replicas(rs) == Replicas(d)
        && (rs.Status?.AvailableReplicas ?? 0) == Replicas(d);

    /// <summary>How far the new ReplicaSet may grow now: to the desired count under maxSurge (RollingUpdate), or at once (Recreate).</summary>
    public static int NewReplicaSetReplicas(Deployment d, IEnumerable<ReplicaSet?> all, ReplicaSet newRs)
    {
        if (!IsRollingUpdate(d))
        {
            return Replicas(d);
        }

        var current = SpecReplicas(all);
        var maxTotal = Replicas(d) + MaxSurge(d);
        if (current >= maxTotal)
        {
            return Replicas(newRs);
        }

        var scaleUp = Math.Min(maxTotal - current, Replicas(d) - Replicas(newRs));
        return Replicas(newRs) + scaleUp;
    }

    /// <summary>The share of a proportional scale that falls to <paramref name="rs"/> (Kubernetes' GetProportion).</summary>
    public static int Proportion(ReplicaSet rs, Deployment d, int toAdd, int added)
    {
        if (Replicas(rs) == 0 || toAdd == 0 || toAdd == added)
        {
            return 0;
        }

        var fraction = Fraction(rs, d);
        var allowed = toAdd - added;
        return toAdd > 0 ? Math.Min(fraction, allowed) : Math.Max(fraction, allowed);
    }

    private static int Fraction(ReplicaSet rs, Deployment d)
    {
        if (Replicas(d) == 0)
        {
            return -Replicas(rs);
        }

        var maxReplicas = Replicas(d) + MaxSurge(d);
        var before = rs.Metadata.Annotations?.GetValueOrDefault(MaxReplicasAnnotation) is { } text
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
        if (before == 0)
        {
            before = d.Status?.Replicas ?? 0;
        }

        if (before == 0)
        {
            return 0;
        }

        var size = (double)maxReplicas * Replicas(rs) / before;
        return (int)Math.Round(size, MidpointRounding.AwayFromZero) - Replicas(rs);
    }

    /// <summary>Sets desired-replicas and max-replicas; true when either changed.</summary>
    public static bool SetReplicasAnnotations(ReplicaSet rs, int desired, int max)
    {
        var annotations = rs.Metadata.Annotations ??= [];
        var desiredText = desired.ToString(CultureInfo.InvariantCulture);
        var maxText = max.ToString(CultureInfo.InvariantCulture);
        var changed = false;
        if (annotations.GetValueOrDefault(DesiredReplicasAnnotation) != desiredText)
        {
            annotations[DesiredReplicasAnnotation] = desiredText;
            changed = true;
        }

        if (annotations.GetValueOrDefault(MaxReplicasAnnotation) != maxText)
        {
            annotations[MaxReplicasAnnotation] = maxText;
            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// Copies the Deployment's own annotations to the new ReplicaSet and raises its revision to
    /// <paramref name="newRevision"/>, keeping the revisions it had in revision-history (a rollback reuses an old
    /// ReplicaSet); a ReplicaSet about to be created also gets the replica annotations. True when anything changed.
    /// </summary>
    public static bool SetNewReplicaSetAnnotations(Deployment d, ReplicaSet rs, long newRevision, bool exists)
    {
        var changed = CopyAnnotations(d, rs);
        var annotations = rs.Metadata.Annotations ??= [];
        var had = annotations.TryGetValue(RevisionAnnotation, out var oldText);
        long oldRevision = 0;
        if (had && !long.TryParse(oldText, NumberStyles.None, CultureInfo.InvariantCulture, out oldRevision))
        {
            return changed;
        }

        if (oldRevision < newRevision)
        {
            annotations[RevisionAnnotation] = newRevision.ToString(CultureInfo.InvariantCulture);
            changed = true;
            if (had)
            {
                var history = annotations.GetValueOrDefault(RevisionHistoryAnnotation) ?? "";
                var revisions = history.Length == 0 ? [] : history.Split(',').ToList();
                revisions.Add(oldText!);
                while (revisions.Count > 1 && string.Join(',', revisions).Length > MaxRevisionHistoryLength)
                {
                    revisions.RemoveAt(0);
                }

                annotations[RevisionHistoryAnnotation] = string.Join(',', revisions);
            }
        }

        if (!exists && SetReplicasAnnotations(rs, Replicas(d), Replicas(d) + MaxSurge(d)))
        {
            changed = true;
        }

        return changed;
    }

    private static bool CopyAnnotations(Deployment d, ReplicaSet rs)
    {
        var changed = false;
        foreach (var (key, value) in d.Metadata.Annotations ?? [])
        {
            if (AnnotationsToSkip.Contains(key) || rs.Metadata.Annotations?.GetValueOrDefault(key) == value)
            {
                continue;
            }

            (rs.Metadata.Annotations ??= [])[key] = value;
            changed = true;
        }

        return changed;
    }

    public static DeploymentCondition? Condition(DeploymentStatus? status, string type) => status?.Conditions?.FirstOrDefault(c => c.Type == type);

    public static DeploymentCondition NewCondition(string type, string status, string reason, string message, DateTimeOffset now) => new()
    {
        Type = type,
        Status = status,
        Reason = reason,
        Message = message,
        LastUpdateTime = now,
        LastTransitionTime = now,
    };

    /// <summary>Sets a condition, keeping the old one when status and reason are unchanged and its transition time when only the reason changed.</summary>
    public static void SetCondition(DeploymentStatus status, DeploymentCondition condition)
    {
        var current = Condition(status, condition.Type);
        if (current is not null && current.Status == condition.Status && current.Reason == condition.Reason)
        {
            return;
        }

        if (current is not null && current.Status == condition.Status)
        {
            condition.LastTransitionTime = current.LastTransitionTime;
        }

        status.Conditions = [.. (status.Conditions ?? []).Where(c => c.Type != condition.Type), condition];
    }

    public static void RemoveCondition(DeploymentStatus status, string type)
    {
        if (status.Conditions is not null)
        {
            status.Conditions = [.. status.Conditions.Where(c => c.Type != type)];
        }
    }

    /// <summary>The counters and the Available condition of a Deployment over its ReplicaSets (Kubernetes' calculateStatus).</summary>
    public static DeploymentStatus CalculateStatus(List<ReplicaSet> all, ReplicaSet? newRs, Deployment d, DateTimeOffset now)
    {
        var available = AvailableReplicas(all);
        var status = new DeploymentStatus
        {
            ObservedGeneration = d.Metadata.Generation,
            Replicas = StatusReplicas(all),
            UpdatedReplicas = StatusReplicas([newRs]),
            ReadyReplicas = ReadyReplicas(all),
            AvailableReplicas = available,
            UnavailableReplicas = Math.Max(SpecReplicas(all) - available, 0),
            CollisionCount = d.Status?.CollisionCount,
            Conditions = d.Status?.Conditions?.Select(Copy).ToList(),
        };
        if (available >= Replicas(d) - MaxUnavailable(d))
        {
            SetCondition(status, NewCondition(Available, "True", MinimumReplicasAvailable, "Deployment has minimum availability.", now));
        }
        else
        {
            SetCondition(status, NewCondition(Available, "False", MinimumReplicasUnavailable, "Deployment does not have minimum availability.", now));
        }

        return status;
    }

    /// <summary>All replicas updated and available, and the newest generation observed.</summary>
    public static bool IsComplete(Deployment d, DeploymentStatus status) =>
        status.UpdatedReplicas == Replicas(d) && status.Replicas == Replicas(d) && status.AvailableReplicas == Replicas(d)
        && (status.ObservedGeneration ?? 0) >= (d.Metadata.Generation ?? 0);

    /// <summary>Whether the new status shows progress over the Deployment's current one.</summary>
    public static bool IsProgressing(Deployment d, DeploymentStatus status)
    {
        var old = d.Status ?? new DeploymentStatus();
        var oldOld = (old.Replicas ?? 0) - (old.UpdatedReplicas ?? 0);
        var newOld = (status.Replicas ?? 0) - (status.UpdatedReplicas ?? 0);
        return (status.UpdatedReplicas ?? 0) > (old.UpdatedReplicas ?? 0) || newOld < oldOld
            || (status.ReadyReplicas ?? 0) > (old.ReadyReplicas ?? 0) || (status.AvailableReplicas ?? 0) > (old.AvailableReplicas ?? 0);
    }

    /// <summary>Whether the rollout has made no progress for progressDeadlineSeconds.</summary>
    public static bool IsTimedOut(Deployment d, DeploymentStatus status, DateTimeOffset now)
    {
        if (!HasProgressDeadline(d) || Condition(status, Progressing) is not { } condition || condition.Reason == NewReplicaSetAvailableReason)
        {
            return false;
        }

        return condition.Reason == TimedOutReason
            || (condition.LastUpdateTime ?? now) + TimeSpan.FromSeconds(d.Spec.ProgressDeadlineSeconds!.Value) < now;
    }

    public static DeploymentCondition Copy(DeploymentCondition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        Reason = c.Reason,
        Message = c.Message,
        LastUpdateTime = c.LastUpdateTime,
        LastTransitionTime = c.LastTransitionTime,
    };

    public static bool SameStatus(DeploymentStatus? a, DeploymentStatus? b)
    {
        var info = VergeJson.Options.GetTypeInfo(typeof(DeploymentStatus));
        return JsonSerializer.Serialize(a, info) == JsonSerializer.Serialize(b, info);
    }
}
