using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Scores;

/// <summary>
/// How full the node would be with the pod, per weighted resource, averaged by weight into 0-100. Least-allocated
/// scores free room (spreading); most-allocated scores use (bin packing). cpu and memory count pods without requests
/// at kube-scheduler's defaults (100m, 200Mi) so that such pods do not all pile onto one node.
/// </summary>
internal sealed class ResourceAllocation
{
    private readonly (int Index, long Weight)[] _resources;
    private readonly ScoringStrategy _strategy;

    public ResourceAllocation(SchedulerOptions options, ResourceRegistry registry)
    {
        _strategy = options.Strategy;
        _resources = [.. options.ResourceWeights
            .Where(p => p.Value > 0)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => (registry.IndexOf(p.Key), (long)p.Value))
            .Where(p => p.Item1 >= 0)];
    }

    public long Score(PodInfo pod, NodeInfo node)
    {
        long total = 0, weights = 0;
        foreach (var (index, weight) in _resources)
        {
            var allocatable = node.AllocatableOf(index);
            if (allocatable <= 0)
            {
                continue;
            }

            var requested = index switch
            {
                ResourceRegistry.Cpu => node.NonZeroMilliCpu + pod.NonZeroMilliCpu,
                ResourceRegistry.Memory => node.NonZeroMemory + pod.NonZeroMemory,
                _ => node.RequestedOf(index) + RequestOf(pod, index),
            };
            total += weight * Score(requested, allocatable, _strategy);
            weights += weight;
        }

        return weights == 0 ? 0 : total / weights;
    }

    public static long Score(long requested, long allocatable, ScoringStrategy strategy)
    {
        if (allocatable <= 0)
        {
            return 0;
        }

        if (strategy == ScoringStrategy.MostAllocated)
        {
            return (long)((Int128)Math.Min(requested, allocatable) * 100 / allocatable);
        }

        return requested > allocatable ? 0 : (long)((Int128)(allocatable - requested) * 100 / allocatable);
    }

    private static long RequestOf(PodInfo pod, int index)
    {
        foreach (var request in pod.Requests)
        {
            if (request.Index == index)
            {
                return request.Amount;
            }
        }

        return 0;
    }
}
