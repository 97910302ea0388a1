using System.Globalization;
using Verge.ApiServer.Http;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.ApiServer.Registry;

/// <summary>
/// A pod's eviction, as Kubernetes' eviction REST makes it (<c>POST .../pods/NAME/eviction</c>): the pod is deleted
/// unless that would break the PodDisruptionBudget that covers it. A pod that is terminal, Pending or already being
/// deleted goes without asking any budget; a pod covered by more than one budget is refused with 500; a ready pod
/// goes only when its budget allows a disruption, which the eviction takes (<c>status.disruptionsAllowed</c> one
/// lower, the pod recorded in <c>status.disruptedPods</c>) in a compare-and-swap write of the budget's status before
/// the pod is deleted; otherwise 429. A pod that is running but not ready goes without taking a disruption when the
/// budget's <c>unhealthyPodEvictionPolicy</c> is AlwaysAllow, or (IfHealthyBudget, the default) while the budget has
/// as many healthy pods as it needs; the delete then carries the pod's resourceVersion, so a pod that became ready
/// meanwhile is not deleted (429). A dry run checks all of it and writes nothing.
/// </summary>
internal static class PodEvictor
{
    private const string TooManyRequestsMessage = "Cannot evict pod as it would violate the pod's disruption budget.";

    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();
    private static readonly ResourceType BudgetType = ResourceCatalog.For<PodDisruptionBudget>();

    /// <summary>Evicts the pod or throws the <see cref="ApiException"/> Kubernetes would answer with.</summary>
    public static async Task EvictAsync(ResourceService service, string ns, string name, DeleteOptions delete, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(delete);
        var callerPinned = !string.IsNullOrEmpty(delete.Preconditions?.ResourceVersion);
        Pod pod;
        for (var attempt = 0; ; attempt++)
        {
            pod = (Pod)(await service.GetAsync(PodType, ns, name, ct)).Object;
            if (!CanIgnoreBudget(pod))
            {
                break;
            }

            // A pod that is done, has not started, or is going already: deleting it disrupts nothing more. A Pending
            // pod is deleted at the version that was judged, so one that started meanwhile is judged again.
            try
            {
                await MarkAndDeleteAsync(service, ns, name, EnforceResourceVersion(pod) && !callerPinned ? Pinned(delete, pod) : delete, ct);
                return;
            }
            catch (ApiException e) when (e.Code == 409 && e.Reason == "Conflict" && !callerPinned && attempt < MaxAttempts)
            {
            }
        }

        var budgets = (await BudgetsAsync(service, ns, ct)).Where(b => DisruptionBudgets.Covers(b, pod)).ToList();
        if (budgets.Count > 1)
        {
            throw new ApiException(500, "", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
        }

        var pinned = false;
        if (budgets.Count == 1)
        {
            var budget = budgets[0];
            if (!DisruptionBudgets.IsPodReady(pod) && UnhealthyMayGo(budget))
            {
                // Not counted as healthy, so no disruption is taken; the delete is pinned to the pod judged not ready.
                pinned = true;
            }
            else
            {
                await TakeDisruptionAsync(service, budget, pod.Metadata.Name!, delete.DryRunAll, ct);
            }
        }

        try
        {
            await MarkAndDeleteAsync(service, ns, name, pinned && !callerPinned ? Pinned(delete, pod) : delete, ct);
        }
        catch (ApiException e) when (e.Code == 409 && pinned && !callerPinned)
        {
            // The pod changed since it was judged (it may be ready now): the client tries again.
            throw StillProcessing(budgets[0].Metadata.Name!);
        }
    }

    /// <summary>
    /// Kubernetes' addConditionAndDeletePod: sets the <c>DisruptionTarget</c> condition (reason
    /// <c>EvictionByEvictionAPI</c>) on the newest pod, checking the delete's preconditions against it (409 otherwise),
    /// then deletes it; a delete pinned to a resourceVersion moves to the one the condition's write produced. A dry
    /// run writes nothing.
    /// </summary>
    private static async Task MarkAndDeleteAsync(ResourceService service, string ns, string name, DeleteOptions delete, CancellationToken ct)
    {
        if (!delete.DryRunAll)
        {
            var now = service.Now();
            var options = new WriteOptions(false, "kube-apiserver", FieldValidation.Ignore, false);
            var (written, _) = await service.UpdateAsync(PodType, ns, name, "status", current =>
            {
                var latest = (Pod)current!;
                ResourceService.CheckPreconditions(PodType, name, latest, delete.Preconditions);
                DisruptionTarget.Mark(latest, DisruptionTarget.EvictionReason, DisruptionTarget.EvictionMessage, now);
                latest.Metadata.ResourceVersion = null;
                return latest;
            }, options, allowCreate: false, ct);
            if (delete.Preconditions?.ResourceVersion is { Length: > 0 })
            {
                delete = Pinned(delete, (Pod)written);
            }
        }

        await service.DeleteAsync(PodType, ns, name, delete, ct);
    }

    /// <summary>How often a write that lost a compare-and-swap is tried again (Kubernetes' EvictionsRetry has 20 steps).</summary>
    private const int MaxAttempts = 20;

    /// <summary>Terminal, Pending and terminating pods are deleted without asking a budget (Kubernetes' canIgnorePDB).</summary>
    private static bool CanIgnoreBudget(Pod pod) =>
        pod.Status?.Phase is "Succeeded" or "Failed" or "Pending" || pod.Metadata.DeletionTimestamp is not null;

    /// <summary>Whether such a delete must be of the very version judged (Kubernetes' shouldEnforceResourceVersion).</summary>
    private static bool EnforceResourceVersion(Pod pod) =>
        pod.Status?.Phase is not ("Succeeded" or "Failed") && pod.Metadata.DeletionTimestamp is null;

    /// <summary>
    /// Whether a running pod that is not ready may go without taking a disruption: always under AlwaysAllow; under
    /// IfHealthyBudget (or none) while the budget has as many healthy pods as it needs.
    /// </summary>
    private static bool UnhealthyMayGo(PodDisruptionBudget budget)
    {
        if (budget.Spec.UnhealthyPodEvictionPolicy == DisruptionBudgets.AlwaysAllow)
        {
            return true;
        }

        var status = budget.Status ?? new PodDisruptionBudgetStatus();
        return status.CurrentHealthy >= status.DesiredHealthy && status.DesiredHealthy > 0;
    }

    /// <summary>
    /// Takes one disruption from the budget: checks it on the newest stored budget and writes the lower count and the
    /// pod's entry in <c>status.disruptedPods</c> with a compare-and-swap, read again on a conflict (Kubernetes'
    /// checkAndDecrement under RetryOnConflict). A dry run checks and writes nothing.
    /// </summary>
    private static async Task TakeDisruptionAsync(ResourceService service, PodDisruptionBudget budget, string podName, bool dryRun, CancellationToken ct)
    {
        var options = new WriteOptions(dryRun, "kube-apiserver", FieldValidation.Ignore, false);
        var now = service.Now();
        await service.UpdateAsync(BudgetType, budget.Metadata.Namespace, budget.Metadata.Name!, "status", current =>
        {
            var stored = (PodDisruptionBudget)current!;
            var status = stored.Status ??= new PodDisruptionBudgetStatus();
            var pdbName = stored.Metadata.Name!;
            if ((status.ObservedGeneration ?? 0) < (stored.Metadata.Generation ?? 0))
            {
                throw StillProcessing(pdbName);
            }

            if (status.DisruptionsAllowed < 0)
            {
                throw Forbidden(pdbName, "pdb disruptions allowed is negative");
            }

            if (status.DisruptedPods?.Count > DisruptionBudgets.MaxDisruptedPodSize)
            {
                throw Forbidden(pdbName, "DisruptedPods map too big - too many evictions not confirmed by PDB controller");
            }

            if (status.DisruptionsAllowed == 0)
            {
                throw new ApiException(429, "TooManyRequests", TooManyRequestsMessage, new StatusDetails
                {
                    Causes =
                    [
                        new StatusCause
                        {
                            Reason = "DisruptionBudget",
                            Message = string.Create(CultureInfo.InvariantCulture,
                                $"The disruption budget {pdbName} needs {status.DesiredHealthy} healthy pods and has {status.CurrentHealthy} currently"),
                        },
                    ],
                });
            }

            status.DisruptionsAllowed--;
            if (status.DisruptionsAllowed == 0)
            {
                DisruptionBudgets.UpdateDisruptionAllowedCondition(status, now);
            }

            (status.DisruptedPods ??= [])[podName] = now;

            // Unpinned, so a write that loses the compare-and-swap reads the budget again and checks it anew.
            stored.Metadata.ResourceVersion = null;
            return stored;
        }, options, allowCreate: false, ct);
    }

    private static async Task<List<PodDisruptionBudget>> BudgetsAsync(ResourceService service, string ns, CancellationToken ct) =>
        [.. (await service.Store.ListAsync(ObjectCodec.Prefix(BudgetType, ns), 0, 0, null, ct)).Items
            .Select(kv => (PodDisruptionBudget)ObjectCodec.Decode(BudgetType, kv.Value.Span, kv.ModRevision))];

    private static DeleteOptions Pinned(DeleteOptions delete, Pod pod) => new()
    {
        GracePeriodSeconds = delete.GracePeriodSeconds,
        PropagationPolicy = delete.PropagationPolicy,
        OrphanDependents = delete.OrphanDependents,
        DryRun = delete.DryRun,
        Preconditions = new Preconditions { Uid = delete.Preconditions?.Uid, ResourceVersion = pod.Metadata.ResourceVersion },
    };

    /// <summary>429 while the controller has not yet computed the budget's newest generation (or the pod changed).</summary>
    private static ApiException StillProcessing(string pdbName) =>
        new(429, "TooManyRequests", TooManyRequestsMessage, new StatusDetails
        {
            RetryAfterSeconds = 10,
            Causes = [new StatusCause { Reason = "DisruptionBudget", Message = $"The disruption budget {pdbName} is still being processed by the server." }],
        });

    private static ApiException Forbidden(string pdbName, string reason) =>
        new(403, "Forbidden", $"poddisruptionbudgets.policy \"{pdbName}\" is forbidden: {reason}",
            new StatusDetails { Name = pdbName, Group = "policy", Kind = "poddisruptionbudgets" });
}
