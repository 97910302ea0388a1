using System.Globalization;
using System.Text.Json;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Controllers.ReplicaSets;

/// <summary>What one reconcile of a ReplicaSet will do to its pods.</summary>
/// <param name="Create">How many pods to create from the template.</param>
/// <param name="Delete">Which pods to delete, most expendable first.</param>
internal sealed record ReplicaSetPlan(int Create, IReadOnlyList<Pod> Delete)
{
    public static ReplicaSetPlan None { get; } = new(0, []);

    public bool IsEmpty => Create == 0 && Delete.Count == 0;
}

/// <summary>
/// The pure part of the ReplicaSet controller: the diff between desired and owned pods as a plan, which pods go
/// first, the pods it creates and the status it reports, all as Kubernetes' replicaset controller computes them.
/// </summary>
internal static class ReplicaSetPlanner
{
    public const string DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";

    /// <summary>
    /// The plan that brings <paramref name="owned"/> (active pods) to the desired count, at most <paramref name="burst"/>
    /// changes. <paramref name="related"/> gives, for a scale-down only, the active pods of the ReplicaSets that share
    /// this one's controller, these included (<see cref="PodsToDelete"/>); without it, the owned pods.
    /// </summary>
    public static ReplicaSetPlan Plan(ReplicaSet rs, IReadOnlyList<Pod> owned, int burst, DateTimeOffset now, Func<IReadOnlyList<Pod>>? related = null)
    {
        var diff = owned.Count - (rs.Spec.Replicas ?? 1);
        return diff switch
        {
            < 0 => new ReplicaSetPlan(Math.Min(-diff, burst), []),
            > 0 => new ReplicaSetPlan(0, PodsToDelete(owned, related?.Invoke() ?? owned, Math.Min(diff, burst), now)),
            _ => ReplicaSetPlan.None,
        };
    }

    /// <summary>
    /// The <paramref name="count"/> pods to delete, in Kubernetes' order of preference: unscheduled before
    /// scheduled, Pending before Unknown before Running, not ready before ready, lower deletion cost first, pods
    /// doubled up on a node first, ready for a shorter time first, more restarts first, newer first. A pod is doubled
    /// up by the <paramref name="related"/> pods on its node: its own ReplicaSet's and those of the other revisions of
    /// its Deployment, as Kubernetes ranks them.
    /// </summary>
    public static IReadOnlyList<Pod> PodsToDelete(IReadOnlyList<Pod> pods, IReadOnlyList<Pod> related, int count, DateTimeOffset now)
    {
        var perNode = related.Where(p => !string.IsNullOrEmpty(p.Spec.NodeName))
            .GroupBy(p => p.Spec.NodeName!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var ranked = pods.Select(p => (Pod: p, Rank: string.IsNullOrEmpty(p.Spec.NodeName) ? 0 : perNode.GetValueOrDefault(p.Spec.NodeName!))).ToList();
        ranked.Sort((a, b) => CompareForDeletion(a.Pod, a.Rank, b.Pod, b.Rank, now));
        return [.. ranked.Take(count).Select(r => r.Pod)];
    }

    /// <summary>Negative when <paramref name="a"/> should be deleted before <paramref name="b"/>.</summary>
    internal static int CompareForDeletion(Pod a, int rankA, Pod b, int rankB, DateTimeOffset now)
    {
        var scheduledA = !string.IsNullOrEmpty(a.Spec.NodeName);
        var scheduledB = !string.IsNullOrEmpty(b.Spec.NodeName);
        if (scheduledA != scheduledB)
        {
            return scheduledA ? 1 : -1;
        }

        var phase = PhaseOrder(a).CompareTo(PhaseOrder(b));
        if (phase != 0)
        {
            return phase;
        }

        var readyA = PodState.IsReady(a);
        var readyB = PodState.IsReady(b);
        if (readyA != readyB)
        {
            return readyA ? 1 : -1;
        }

        var cost = DeletionCost(a).CompareTo(DeletionCost(b));
        if (cost != 0)
        {
            return cost;
        }

        if (rankA != rankB)
        {
            return rankB.CompareTo(rankA);
        }

        if (readyA && readyB)
        {
            var sinceA = PodState.ReadyCondition(a)?.LastTransitionTime ?? now;
            var sinceB = PodState.ReadyCondition(b)?.LastTransitionTime ?? now;
            if (sinceA != sinceB)
            {
                // Ready for less time goes first.
                return sinceB.CompareTo(sinceA);
            }
        }

        var restarts = Restarts(b).CompareTo(Restarts(a));
        if (restarts != 0)
        {
            return restarts;
        }

        var createdA = a.Metadata.CreationTimestamp ?? now;
        var createdB = b.Metadata.CreationTimestamp ?? now;
        return createdA != createdB ? createdB.CompareTo(createdA) : string.CompareOrdinal(a.Metadata.Name, b.Metadata.Name);
    }

    /// <summary>The status of a ReplicaSet over its owned active pods, as Kubernetes' calculateStatus.</summary>
    public static ReplicaSetStatus Status(ReplicaSet rs, IReadOnlyList<Pod> owned, DateTimeOffset now, string? failureReason, string? failureMessage)
    {
        var minReady = rs.Spec.MinReadySeconds ?? 0;
        var templateLabels = rs.Spec.Template.Metadata?.Labels ?? [];
        var status = new ReplicaSetStatus
        {
            Replicas = owned.Count,
            FullyLabeledReplicas = owned.Count(p => templateLabels.All(l => p.Metadata.Labels?.GetValueOrDefault(l.Key) == l.Value)),
            ReadyReplicas = owned.Count(PodState.IsReady),
            AvailableReplicas = owned.Count(p => PodState.IsAvailable(p, minReady, now)),
            ObservedGeneration = rs.Metadata.Generation,
            Conditions = rs.Status?.Conditions is { } conditions ? [.. conditions] : null,
        };
        var failure = status.Conditions?.FirstOrDefault(c => c.Type == "ReplicaFailure");
        if (failureReason is not null && failure is null)
        {
            (status.Conditions ??= []).Add(new ReplicaSetCondition
            {
                Type = "ReplicaFailure",
                Status = "True",
                Reason = failureReason,
                Message = failureMessage,
                LastTransitionTime = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero),
            });
        }
        else if (failureReason is null && failure is not null)
        {
            status.Conditions!.Remove(failure);
        }

        if (status.Conditions is { Count: 0 })
        {
            status.Conditions = null;
        }

        return status;
    }

    /// <summary>
    /// The ReplicaSet's pod template, encoded once for the pods of one scale-up: each pod decodes its own copy
    /// (<see cref="PodFromTemplate"/>) instead of a copy of the whole ReplicaSet, status and managedFields included,
    /// being made for every pod.
    /// </summary>
    public static byte[] EncodeTemplate(ReplicaSet rs) =>
        JsonSerializer.SerializeToUtf8Bytes(rs.Spec.Template, VergeJsonContext.Default.PodTemplateSpec);

    /// <summary>
    /// A new pod from the ReplicaSet's template as <see cref="EncodeTemplate"/> encoded it: generated name, template
    /// labels and annotations, controller reference.
    /// </summary>
    public static Pod PodFromTemplate(ReplicaSet rs, byte[] encodedTemplate)
    {
        var template = JsonSerializer.Deserialize(encodedTemplate, VergeJsonContext.Default.PodTemplateSpec)!;
        return new Pod
        {
            Metadata = new ObjectMeta
            {
                GenerateName = rs.Metadata.Name + "-",
                Namespace = rs.Metadata.Namespace,
                Labels = template.Metadata?.Labels,
                Annotations = template.Metadata?.Annotations,
                Finalizers = template.Metadata?.Finalizers,
                OwnerReferences = [Objects.ControllerReference(rs, ResourceCatalog.For<ReplicaSet>())],
            },
            Spec = template.Spec ?? new PodSpec(),
            Status = new PodStatus { Phase = "Pending" },
        };
    }

    private static int PhaseOrder(Pod pod) => pod.Status?.Phase switch
    {
        "Pending" or null or "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };

    private static int DeletionCost(Pod pod) =>
        pod.Metadata.Annotations?.GetValueOrDefault(DeletionCostAnnotation) is { } text
        && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var cost) ? cost : 0;

    private static int Restarts(Pod pod) => pod.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0;
}
