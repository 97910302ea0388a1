using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>Runs the filters in kube-scheduler's order and stops at the first that rejects the node.</summary>
internal static class FilterChain
{
    public static FitCode Run(PendingPod pod, NodeInfo node, ResourceRegistry registry, List<string> reasons)
    {
        var code = NodeUnschedulable.Filter(pod, node, reasons);
        if (code != FitCode.Fit)
        {
            return code;
        }

        if (node.HardTaints.Length > 0 && (code = TaintToleration.Filter(pod, node, reasons)) != FitCode.Fit)
        {
            return code;
        }

        if (pod.HasNodeConstraints && (code = NodeAffinityFilter.Filter(pod, node, reasons)) != FitCode.Fit)
        {
            return code;
        }

        if (pod.RuntimeClass is not null && (code = RuntimeClassFilter.Filter(pod, node, reasons)) != FitCode.Fit)
        {
            return code;
        }

        if (pod.Affinity is not null && (code = InterPodAffinity.Filter(pod, node, reasons)) != FitCode.Fit)
        {
            return code;
        }

        if ((code = NodePorts.Filter(pod, node, reasons)) != FitCode.Fit)
        {
            return code;
        }

        if ((code = ResourceFit.Filter(pod, node, registry, reasons)) != FitCode.Fit)
        {
            return code;
        }

        return TopologySpread.Filter(pod, node, reasons);
    }
}
