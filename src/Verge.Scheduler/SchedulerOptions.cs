namespace Verge.Scheduler;

/// <summary>How node resources are scored.</summary>
public enum ScoringStrategy
{
    /// <summary>Prefer nodes with the most room left (spreads load; kube-scheduler's default).</summary>
    LeastAllocated,

    /// <summary>Prefer the fullest nodes that still fit (bin packing; leaves whole nodes free).</summary>
    MostAllocated,
}

/// <summary>Scheduler settings. Weights multiply each score's 0-100 value; 0 turns a score off.</summary>
public sealed class SchedulerOptions
{
    /// <summary>Seed for the walk's starting node and for breaking ties between equal scores.</summary>
    public int Seed { get; init; }

    public ScoringStrategy Strategy { get; init; } = ScoringStrategy.LeastAllocated;

    /// <summary>Resources the allocation score weighs, and how much (kube-scheduler: cpu 1, memory 1).</summary>
    public IReadOnlyDictionary<string, int> ResourceWeights { get; init; } = new Dictionary<string, int>
    {
        ["cpu"] = 1,
        ["memory"] = 1,
    };

    /// <summary>
    /// Share of nodes to find feasible before scoring, 1-100; 0 means adaptive as in kube-scheduler: 50% minus one
    /// point per 125 nodes, at least 5%, and never fewer than 100 nodes.
    /// </summary>
    public int PercentageOfNodesToScore { get; init; }

    public int ResourceAllocationWeight { get; init; } = 1;

    public int NodeAffinityWeight { get; init; } = 2;

    public int TaintTolerationWeight { get; init; } = 3;

    public int TopologySpreadWeight { get; init; } = 2;

    /// <summary>Weight of Verge's locality score (site and devices a pod names).</summary>
    public int LocalityWeight { get; init; } = 5;

    /// <summary>Whether pods that fit nowhere may evict lower-priority pods.</summary>
    public bool EnablePreemption { get; init; } = true;

    public static SchedulerOptions Default { get; } = new();

    /// <exception cref="ArgumentException">A weight is negative or the percentage is out of range.</exception>
    public void Validate()
    {
        if (PercentageOfNodesToScore is < 0 or > 100)
        {
            throw new ArgumentException("PercentageOfNodesToScore must be between 0 and 100");
        }

        if (ResourceAllocationWeight < 0 || NodeAffinityWeight < 0 || TaintTolerationWeight < 0 || TopologySpreadWeight < 0 || LocalityWeight < 0)
        {
            throw new ArgumentException("score weights must not be negative");
        }

        ArgumentNullException.ThrowIfNull(ResourceWeights);
        foreach (var (name, weight) in ResourceWeights)
        {
            if (weight < 0)
            {
                throw new ArgumentException($"resource weight for {name} must not be negative");
            }
        }
    }

    /// <summary>How many feasible nodes to find before scoring, out of <paramref name="nodes"/>.</summary>
    public int FeasibleNodesToFind(int nodes)
    {
        const int MinNodes = 100;
        if (nodes < MinNodes || PercentageOfNodesToScore >= 100)
        {
            return nodes;
        }

        var percentage = PercentageOfNodesToScore;
        if (percentage == 0)
        {
            percentage = Math.Max(5, 50 - (nodes / 125));
        }

        return Math.Max(MinNodes, (int)((long)nodes * percentage / 100));
    }
}
