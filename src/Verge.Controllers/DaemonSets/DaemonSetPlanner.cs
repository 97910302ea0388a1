using Verge.Controllers.Deployments;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.DaemonSets;

/// <summary>What one reconcile of a DaemonSet does: the nodes to create a pod on, the pods to delete, and the status.</summary>
internal sealed record DaemonSetPlan(List<string> CreateOn, List<Pod> Delete, DaemonSetStatus Status, DateTimeOffset? NextAvailable);

/// <summary>
/// The pure core of the DaemonSet controller, after Kubernetes' <c>daemon_controller.go</c> and <c>update.go</c>:
/// one pod per eligible node, none elsewhere, and a rolling update that replaces old pods while at most maxUnavailable
/// nodes lack an available pod.
/// </summary>
internal static class DaemonSetPlanner
{
    /// <summary>The label that carries the template hash on daemon pods, as in Kubernetes.</summary>
    public const string HashLabel = "controller-revision-hash";

    public static string Hash(DaemonSet ds) => PodTemplateHash.Compute(ds.Spec.Template, ds.Status?.CollisionCount);

    public static DaemonSetPlan Plan(DaemonSet ds, string hash, IReadOnlyList<Node> nodes, IReadOnlyList<Pod> owned, DateTimeOffset now)
    {
        var minReady = ds.Spec.MinReadySeconds ?? 0;
        var byNode = owned.Where(p => p.Metadata.DeletionTimestamp is null)
            .GroupBy(p => p.Spec.NodeName ?? "", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var create = new List<string>();
        var delete = new List<Pod>();
        var status = new DaemonSetStatus { ObservedGeneration = ds.Metadata.Generation, CollisionCount = ds.Status?.CollisionCount };
        int ready = 0, available = 0, updated = 0;

        // Per node that should run the daemon: its one kept pod (null when it has none yet), for the rolling update.
        var kept = new List<(string Node, Pod? Pod)>();
        foreach (var node in nodes.OrderBy(n => n.Metadata.Name, StringComparer.Ordinal))
        {
            var name = node.Metadata.Name!;
            var (shouldRun, shouldContinue) = DaemonSetEligibility.Evaluate(ds.Spec.Template.Spec ?? new PodSpec(), node);
            var pods = byNode.Remove(name, out var list) ? list : [];

            // Finished daemon pods are deleted and replaced (daemons are meant to run for ever).
            delete.AddRange(pods.Where(p => !PodState.IsActive(p)));
            var running = pods.Where(PodState.IsActive).OrderBy(p => p.Metadata.CreationTimestamp).ThenBy(p => p.Metadata.Name, StringComparer.Ordinal).ToList();

            if (shouldRun)
            {
                status.DesiredNumberScheduled++;
                if (running.Count > 0)
                {
                    status.CurrentNumberScheduled++;
                    ready += running.Any(PodState.IsReady) ? 1 : 0;
                    available += running.Any(p => PodState.IsAvailable(p, minReady, now)) ? 1 : 0;
                    updated += running.Any(p => IsUpdated(p, hash)) ? 1 : 0;
                }
            }
            else if (running.Count > 0)
            {
                status.NumberMisscheduled++;
            }

            if (!shouldContinue)
            {
                delete.AddRange(running);
                continue;
            }

            if (running.Count == 0)
            {
                if (shouldRun)
                {
                    create.Add(name);
                    kept.Add((name, null));
                }

                continue;
            }

            // More than one daemon pod on a node: keep the oldest.
            delete.AddRange(running.Skip(1));
            kept.Add((name, running.Count == 1 ? running[0] : null));
        }

        // Pods on nodes that no longer exist, or on no node at all.
        foreach (var pods in byNode.Values)
        {
            delete.AddRange(pods);
        }

        status.NumberReady = ready;
        status.NumberAvailable = available;
        status.UpdatedNumberScheduled = updated;
        status.NumberUnavailable = status.DesiredNumberScheduled - available;

        if (ds.Metadata.DeletionTimestamp is null && IsRollingUpdate(ds))
        {
            delete.AddRange(RollingUpdate(ds, hash, kept, status.DesiredNumberScheduled, minReady, now));
        }

        DateTimeOffset? next = owned.Select(p => PodState.AvailableAt(p, minReady, now)).Where(t => t is not null).Min();
        return new DaemonSetPlan(create, [.. delete.DistinctBy(p => p.Metadata.Uid)], status, next);
    }

    public static bool IsRollingUpdate(DaemonSet ds) => ds.Spec.UpdateStrategy?.Type is null or "" or "RollingUpdate";

    public static bool IsUpdated(Pod pod, string hash) => pod.Metadata.Labels?.GetValueOrDefault(HashLabel) == hash;

    /// <summary>maxUnavailable of the desired number, rounded up (as Kubernetes rounds it for DaemonSets), at least 1.</summary>
    public static int MaxUnavailable(DaemonSet ds, int desired) =>
        Math.Max(1, (ds.Spec.UpdateStrategy?.RollingUpdate?.MaxUnavailable ?? 1).GetScaledValue(desired, roundUp: true));

    /// <summary>
    /// Old pods to delete: every old pod that is not available (it serves nothing), then available old pods while
    /// fewer than maxUnavailable nodes lack an available pod. A node without a pod, or with a new pod that is not yet
    /// available, counts as unavailable.
    /// </summary>
    private static List<Pod> RollingUpdate(DaemonSet ds, string hash, List<(string Node, Pod? Pod)> kept, int desired, int minReady, DateTimeOffset now)
    {
        var maxUnavailable = MaxUnavailable(ds, desired);
        var unavailable = 0;
        var replace = new List<Pod>();
        var candidates = new List<Pod>();
        foreach (var (_, pod) in kept)
        {
            if (pod is null)
            {
                unavailable++;
            }
            else if (IsUpdated(pod, hash))
            {
                unavailable += PodState.IsAvailable(pod, minReady, now) ? 0 : 1;
            }
            else if (!PodState.IsAvailable(pod, minReady, now))
            {
                replace.Add(pod);
                unavailable++;
            }
            else
            {
                candidates.Add(pod);
            }
        }

        replace.AddRange(candidates.Take(Math.Max(0, maxUnavailable - unavailable)));
        return replace;
    }

    /// <summary>A daemon pod for <paramref name="node"/>: the template, the hash label, a controller reference, bound to the node.</summary>
    public static Pod PodFor(DaemonSet ds, string hash, string node)
    {
        var template = Objects.Clone(ds).Spec.Template;
        var labels = template.Metadata?.Labels ?? [];
        labels[HashLabel] = hash;
        var spec = template.Spec ?? new PodSpec();
        spec.NodeName = node;
        DaemonSetEligibility.AddImplicitTolerations(spec);
        return new Pod
        {
            Metadata = new ObjectMeta
            {
                GenerateName = ds.Metadata.Name + "-",
                Namespace = ds.Metadata.Namespace,
                Labels = labels,
                Annotations = template.Metadata?.Annotations,
                Finalizers = template.Metadata?.Finalizers,
                OwnerReferences = [Objects.ControllerReference(ds, ResourceCatalog.For<DaemonSet>())],
            },
            Spec = spec,
            Status = new PodStatus { Phase = "Pending" },
        };
    }
}
