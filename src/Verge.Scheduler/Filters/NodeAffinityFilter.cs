using System.Globalization;
using Verge.Core.Core;
using Verge.Core.Selectors;
using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// <c>spec.nodeSelector</c> (every pair must match) and required node affinity (any term; within a term every
/// expression and field requirement). Preferred terms add their weight to the score of nodes they match.
/// </summary>
internal static class NodeAffinityFilter
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        if (MatchesRequired(pod, node))
        {
            return FitCode.Fit;
        }

        reasons.Add(Reasons.NodeAffinity);
        return FitCode.Unresolvable;
    }

    public static bool MatchesRequired(PendingPod pod, NodeInfo node)
    {
        foreach (var (key, value) in pod.NodeSelector)
        {
            if (!node.Labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        if (pod.RequiredTerms is null)
        {
            return true;
        }

        foreach (var term in pod.RequiredTerms)
        {
            if (Matches(term, node))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Sum of the weights of the preferred terms the node matches (the raw score).</summary>
    public static long PreferredScore(PendingPod pod, NodeInfo node)
    {
        long score = 0;
        foreach (var term in pod.PreferredTerms)
        {
            if (term.Weight != 0 && Matches(term.Preference, node))
            {
                score += term.Weight;
            }
        }

        return score;
    }

    /// <summary>A term with no requirements matches nothing, as in Kubernetes.</summary>
    public static bool Matches(NodeSelectorTerm term, NodeInfo node)
    {
        var expressions = term.MatchExpressions;
        var fields = term.MatchFields;
        if ((expressions is null || expressions.Count == 0) && (fields is null || fields.Count == 0))
        {
            return false;
        }

        foreach (var requirement in expressions ?? [])
        {
            if (!NodeSelectorMatching.MatchesLabel(requirement, node.Labels))
            {
                return false;
            }
        }

        foreach (var requirement in fields ?? [])
        {
            if (!NodeSelectorMatching.MatchesField(requirement, node.Name))
            {
                return false;
            }
        }

        return true;
    }


    /// <summary>Only <c>metadata.name</c> is a node field, with In and NotIn.</summary>
}
