using Verge.Core.Core;
using Verge.Core.Selectors;

namespace Verge.Scheduler.Framework;

/// <summary>
/// A required pod affinity or anti-affinity term, compiled: which pods it is about (selector and namespaces) and the
/// node label whose values are its domains (<c>kubernetes.io/hostname</c>, <c>verge.dev/site</c>,
/// <c>topology.kubernetes.io/zone</c>, any label).
/// </summary>
internal sealed record AffinityTerm(LabelSelectorExpression Selector, HashSet<string> Namespaces, string TopologyKey)
{
    /// <summary>Whether <paramref name="ns"/>/<paramref name="labels"/> is a pod this term is about.</summary>
    public bool Matches(string ns, IReadOnlyDictionary<string, string> labels) => Namespaces.Contains(ns) && Selector.Matches(labels);

    /// <summary>The required terms of <paramref name="affinity"/> for a pod in <paramref name="ns"/>; empty when none.</summary>
    public static AffinityTerm[] CompileRequired(PodAffinity? affinity, string ns)
    {
        if (affinity?.RequiredDuringSchedulingIgnoredDuringExecution is not { Count: > 0 } terms)
        {
            return [];
        }

        var compiled = new AffinityTerm[terms.Count];
        for (var i = 0; i < terms.Count; i++)
        {
            var term = terms[i];
            LabelSelectorExpression selector;
            try
            {
                selector = LabelSelectorExpression.FromLabelSelector(term.LabelSelector);
            }
            catch (FormatException)
            {
                // Validation refuses such selectors; one that slips through matches no pod.
                selector = LabelSelectorExpression.Nothing;
            }

            var namespaces = term.Namespaces is { Count: > 0 } list ? new HashSet<string>(list, StringComparer.Ordinal) : new HashSet<string>(StringComparer.Ordinal) { ns };
            compiled[i] = new AffinityTerm(selector, namespaces, term.TopologyKey);
        }

        return compiled;
    }
}
