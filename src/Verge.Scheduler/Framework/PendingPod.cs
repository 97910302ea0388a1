using Verge.Core.Core;
using Verge.Core.Selectors;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Framework;

/// <summary>
/// One topology spread constraint, compiled: its key's index, its selector (with the pod's own values of its
/// matchLabelKeys ANDed in), whether the pod itself matches, and which nodes its node-inclusion policies count.
/// </summary>
internal sealed class SpreadConstraint
{
    public required TopologyIndex Topology { get; init; }

    public required int MaxSkew { get; init; }

    public required int MinDomains { get; init; }

    /// <summary><c>nodeAffinityPolicy: Honor</c> (the default): only nodes the pod's node selector, required affinity and runtime class allow count.</summary>
    public bool HonorsNodeAffinity { get; init; } = true;

    /// <summary><c>nodeTaintsPolicy: Honor</c> (default Ignore): nodes with a NoSchedule or NoExecute taint the pod does not tolerate do not count.</summary>
    public bool HonorsTaints { get; init; }

    public required LabelSelectorExpression Selector { get; init; }

    /// <summary>Selector text, part of the key under which a batch shares counts between pods.</summary>
    public required string SelectorText { get; init; }

    /// <summary>1 when the constraint's selector matches the incoming pod's own labels, else 0.</summary>
    public required int SelfMatch { get; init; }

    /// <summary>Set when the selector is exactly one <c>key=value</c>: counts then come from the snapshot's index.</summary>
    public (string Key, string Value)? SingleLabel { get; init; }

    /// <summary>The batch's counts for this constraint, bound just before the pod is filtered.</summary>
    public SpreadTracker? Tracker { get; set; }
}

/// <summary>A pending pod with everything the filters and scores read, compiled once.</summary>
internal sealed class PendingPod
{
    public required PodInfo Info { get; init; }

    public required KeyValuePair<string, string>[] NodeSelector { get; init; }

    /// <summary>Required node affinity terms (ORed); null when the pod has none.</summary>
    public required List<NodeSelectorTerm>? RequiredTerms { get; init; }

    public required PreferredSchedulingTerm[] PreferredTerms { get; init; }

    public required Toleration[] Tolerations { get; init; }

    public required SpreadConstraint[] HardSpread { get; init; }

    public required SpreadConstraint[] SoftSpread { get; init; }

    public string? Site { get; init; }

    public HashSet<string>? Devices { get; init; }

    public string? NominatedNode { get; init; }

    /// <summary>Required pod affinity terms: the node's domain must hold a pod each term matches.</summary>
    public required AffinityTerm[] RequiredAffinity { get; init; }

    /// <summary>The domains the pod must keep out of, bound by <see cref="BatchState.BindAffinity"/> before filtering.</summary>
    public Filters.InterPodAffinityState? Affinity { get; set; }

    /// <summary>The pod's <c>spec.runtimeClassName</c>, null when it names none.</summary>
    public string? RuntimeClass { get; init; }

    /// <summary>Identifies the pod's node selector and required affinity, so pods sharing them share eligibility.</summary>
    public required string AffinitySignature { get; init; }

    /// <summary>
    /// The only nodes the required affinity allows by name (<c>matchFields</c> on <c>metadata.name</c> with In in every
    /// term, as DaemonSet pods carry), or null when it allows others: the scheduler then filters just these instead of
    /// walking the cluster, as kube-scheduler's NodeAffinity PreFilter does.
    /// </summary>
    public string[]? OnlyNodes { get; init; }

    /// <summary>Identifies the pod's tolerations, so pods whose spread honours taints share eligibility; "" when none does.</summary>
    public string TolerationSignature { get; init; } = "";

    public bool HasNodeConstraints => NodeSelector.Length > 0 || RequiredTerms is not null;

    public Pod Pod => Info.Pod;

    /// <exception cref="FormatException">A spread constraint's selector is not valid.</exception>
    public static PendingPod Compile(Pod pod, ClusterSnapshot snapshot)
    {
        var info = PodInfo.Create(pod, snapshot.Resources, registerResources: false);
        var spec = pod.Spec;
        var nodeSelector = spec.NodeSelector is { Count: > 0 } ns
            ? ns.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray()
            : [];
        var nodeAffinity = spec.Affinity?.NodeAffinity;
        var required = nodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;

        var hard = new List<SpreadConstraint>();
        var soft = new List<SpreadConstraint>();
        foreach (var constraint in spec.TopologySpreadConstraints ?? [])
        {
            var compiled = CompileSpread(constraint, info, snapshot);
            (constraint.WhenUnsatisfiable == "ScheduleAnyway" ? soft : hard).Add(compiled);
        }

        var tolerations = spec.Tolerations?.ToArray() ?? [];
        var annotations = pod.Metadata.Annotations;
        var site = annotations?.GetValueOrDefault(Conventions.SiteAnnotation);
        var runtimeClass = string.IsNullOrWhiteSpace(spec.RuntimeClassName) ? null : spec.RuntimeClassName.Trim();
        return new PendingPod
        {
            Info = info,
            NodeSelector = nodeSelector,
            RequiredTerms = required,
            OnlyNodes = NamedNodes(required),
            PreferredTerms = nodeAffinity?.PreferredDuringSchedulingIgnoredDuringExecution?.ToArray() ?? [],
            Tolerations = tolerations,
            TolerationSignature = hard.Exists(c => c.HonorsTaints) || soft.Exists(c => c.HonorsTaints) ? Signature(tolerations) : "",
            HardSpread = [.. hard],
            SoftSpread = [.. soft],
            Site = string.IsNullOrWhiteSpace(site) ? null : site.Trim(),
            Devices = NodeInfo.ParseList(annotations?.GetValueOrDefault(Conventions.DevicesAnnotation)),
            NominatedNode = pod.Status?.NominatedNodeName,
            RuntimeClass = runtimeClass,
            RequiredAffinity = AffinityTerm.CompileRequired(spec.Affinity?.PodAffinity, info.Namespace),
            AffinitySignature = (nodeSelector.Length == 0 && required is null ? "" : Signature(nodeSelector, required))
                + (runtimeClass is null ? "" : "|rc=" + runtimeClass),
        };
    }

    /// <summary>kube-scheduler's NodeAffinity PreFilter: the union over terms of the names each term's requirements allow.</summary>
    private static string[]? NamedNodes(List<NodeSelectorTerm>? terms)
    {
        if (terms is not { Count: > 0 })
        {
            return null;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var term in terms)
        {
            HashSet<string>? termNames = null;
            foreach (var r in term.MatchFields ?? [])
            {
                if (r.Key == NodeSelectorMatching.NodeNameField && r.Operator == "In")
                {
                    if (termNames is null)
                    {
                        termNames = new HashSet<string>(r.Values ?? [], StringComparer.Ordinal);
                    }
                    else
                    {
                        termNames.IntersectWith(r.Values ?? []);
                    }
                }
            }

            if (termNames is null)
            {
                return null;
            }

            names.UnionWith(termNames);
        }

        return [.. names.Order(StringComparer.Ordinal)];
    }

    private static SpreadConstraint CompileSpread(TopologySpreadConstraint constraint, PodInfo pod, ClusterSnapshot snapshot)
    {
        var selector = LabelSelectorExpression.FromLabelSelector(constraint.LabelSelector);
        if (constraint.MatchLabelKeys is { Count: > 0 } keys && OwnValues(keys, pod.Labels) is { Count: > 0 } own)
        {
            // kube-scheduler ANDs key=value into the selector for each key the pod has, and skips keys it lacks.
            selector = selector.WithLabels(own);
        }

        (string, string)? single = null;
        if (!selector.MatchesNothing && selector.Requirements.Count == 1
            && selector.Requirements[0] is { Operator: SelectorOperator.Equals or SelectorOperator.DoubleEquals or SelectorOperator.In, Values.Count: 1 } r)
        {
            single = (r.Key, r.Values[0]);
        }

        return new SpreadConstraint
        {
            Topology = snapshot.Topology(constraint.TopologyKey),
            MaxSkew = Math.Max(1, constraint.MaxSkew),
            MinDomains = constraint.MinDomains ?? 1,
            HonorsNodeAffinity = constraint.NodeAffinityPolicy != "Ignore",
            HonorsTaints = constraint.NodeTaintsPolicy == "Honor",
            Selector = selector,
            SelectorText = selector.MatchesNothing ? "<nothing>" : selector.ToString(),
            SelfMatch = selector.Matches(pod.Labels) ? 1 : 0,
            SingleLabel = single,
        };
    }

    private static List<KeyValuePair<string, string>>? OwnValues(List<string> keys, Dictionary<string, string> labels)
    {
        List<KeyValuePair<string, string>>? own = null;
        foreach (var key in keys)
        {
            if (labels.TryGetValue(key, out var value) && (own is null || !own.Exists(p => p.Key == key)))
            {
                (own ??= []).Add(new(key, value));
            }
        }

        return own;
    }

    private static string Signature(Toleration[] tolerations)
    {
        var sb = new System.Text.StringBuilder("t:");
        foreach (var t in tolerations)
        {
            sb.Append(t.Key).Append(' ').Append(t.Operator).Append(' ').Append(t.Value).Append(' ').Append(t.Effect).Append(';');
        }

        return sb.ToString();
    }

    private static string Signature(KeyValuePair<string, string>[] nodeSelector, List<NodeSelectorTerm>? terms)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (key, value) in nodeSelector)
        {
            sb.Append(key).Append('=').Append(value).Append(';');
        }

        sb.Append(terms is null ? "|-" : "|+");
        foreach (var term in terms ?? [])
        {
            foreach (var r in term.MatchExpressions ?? [])
            {
                sb.Append(r.Key).Append(' ').Append(r.Operator).Append(' ').AppendJoin(',', r.Values ?? []).Append(';');
            }

            sb.Append('&');
            foreach (var r in term.MatchFields ?? [])
            {
                sb.Append(r.Key).Append(' ').Append(r.Operator).Append(' ').AppendJoin(',', r.Values ?? []).Append(';');
            }

            sb.Append("||");
        }

        return sb.ToString();
    }
}
