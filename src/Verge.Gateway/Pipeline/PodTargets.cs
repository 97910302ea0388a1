using System.Collections.Concurrent;
using System.Globalization;
using Verge.Core.Edge;
using Verge.Core.Selectors;

namespace Verge.Gateway.Pipeline;

/// <summary>
/// Resolves a data rule's <c>http: {podSelector, port, path}</c> action to a URL on one of this node's pods: the
/// Ready pods of the rule's namespace whose labels match, taken in turn (round robin per rule and action, over the
/// matches ordered by name, so a pod that comes or goes shifts the turn but never repeats one twice in a row while
/// the set is stable). Null when nothing matches. The ordered matches of each action are kept and built again only
/// when the Ready pods listed differ from the ones they were built from.
/// </summary>
internal sealed class PodTargets(ILocalPods? pods)
{
    private readonly ConcurrentDictionary<string, int> _turns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<LabelSelector, LabelSelectorExpression> _matchers = new(ReferenceEqualityComparer.Instance);
    private volatile Snapshot _snapshot = new([]);

    /// <summary>The URL to POST to, or null when no Ready pod matches (or the selector is unusable).</summary>
    /// <param name="ruleNamespace">The DataRule's namespace: only pods of that namespace are selected.</param>
    /// <param name="key">Identifies the action for its round robin (the rule and the action's index).</param>
    public Uri? Resolve(string ruleNamespace, string key, HttpAction action)
    {
        if (pods is null || action.PodSelector is not { } selector || action.Port is not { } port)
        {
            return null;
        }

        var listed = pods.ListReadyPods();
        var snapshot = _snapshot;
        if (!snapshot.IsOf(listed))
        {
            snapshot = new Snapshot([.. listed]);
            _snapshot = snapshot;
        }

        if (!snapshot.Targets.TryGetValue(key, out var targets) || !ReferenceEquals(targets.Selector, selector) || targets.Namespace != ruleNamespace)
        {
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

            targets = new ActionTargets(selector, ruleNamespace, [.. snapshot.Pods
                .Where(p => p.Namespace == ruleNamespace && p.PodIp.Length > 0 && matcher.Matches(p.Labels))
                .OrderBy(p => p.Name, StringComparer.Ordinal)]);
            snapshot.Targets[key] = targets;
        }

        var matches = targets.Pods;
        if (matches.Length == 0)
        {
            return null;
        }

        var turn = _turns.AddOrUpdate(key, 0, (_, previous) => previous == int.MaxValue ? 0 : previous + 1);
        var pod = matches[turn % matches.Length];
        var path = string.IsNullOrEmpty(action.Path) ? "/" : action.Path;
        var host = pod.PodIp.Contains(':', StringComparison.Ordinal) ? $"[{pod.PodIp}]" : pod.PodIp;
        return Uri.TryCreate(string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}{path}"), UriKind.Absolute, out var uri) ? uri : null;
    }

    /// <summary>Forgets round-robin turns, matchers and target lists (called when the rules are reloaded).</summary>
    public void Clear()
    {
        _turns.Clear();
        _matchers.Clear();
        _snapshot = new([]);
    }

    private static bool SamePod(LocalPod kept, LocalPod listed) =>
        ReferenceEquals(kept, listed)
        || (kept.Namespace == listed.Namespace && kept.Name == listed.Name && kept.PodIp == listed.PodIp && SameLabels(kept.Labels, listed.Labels));

    private static bool SameLabels(IReadOnlyDictionary<string, string> kept, IReadOnlyDictionary<string, string> listed)
    {
        if (ReferenceEquals(kept, listed))
        {
            return true;
        }

        if (kept.Count != listed.Count)
        {
            return false;
        }

        foreach (var (label, value) in kept)
        {
            if (!listed.TryGetValue(label, out var other) || other != value)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The Ready pods as last listed (a copy: the list handed out may change in place), and each action's ordered matches among them.</summary>
    private sealed class Snapshot(LocalPod[] pods)
    {
        public LocalPod[] Pods { get; } = pods;

        /// <summary>Read and written by <see cref="Resolve"/> alone, which the pipeline calls from its one HTTP reader.</summary>
        public Dictionary<string, ActionTargets> Targets { get; } = new(StringComparer.Ordinal);

        /// <summary>Whether <paramref name="listed"/> holds the same pods, in the same order, as this snapshot.</summary>
        public bool IsOf(IReadOnlyList<LocalPod> listed)
        {
            if (listed.Count != Pods.Length)
            {
                return false;
            }

            for (var i = 0; i < Pods.Length; i++)
            {
                if (!SamePod(Pods[i], listed[i]))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>An action's matching pods ordered by name, with the selector and namespace they were chosen by.</summary>
    private sealed record ActionTargets(LabelSelector Selector, string Namespace, LocalPod[] Pods);
}
