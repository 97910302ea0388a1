using System.ComponentModel;

namespace Verge.Core.Selectors;

/// <summary>metav1.LabelSelector: matchLabels and matchExpressions, all of which must hold.</summary>
[Description("A label selector is a label query over a set of resources. The result of matchLabels and matchExpressions are ANDed. An empty label selector matches all objects.")]
public sealed class LabelSelector
{
    [Description("matchLabels is a map of {key,value} pairs, each equivalent to a matchExpressions element whose operator is \"In\" and whose values contain only \"value\".")]
    public Dictionary<string, string>? MatchLabels { get; set; }

    [Description("matchExpressions is a list of label selector requirements. The requirements are ANDed.")]
    public List<LabelSelectorRequirement>? MatchExpressions { get; set; }

    /// <summary>Whether neither labels nor expressions are given (an empty selector matches everything).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => (MatchLabels is null || MatchLabels.Count == 0) && (MatchExpressions is null || MatchExpressions.Count == 0);

    /// <summary>
    /// The selector as a matcher, as Kubernetes' LabelSelectorAsSelector builds it.
    /// </summary>
    /// <exception cref="FormatException">An operator other than In, NotIn, Exists, DoesNotExist, or bad values.</exception>
    public LabelSelectorExpression ToMatcher() => LabelSelectorExpression.FromLabelSelector(this);

    /// <summary>The string form, such as <c>app=web,tier in (a,b)</c> (requirements sorted by key).</summary>
    public override string ToString() => ToMatcher().ToString();
}

/// <summary>metav1.LabelSelectorRequirement.</summary>
[Description("A label selector requirement is a selector that contains values, a key, and an operator that relates the key and values.")]
public sealed class LabelSelectorRequirement
{
    [Description("key is the label key that the selector applies to.")]
    public string Key { get; set; } = "";

    [Description("operator represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists and DoesNotExist.")]
    public string Operator { get; set; } = "";

    [Description("values is an array of string values. If the operator is In or NotIn, the values array must be non-empty. If the operator is Exists or DoesNotExist, the values array must be empty.")]
    public List<string>? Values { get; set; }
}
