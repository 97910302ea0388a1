using Verge.Core.Policy;
using Verge.Core.Selectors;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Preemption;

/// <summary>
/// What preemption needs of a PodDisruptionBudget, computed once when the loop hands the budgets over: its namespace,
/// its selector, how many disruptions its status allows, and the pods whose eviction it has already counted.
/// </summary>
internal sealed class DisruptionBudgetInfo
{
    private DisruptionBudgetInfo(string? ns, LabelSelectorExpression selector, int allowed, HashSet<string> disrupted)
    {
        Namespace = ns;
        Selector = selector;
        Allowed = allowed;
        Disrupted = disrupted;
    }

    public string? Namespace { get; }

    public LabelSelectorExpression Selector { get; }

    /// <summary><c>status.disruptionsAllowed</c>.</summary>
    public int Allowed { get; }

    /// <summary>The names in <c>status.disruptedPods</c>: their eviction is counted already.</summary>
    public HashSet<string> Disrupted { get; }

    /// <summary>
    /// As kube-scheduler reads a budget: a nil or empty selector matches no pod (the eviction subresource lets an empty
    /// one match every pod of the namespace; preemption does not), nor does an invalid one.
    /// </summary>
    public static DisruptionBudgetInfo Create(PodDisruptionBudget pdb)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        var selector = DisruptionBudgets.SelectorOf(pdb);
        return new DisruptionBudgetInfo(
            pdb.Metadata.Namespace,
            selector.IsEmpty ? LabelSelectorExpression.Nothing : selector,
            pdb.Status?.DisruptionsAllowed ?? 0,
            pdb.Status?.DisruptedPods is { } pods ? new HashSet<string>(pods.Keys, StringComparer.Ordinal) : []);
    }

    /// <summary>Whether evicting <paramref name="pod"/> takes one of this budget's disruptions.</summary>
    public bool Counts(PodInfo pod) =>
        pod.Labels.Count > 0 && pod.Namespace == (Namespace ?? "default") && !Disrupted.Contains(pod.Name) && Selector.Matches(pod.Labels);
}
