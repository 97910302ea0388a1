using System.Collections.Concurrent;
using System.Globalization;
using Verge.Core.Edge;
using Verge.Core.Selectors;

namespace Verge.Gateway.Pipeline;

/// <summary>
/// Resolves a data rule's <c>http: {podSelector, port, path}</c> action to a URL on one of this node's pods: the
/// Ready pods of the rule's namespace whose labels match, taken in turn (round robin per rule and action, over the
/// matches ordered by name, so a pod that comes or goes shifts the turn but never repeats one twice in a row while
/// the set is stable). Null when nothing matches.
/// </summary>
internal sealed class PodTargets(ILocalPods? pods)
{
    private readonly ConcurrentDictionary<string, int> _turns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<LabelSelector, LabelSelectorExpression> _matchers = new(ReferenceEqualityComparer.Instance);

    /// <summary>The URL to POST to, or null when no Ready pod matches (or the selector is unusable).</summary>
    /// <param name="ruleNamespace">The DataRule's namespace: only pods of that namespace are selected.</param>
    /// <param name="key">Identifies the action for its round robin (the rule and the action's index).</param>
    public Uri? Resolve(string ruleNamespace, string key, HttpAction action)
    {
        if (pods is null || action.PodSelector is not { } selector || action.Port is not { } port)
        {
            return null;
        }

        LabelSelectorExpression matcher;
        try
        {
            matcher = _matchers.GetOrAdd(selector, s => s.ToMatcher());
        }
        catch (FormatException)
        {
            // The API refuses such selectors; one that slipped through matches nothing.
            return null;
        }

        var matches = pods.ListReadyPods()
            .Where(p => p.Namespace == ruleNamespace && p.PodIp.Length > 0 && matcher.Matches(p.Labels))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        if (matches.Count == 0)
        {
            return null;
        }

        var turn = _turns.AddOrUpdate(key, 0, (_, previous) => previous == int.MaxValue ? 0 : previous + 1);
        var pod = matches[turn % matches.Count];
        var path = string.IsNullOrEmpty(action.Path) ? "/" : action.Path;
        var host = pod.PodIp.Contains(':', StringComparison.Ordinal) ? $"[{pod.PodIp}]" : pod.PodIp;
        return Uri.TryCreate(string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}{path}"), UriKind.Absolute, out var uri) ? uri : null;
    }

    /// <summary>Forgets round-robin turns and matchers (called when the rules are reloaded).</summary>
    public void Clear()
    {
        _turns.Clear();
        _matchers.Clear();
    }
}
