using Verge.Core.Core;

namespace Verge.Scheduler;

/// <summary>A pending pod placed on a node.</summary>
public sealed record PodBinding(Pod Pod, string NodeName)
{
    /// <summary>The pod as the scheduler compiled it, reused when the plan is applied to the snapshot.</summary>
    internal Snapshot.PodInfo? Info { get; init; }
}

/// <summary>A bound pod named by namespace and name, with the priority it had.</summary>
public sealed record PodReference(string Namespace, string Name, int Priority);

/// <summary>
/// A pending pod that fits nowhere but will fit on <see cref="NominatedNodeName"/> once <see cref="Victims"/> are
/// evicted. <see cref="Message"/> is why it did not fit as things stand (its FailedScheduling event).
/// </summary>
public sealed record PodPreemption(Pod Pod, string NominatedNodeName, IReadOnlyList<PodReference> Victims, string Message);

/// <summary>A pending pod that cannot be placed, with kube-scheduler's message for its FailedScheduling event.</summary>
public sealed record PodFailure(Pod Pod, string Message);

/// <summary>The outcome of one batch: bindings, preemptions and failures, in the order pods were considered.</summary>
public sealed class SchedulingPlan
{
    internal SchedulingPlan(List<PodBinding> bindings, List<PodPreemption> preemptions, List<PodFailure> failures, int skipped)
    {
        Bindings = bindings;
        Preemptions = preemptions;
        Failures = failures;
        Skipped = skipped;
    }

    public IReadOnlyList<PodBinding> Bindings { get; }

    public IReadOnlyList<PodPreemption> Preemptions { get; }

    public IReadOnlyList<PodFailure> Failures { get; }

    /// <summary>Pending pods left out: already bound (in the snapshot or by <c>spec.nodeName</c>) or listed twice.</summary>
    public int Skipped { get; }
}
