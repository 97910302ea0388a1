using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>
/// A pod that names a runtime class (<c>spec.runtimeClassName</c>, e.g. <c>runc</c> or <c>process</c>) fits only nodes
/// whose agent lists that class in the <c>verge.dev/runtime-classes</c> annotation; a pod without one fits any node.
/// Kubernetes gets the same effect from a RuntimeClass object's scheduling.nodeSelector; Verge's agents say what they
/// run themselves, so no RuntimeClass objects need to be kept in step with the fleet.
/// </summary>
internal static class RuntimeClassFilter
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        if (Supports(pod, node))
        {
            return FitCode.Fit;
        }

        reasons.Add(Reasons.RuntimeClass(pod.RuntimeClass!));
        return FitCode.Unresolvable;
    }

    public static bool Supports(PendingPod pod, NodeInfo node) =>
        pod.RuntimeClass is not { } name || node.RuntimeClasses?.Contains(name) == true;
}
