using Verge.Scheduler.Framework;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Filters;

/// <summary>A host port (protocol, IP, port) can be claimed once per node; 0.0.0.0 conflicts with every IP.</summary>
internal static class NodePorts
{
    public static FitCode Filter(PendingPod pod, NodeInfo node, List<string> reasons)
    {
        if (pod.Info.HostPorts.Length == 0 || node.PortCount == 0 || !Conflicts(pod.Info.HostPorts, node))
        {
            return FitCode.Fit;
        }

        reasons.Add(Reasons.NodePorts);
        return FitCode.Unschedulable;
    }

    public static bool Conflicts(HostPort[] wanted, NodeInfo node)
    {
        foreach (var existing in node.Pods)
        {
            foreach (var used in existing.HostPorts)
            {
                foreach (var port in wanted)
                {
                    if (port.ConflictsWith(used))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}
