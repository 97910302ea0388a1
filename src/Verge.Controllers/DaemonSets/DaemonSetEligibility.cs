using System.Globalization;
using Verge.Controllers.Nodes;
using Verge.Core.Core;
using Verge.Core.Selectors;

namespace Verge.Controllers.DaemonSets;

/// <summary>
/// Which nodes a DaemonSet's pod belongs on, as Kubernetes' <c>NodeShouldRunDaemonPod</c>: the pod template's
/// nodeSelector and required node affinity must match the node, and its tolerations (with the ones every DaemonSet
/// pod gets, <see cref="ImplicitTolerations"/>) must tolerate the node's NoSchedule and NoExecute taints. A pod already
/// on a node may keep running there while only NoSchedule taints are untolerated.
/// </summary>
internal static class DaemonSetEligibility
{
    /// <summary>The tolerations Kubernetes' DaemonSet controller adds to every daemon pod.</summary>
    public static IReadOnlyList<Toleration> ImplicitTolerations(PodSpec spec)
    {
        List<Toleration> tolerations =
        [
            new() { Key = NodeTaints.NotReady, Operator = "Exists", Effect = NodeTaints.NoExecute },
            new() { Key = NodeTaints.Unreachable, Operator = "Exists", Effect = NodeTaints.NoExecute },
            new() { Key = NodeTaints.DiskPressure, Operator = "Exists", Effect = NodeTaints.NoSchedule },
            new() { Key = NodeTaints.MemoryPressure, Operator = "Exists", Effect = NodeTaints.NoSchedule },
            new() { Key = NodeTaints.PidPressure, Operator = "Exists", Effect = NodeTaints.NoSchedule },
            new() { Key = NodeTaints.Unschedulable, Operator = "Exists", Effect = NodeTaints.NoSchedule },
        ];
        if (spec.HostNetwork == true)
        {
            tolerations.Add(new() { Key = NodeTaints.NetworkUnavailable, Operator = "Exists", Effect = NodeTaints.NoSchedule });
        }

        return tolerations;
    }

    /// <summary>Adds the implicit tolerations the spec does not already carry (same key, operator and effect).</summary>
    public static void AddImplicitTolerations(PodSpec spec)
    {
        var tolerations = spec.Tolerations ??= [];
        foreach (var implicitToleration in ImplicitTolerations(spec))
        {
            if (!tolerations.Any(t => t.Key == implicitToleration.Key && t.Effect == implicitToleration.Effect && t.Operator == implicitToleration.Operator))
            {
                tolerations.Add(implicitToleration);
            }
        }
    }

    /// <summary>Whether a new daemon pod should run on <paramref name="node"/>, and whether one there may stay.</summary>
    public static (bool ShouldRun, bool ShouldContinueRunning) Evaluate(PodSpec template, Node node)
    {
        if (!MatchesNodeSelector(template, node) || !MatchesRequiredAffinity(template, node))
        {
            return (false, false);
        }

        var tolerations = (template.Tolerations ?? []).Concat(ImplicitTolerations(template)).ToList();
        var taints = node.Spec.Taints;
        if (!NodeTaints.ToleratesAll(tolerations, taints, NodeTaints.NoExecute))
        {
            return (false, false);
        }

        return (NodeTaints.ToleratesAll(tolerations, taints, NodeTaints.NoSchedule), true);
    }

    public static bool MatchesNodeSelector(PodSpec spec, Node node)
    {
        var labels = node.Metadata.Labels ?? [];
        return (spec.NodeSelector ?? []).All(p => labels.TryGetValue(p.Key, out var v) && v == p.Value);
    }

    /// <summary>Required node affinity: terms ORed, requirements within a term ANDed; a term without requirements matches nothing.</summary>
    public static bool MatchesRequiredAffinity(PodSpec spec, Node node)
    {
        var terms = spec.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        if (terms is null)
        {
            return true;
        }

        var labels = node.Metadata.Labels ?? [];
        foreach (var term in terms)
        {
            var expressions = term.MatchExpressions ?? [];
            var fields = term.MatchFields ?? [];
            if (expressions.Count == 0 && fields.Count == 0)
            {
                continue;
            }

            if (expressions.All(r => NodeSelectorMatching.MatchesLabel(r, labels)) && fields.All(r => NodeSelectorMatching.MatchesField(r, node.Metadata.Name!)))
            {
                return true;
            }
        }

        return false;
    }


}
