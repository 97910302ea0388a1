using Verge.Controllers.ReplicaSets;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Quantities;

namespace Verge.Controllers.Disruption;

/// <summary>A pod's controller and how many replicas it wants, as the disruption controller counts expected pods.</summary>
internal readonly record struct ControllerScale(string Uid, int Replicas);

/// <summary>
/// What one sync of a PodDisruptionBudget computes: the status to write (or null when <see cref="Error"/> says why it
/// could not be computed), the pods that have no controller, the pods whose eviction was allowed but that were not
/// deleted in time, and when to look again for the next entry of <c>status.disruptedPods</c> to expire.
/// </summary>
internal sealed record DisruptionSync(
    PodDisruptionBudgetStatus? Status,
    string? Error,
    IReadOnlyList<string> Unmanaged,
    IReadOnlyList<Pod> NotDeleted,
    DateTimeOffset? RecheckAt);

/// <summary>
/// The pure core of the disruption controller, after Kubernetes' <c>pkg/controller/disruption</c>: from a budget, the
/// pods its selector matches and a way to find each pod's controller and its scale, the budget's status.
/// <list type="bullet">
/// <item>expectedPods: with <c>maxUnavailable</c>, or a percentage <c>minAvailable</c>, the sum of the scales of the
/// pods' controllers (each counted once; pods without a controller are left out and reported); with an integer
/// <c>minAvailable</c>, the number of matching pods.</item>
/// <item>desiredHealthy: <c>expectedPods - maxUnavailable</c> (at least 0; a percentage rounded up), or
/// <c>minAvailable</c> (a percentage of expectedPods, rounded up).</item>
/// <item>currentHealthy: matching pods that are Ready, not being deleted, and not in <c>disruptedPods</c>.</item>
/// <item>disruptionsAllowed: <c>currentHealthy - desiredHealthy</c>, at least 0, and 0 while no pod is expected.</item>
/// <item>disruptedPods: the entries of pods that are not being deleted yet and were recorded less than
/// <see cref="DisruptionBudgets.DeletionTimeout"/> ago; an older entry is dropped (the pod counts again).</item>
/// </list>
/// </summary>
internal static class DisruptionPlanner
{
    /// <summary>
    /// Computes the sync. <paramref name="scaleOf"/> gets a pod's controller reference and namespace and returns the
    /// controller's uid and scale, or throws <see cref="InvalidOperationException"/> with Kubernetes' words when the
    /// controller's kind has no scale.
    /// </summary>
    public static DisruptionSync Sync(PodDisruptionBudget pdb, IReadOnlyList<Pod> pods, Func<OwnerReference, string?, ControllerScale?> scaleOf, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(scaleOf);
        int expected, desired;
        var unmanaged = new List<string>();
        try
        {
            (expected, desired) = ExpectedAndDesired(pdb, pods, scaleOf, unmanaged);
        }
        catch (InvalidOperationException e)
        {
            return new DisruptionSync(null, e.Message, unmanaged, [], null);
        }

        var (disrupted, notDeleted, recheckAt) = DisruptedPods(pdb, pods, now);
        var current = pods.Count(p => p.Metadata.DeletionTimestamp is null && !disrupted.ContainsKey(p.Metadata.Name!) && PodState.IsReady(p));
        var allowed = expected <= 0 ? 0 : Math.Max(0, current - desired);
        var status = new PodDisruptionBudgetStatus
        {
            ObservedGeneration = pdb.Metadata.Generation,
            DisruptedPods = disrupted.Count == 0 ? null : disrupted,
            DisruptionsAllowed = allowed,
            CurrentHealthy = current,
            DesiredHealthy = desired,
            ExpectedPods = expected,
            Conditions = pdb.Status?.Conditions?.Select(Copy).ToList(),
        };
        DisruptionBudgets.UpdateDisruptionAllowedCondition(status, now);
        return new DisruptionSync(status, null, unmanaged, notDeleted, recheckAt);
    }

    /// <summary>
    /// The status Kubernetes' failSafe writes when a sync fails: the stored counts with no disruption allowed and the
    /// DisruptionAllowed condition False with reason SyncFailed and the error as its message.
    /// </summary>
    public static PodDisruptionBudgetStatus FailSafe(PodDisruptionBudget pdb, string error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        var old = pdb.Status ?? new PodDisruptionBudgetStatus();
        var status = new PodDisruptionBudgetStatus
        {
            ObservedGeneration = old.ObservedGeneration,
            DisruptedPods = old.DisruptedPods is null ? null : new Dictionary<string, DateTimeOffset>(old.DisruptedPods, StringComparer.Ordinal),
            DisruptionsAllowed = 0,
            CurrentHealthy = old.CurrentHealthy,
            DesiredHealthy = old.DesiredHealthy,
            ExpectedPods = old.ExpectedPods,
            Conditions = old.Conditions?.Select(Copy).ToList() ?? [],
        };
        DisruptionBudgets.SetCondition(status, new Condition
        {
            Type = DisruptionBudgets.DisruptionAllowedCondition,
            Status = "False",
            Reason = DisruptionBudgets.SyncFailedReason,
            Message = error,
            ObservedGeneration = status.ObservedGeneration,
        }, now);
        return status;
    }

    /// <summary>
    /// Whether the stored status already says what <paramref name="computed"/> says (Kubernetes' updatePdbStatus skips
    /// the write then): same counts, same disrupted pods, the budget's generation observed and the condition current.
    /// </summary>
    public static bool UpToDate(PodDisruptionBudget pdb, PodDisruptionBudgetStatus computed)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        ArgumentNullException.ThrowIfNull(computed);
        return pdb.Status is { } old
            && old.CurrentHealthy == computed.CurrentHealthy
            && old.DesiredHealthy == computed.DesiredHealthy
            && old.ExpectedPods == computed.ExpectedPods
            && old.DisruptionsAllowed == computed.DisruptionsAllowed
            && SameDisruptedPods(old.DisruptedPods, computed.DisruptedPods)
            && DisruptionBudgets.ConditionsAreUpToDate(pdb);
    }

    private static (int Expected, int Desired) ExpectedAndDesired(PodDisruptionBudget pdb, IReadOnlyList<Pod> pods, Func<OwnerReference, string?, ControllerScale?> scaleOf, List<string> unmanaged)
    {
        if (pdb.Spec.MaxUnavailable is { } maxUnavailable)
        {
            var expected = ExpectedScale(pods, scaleOf, unmanaged);
            var desired = Math.Max(0, expected - Scaled(maxUnavailable, expected));
            return (expected, desired);
        }

        if (pdb.Spec.MinAvailable is { } minAvailable)
        {
            if (!minAvailable.IsString)
            {
                return (pods.Count, minAvailable.IntValue);
            }

            var expected = ExpectedScale(pods, scaleOf, unmanaged);
            return (expected, Scaled(minAvailable, expected));
        }

        return (0, 0);
    }

    /// <summary>Kubernetes' GetScaledValueFromIntOrPercent with rounding up; a string that is no percentage fails the sync.</summary>
    private static int Scaled(IntOrString value, int total)
    {
        try
        {
            return value.GetScaledValue(total, roundUp: true);
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    /// <summary>The sum of the scales of the pods' controllers, each once (Kubernetes' getExpectedScale).</summary>
    private static int ExpectedScale(IReadOnlyList<Pod> pods, Func<OwnerReference, string?, ControllerScale?> scaleOf, List<string> unmanaged)
    {
        var scales = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var reference = pod.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true);
            if (reference is null)
            {
                unmanaged.Add(pod.Metadata.Name!);
                continue;
            }

            if (!seen.Add(reference.Uid))
            {
                continue;
            }

            var scale = scaleOf(reference, pod.Metadata.Namespace)
                ?? throw new InvalidOperationException($"found no controllers for pod \"{pod.Metadata.Name}\"");
            scales[scale.Uid] = scale.Replicas;
        }

        return scales.Values.Sum();
    }

    /// <summary>Kubernetes' buildDisruptedPodMap: entries of pods not yet being deleted, within the timeout.</summary>
    private static (Dictionary<string, DateTimeOffset> Disrupted, List<Pod> NotDeleted, DateTimeOffset? RecheckAt) DisruptedPods(PodDisruptionBudget pdb, IReadOnlyList<Pod> pods, DateTimeOffset now)
    {
        var disrupted = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var notDeleted = new List<Pod>();
        DateTimeOffset? recheckAt = null;
        if (pdb.Status?.DisruptedPods is not { } recorded)
        {
            return (disrupted, notDeleted, recheckAt);
        }

        foreach (var pod in pods)
        {
            if (pod.Metadata.DeletionTimestamp is not null || !recorded.TryGetValue(pod.Metadata.Name!, out var at))
            {
                continue;
            }

            var expectedDeletion = at + DisruptionBudgets.DeletionTimeout;
            if (expectedDeletion < now)
            {
                notDeleted.Add(pod);
                continue;
            }

            disrupted[pod.Metadata.Name!] = at;
            if (recheckAt is null || expectedDeletion < recheckAt)
            {
                recheckAt = expectedDeletion;
            }
        }

        return (disrupted, notDeleted, recheckAt);
    }

    private static bool SameDisruptedPods(Dictionary<string, DateTimeOffset>? a, Dictionary<string, DateTimeOffset>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }

        foreach (var (name, at) in a ?? [])
        {
            if (!b!.TryGetValue(name, out var other) || other != at)
            {
                return false;
            }
        }

        return true;
    }

    private static Condition Copy(Condition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        ObservedGeneration = c.ObservedGeneration,
        LastTransitionTime = c.LastTransitionTime,
        Reason = c.Reason,
        Message = c.Message,
    };
}
