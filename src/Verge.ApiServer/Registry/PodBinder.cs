using Verge.ApiServer.Http;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Registry;

/// <summary>
/// A pod's binding to a node, as Kubernetes' binding subresource makes it: a storage-level write
/// (<see cref="ResourceService.WriteStoredAsync"/>) that sets <c>spec.nodeName</c> once and the <c>PodScheduled</c>
/// condition to True, and nothing else: the pod is not validated again, its managedFields and generation stay as they
/// are. The scheduler and <c>POST .../pods/NAME/binding</c> both bind through here.
/// </summary>
internal static class PodBinder
{
    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();

    /// <summary>
    /// Binds the pod to <paramref name="nodeName"/>. A 409 when it is bound already, being deleted, still gated, or (with
    /// <paramref name="uid"/>) another pod of the same name; a 404 when it is gone. A dry run checks the same and writes
    /// nothing.
    /// </summary>
    public static Task<UpdateResult> BindAsync(ResourceService service, string? ns, string name, string nodeName, string? uid, bool dryRun, CancellationToken ct) =>
        service.WriteStoredAsync(PodType, ns, name, current =>
        {
            var stored = (Pod)current;
            if (stored.Spec.NodeName is { Length: > 0 } existing)
            {
                throw ApiException.Conflict(PodType, name, $"pod {name} is already assigned to node \"{existing}\"");
            }

            if (stored.Metadata.DeletionTimestamp is not null)
            {
                throw ApiException.Conflict(PodType, name, "pod is being deleted, cannot be assigned to a host");
            }

            if (stored.Spec.SchedulingGates is { Count: > 0 })
            {
                // Kubernetes answers this with a plain error (a 500); a conflict with the pod's state says what it is.
                throw ApiException.Conflict(PodType, name, $"pod {name} has non-empty .spec.schedulingGates");
            }

            if (!string.IsNullOrEmpty(uid) && stored.Metadata.Uid != uid)
            {
                throw ApiException.Conflict(PodType, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {stored.Metadata.Uid}");
            }

            return Bound(stored, nodeName, service.Now());
        }, dryRun, ct);

    /// <summary>
    /// The stored pod with <paramref name="nodeName"/> set and PodScheduled True, leaving the stored pod as it is: new
    /// top-level, metadata, spec and status objects and a new conditions list, everything below them shared (the
    /// write's own decode of the stored bytes, which it only reads), so a binding decodes the stored pod once.
    /// </summary>
    internal static Pod Bound(Pod stored, string nodeName, DateTimeOffset now)
    {
        var bound = (Pod)TypedMergePatch.TopLevelCopy(PodType, stored)!;
        bound.Spec = (PodSpec)TypedMergePatch.ShallowCopy(stored.Spec, VergeJsonContext.Default.PodSpec);
        bound.Spec.NodeName = nodeName;
        bound.Metadata.ResourceVersion = null;
        bound.Status = stored.Status is null ? new PodStatus() : (PodStatus)TypedMergePatch.ShallowCopy(stored.Status, VergeJsonContext.Default.PodStatus);

        // As Kubernetes' UpdatePodCondition: the condition is replaced, and keeps its transition time if it was True.
        var conditions = bound.Status.Conditions is null ? [] : new List<PodCondition>(bound.Status.Conditions);
        var index = conditions.FindIndex(c => c.Type == "PodScheduled");
        var scheduled = new PodCondition
        {
            Type = "PodScheduled",
            Status = "True",
            LastTransitionTime = index >= 0 && conditions[index].Status == "True" ? conditions[index].LastTransitionTime : now,
        };
        if (index >= 0)
        {
            conditions[index] = scheduled;
        }
        else
        {
            conditions.Add(scheduled);
        }

        bound.Status.Conditions = conditions;
        return bound;
    }
}
