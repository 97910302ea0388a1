using System.Globalization;
using Verge.Core.Core;

namespace Verge.Core.Selectors;

/// <summary>
/// How a node selector requirement (node affinity's matchExpressions and matchFields) matches a node, as
/// Kubernetes defines it: In, NotIn, Exists, DoesNotExist, and Gt/Lt comparing integers; matchFields knows only
/// <c>metadata.name</c> with In and NotIn. The scheduler and the DaemonSet controller decide eligibility with it.
/// </summary>
public static class NodeSelectorMatching
{
    public static bool MatchesLabel(NodeSelectorRequirement requirement, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(requirement);
        ArgumentNullException.ThrowIfNull(labels);
        var has = labels.TryGetValue(requirement.Key, out var value);
        var values = requirement.Values;
        switch (requirement.Operator)
        {
            case "In":
                return has && values is not null && values.Contains(value!);
            case "NotIn":
                return !has || values is null || !values.Contains(value!);
            case "Exists":
                return has;
            case "DoesNotExist":
                return !has;
            case "Gt" or "Lt":
                if (!has || values is not { Count: 1 }
                    || !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var actual)
                    || !long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound))
                {
                    return false;
                }

                return requirement.Operator == "Gt" ? actual > bound : actual < bound;
            default:
                return false;
        }
    }

    /// <summary>The one node field a node selector's <c>matchFields</c> may name.</summary>
    public const string NodeNameField = "metadata.name";

    public static bool MatchesField(NodeSelectorRequirement requirement, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(requirement);
        return requirement.Key == NodeNameField && requirement.Operator switch
        {
            "In" => requirement.Values is not null && requirement.Values.Contains(nodeName),
            "NotIn" => requirement.Values is null || !requirement.Values.Contains(nodeName),
            _ => false,
        };
    }
}
