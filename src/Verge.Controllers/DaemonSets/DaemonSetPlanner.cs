using Verge.Controllers.Deployments;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Controllers.DaemonSets;

/// <summary>What one reconcile of a DaemonSet does: the nodes to create a pod on, the pods to delete, and the status.</summary>
internal sealed record DaemonSetPlan(List<string> CreateOn, List<Pod> Delete, DaemonSetStatus Status, DateTimeOffset? NextAvailable);

/// <summary>
/// The pure core of the DaemonSet controller, after Kubernetes' <c>daemon_controller.go</c> and <c>update.go</c>:
/// one pod per eligible node, none elsewhere, and a rolling update that replaces old pods while at most maxUnavailable
/// nodes lack an available pod, or, with maxSurge, starts the new pod beside the old one and deletes the old one once
/// the new one is available.
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
            .GroupBy(p => TargetNode(p) ?? "", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        // Nodes where a daemon pod is still terminating: its replacement waits until it is gone, as in Kubernetes
        // (two daemon pods would otherwise hold the same host ports and devices at once).
        var terminating = owned.Where(p => p.Metadata.DeletionTimestamp is not null && TargetNode(p) is not null)
            .Select(p => TargetNode(p)!)
            .ToHashSet(StringComparer.Ordinal);
        var create = new List<string>();
        var delete = new List<Pod>();
        var status = new DaemonSetStatus { ObservedGeneration = ds.Metadata.Generation, CollisionCount = ds.Status?.CollisionCount };
        int ready = 0, available = 0, updated = 0;

        // Per node that should run the daemon (or may keep one): the pods kept there, for the rolling update.
        var surge = AllowsSurge(ds);
        var kept = new List<NodePods>();
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
                    if (!terminating.Contains(name))
                    {
                        create.Add(name);
                    }

                    kept.Add(new NodePods(name, shouldRun, null, null));
                }

                continue;
            }

            kept.Add(surge ? KeepWhileSurging(name, shouldRun, running, hash, minReady, now, delete) : KeepOldest(name, shouldRun, running, hash, delete));
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
            if (surge)
            {
                create.AddRange(SurgeOnto(ds, kept, status.DesiredNumberScheduled, minReady, now));
            }
            else
            {
                delete.AddRange(RollingUpdate(ds, kept, status.DesiredNumberScheduled, minReady, now));
            }
        }

        DateTimeOffset? next = owned.Select(p => PodState.AvailableAt(p, minReady, now)).Where(t => t is not null).Min();
        return new DaemonSetPlan(create, [.. delete.DistinctBy(p => p.Metadata.Uid)], status, next);
    }

    /// <summary>The daemon pods kept on one node: at most one of the current template and one of an older one.</summary>
    private sealed record NodePods(string Node, bool ShouldRun, Pod? Updated, Pod? Old);

    /// <summary>Without surge, one daemon pod per node: the oldest stays, the rest are deleted.</summary>
    private static NodePods KeepOldest(string node, bool shouldRun, List<Pod> running, string hash, List<Pod> delete)
    {
        delete.AddRange(running.Skip(1));
        var pod = running[0];
        return IsUpdated(pod, hash) ? new NodePods(node, shouldRun, pod, null) : new NodePods(node, shouldRun, null, pod);
    }

    /// <summary>
    /// With surge (Kubernetes' <c>podsShouldBeOnNode</c>), a node may hold two daemon pods: the oldest of the current
    /// template beside the oldest older one, until the new one is available or the old one stops being ready. All
    /// others are deleted.
    /// </summary>
    private static NodePods KeepWhileSurging(string node, bool shouldRun, List<Pod> running, string hash, int minReady, DateTimeOffset now, List<Pod> delete)
    {
        Pod? updated = null, old = null;
        foreach (var pod in running)
        {
            if (IsUpdated(pod, hash) && updated is null)
            {
                updated = pod;
            }
            else if (!IsUpdated(pod, hash) && old is null)
            {
                old = pod;
            }
            else
            {
                delete.Add(pod);
            }
        }

        if (updated is not null && old is not null && (!PodState.IsReady(old) || PodState.IsAvailable(updated, minReady, now)))
        {
            delete.Add(old);
            old = null;
        }

        return new NodePods(node, shouldRun, updated, old);
    }

    public static bool IsRollingUpdate(DaemonSet ds) => ds.Spec.UpdateStrategy?.Type is null or "" or "RollingUpdate";

    public static bool IsUpdated(Pod pod, string hash) => pod.Metadata.Labels?.GetValueOrDefault(HashLabel) == hash;

    /// <summary>maxUnavailable of the desired number, rounded up (as Kubernetes rounds it for DaemonSets), at least 1.</summary>
    public static int MaxUnavailable(DaemonSet ds, int desired) =>
        Math.Max(1, (ds.Spec.UpdateStrategy?.RollingUpdate?.MaxUnavailable ?? 1).GetScaledValue(desired, roundUp: true));

    /// <summary>maxSurge of the desired number, rounded up; 0 unless set.</summary>
    public static int MaxSurge(DaemonSet ds, int desired) =>
        ds.Spec.UpdateStrategy?.RollingUpdate?.MaxSurge is { } surge ? surge.GetScaledValue(desired, roundUp: true) : 0;

    /// <summary>Whether the rolling update surges (Kubernetes' <c>AllowsSurge</c>): maxSurge of one node is not 0.</summary>
    public static bool AllowsSurge(DaemonSet ds) => IsRollingUpdate(ds) && MaxSurge(ds, 1) > 0;

    /// <summary>
    /// Without surge: old pods to delete: every old pod that is not available (it serves nothing), then available old
    /// pods while fewer than maxUnavailable nodes lack an available pod. A node without a pod, or with a new pod that is
    /// not yet available, counts as unavailable.
    /// </summary>
    private static List<Pod> RollingUpdate(DaemonSet ds, List<NodePods> kept, int desired, int minReady, DateTimeOffset now)
    {
        var maxUnavailable = MaxUnavailable(ds, desired);
        var unavailable = 0;
        var replace = new List<Pod>();
        var candidates = new List<Pod>();
        foreach (var node in kept)
        {
            if (node.Updated is { } updated)
            {
                unavailable += PodState.IsAvailable(updated, minReady, now) ? 0 : 1;
            }
            else if (node.Old is not { } old)
            {
                unavailable++;
            }
            else if (!PodState.IsAvailable(old, minReady, now))
            {
                replace.Add(old);
                unavailable++;
            }
            else
            {
                candidates.Add(old);
            }
        }

        replace.AddRange(candidates.Take(Math.Max(0, maxUnavailable - unavailable)));
        return replace;
    }

    /// <summary>
    /// With surge (Kubernetes' <c>rollingUpdate</c> when maxSurge is set): the nodes to start a new pod on beside the
    /// old one. A node whose old pod is not available gets its new pod at once; of the nodes whose old pod is
    /// available, as many as maxSurge less the new pods not yet available. The old pod goes once the new one beside it
    /// is available (<see cref="KeepWhileSurging"/>), so every node keeps a serving daemon throughout.
    /// </summary>
    private static List<string> SurgeOnto(DaemonSet ds, List<NodePods> kept, int desired, int minReady, DateTimeOffset now)
    {
        var surging = 0;
        var replacements = new List<string>();
        var candidates = new List<string>();
        foreach (var node in kept)
        {
            if (!node.ShouldRun || node.Old is not { } old)
            {
                continue;
            }

            if (node.Updated is null)
            {
                (PodState.IsAvailable(old, minReady, now) ? candidates : replacements).Add(node.Node);
            }
            else
            {
                // A new pod beside an old one is not available yet (KeepWhileSurging deleted the old one otherwise).
                surging++;
            }
        }

        var room = Math.Clamp(MaxSurge(ds, desired) - surging, 0, candidates.Count);
        return [.. replacements, .. candidates.Take(room)];
    }

    /// <summary>
    /// A daemon pod for <paramref name="node"/>: the template, the hash label, a controller reference, and a required
    /// node affinity for that node alone, which the scheduler honours as it places the pod, as Kubernetes'
    /// <c>ReplaceDaemonSetPodNodeNameNodeAffinity</c> does. The template's own required terms are replaced: the
    /// controller has already checked that the node matches them.
    /// </summary>
    public static Pod PodFor(DaemonSet ds, string hash, string node)
    {
        var template = Objects.Clone(ds).Spec.Template;
        var labels = template.Metadata?.Labels ?? [];
        labels[HashLabel] = hash;
        var spec = template.Spec ?? new PodSpec();
        var nodeAffinity = (spec.Affinity ??= new Affinity()).NodeAffinity ??= new NodeAffinity();
        nodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = new NodeSelector
        {
            NodeSelectorTerms = [new NodeSelectorTerm { MatchFields = [new NodeSelectorRequirement { Key = NodeSelectorMatching.NodeNameField, Operator = "In", Values = [node] }] }],
        };
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

    /// <summary>
    /// The node a daemon pod is for: where it is bound, or, while the scheduler has not bound it yet, the one node its
    /// required affinity names (Kubernetes' <c>GetTargetNodeName</c>); null when neither says.
    /// </summary>
    public static string? TargetNode(Pod pod)
    {
        if (!string.IsNullOrEmpty(pod.Spec.NodeName))
        {
            return pod.Spec.NodeName;
        }

        var terms = pod.Spec.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        return terms is [{ MatchFields: [{ Key: NodeSelectorMatching.NodeNameField, Operator: "In", Values: [var name] }] }] ? name : null;
    }
}
