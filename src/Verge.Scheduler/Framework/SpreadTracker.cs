using Verge.Core.Selectors;
using Verge.Scheduler.Snapshot;

namespace Verge.Scheduler.Framework;

/// <summary>
/// Pods matching one spread selector counted per topology domain, over the nodes eligible for the pods that share it
/// (those that carry every key their constraints name and pass the constraint's node-inclusion policies: by default
/// the pod's node selector, affinity and runtime class, and with nodeTaintsPolicy Honor its tolerations). A batch keeps
/// one per distinct (namespace, selector, key, eligibility) and moves the counts as it assumes and evicts pods.
/// </summary>
internal sealed class SpreadTracker
{
    private readonly bool[]? _eligible;
    private readonly int[]? _eligibleDomains;
    private int _min = -1;

    public SpreadTracker(string ns, LabelSelectorExpression selector, TopologyIndex topology, int[] counts, bool[]? eligible)
    {
        Namespace = ns;
        Selector = selector;
        Topology = topology;
        Counts = counts;
        _eligible = eligible;
        if (eligible is not null)
        {
            var domains = new HashSet<int>();
            for (var slot = 0; slot < eligible.Length; slot++)
            {
                if (eligible[slot] && topology.DomainOf(slot) is var d and >= 0)
                {
                    domains.Add(d);
                }
            }

            _eligibleDomains = [.. domains.Order()];
            EligibleDomainCount = _eligibleDomains.Length;
        }
        else
        {
            for (var d = 0; d < topology.DomainCount; d++)
            {
                if (topology.NodesIn(d) > 0)
                {
                    EligibleDomainCount++;
                }
            }
        }
    }

    public string Namespace { get; }

    public LabelSelectorExpression Selector { get; }

    public TopologyIndex Topology { get; }

    /// <summary>Matching pods per domain id of <see cref="Topology"/>.</summary>
    public int[] Counts { get; }

    public bool IsEligible(int slot) => _eligible is null || ((uint)slot < (uint)_eligible.Length && _eligible[slot]);

    /// <summary>Domains with at least one eligible node (fixed for the batch: nodes do not change within it).</summary>
    public int EligibleDomainCount { get; }

    /// <summary>The smallest count over eligible domains (kube-scheduler's global minimum).</summary>
    public int MinCount
    {
        get
        {
            if (_min >= 0)
            {
                return _min;
            }

            var min = int.MaxValue;
            if (_eligibleDomains is not null)
            {
                foreach (var d in _eligibleDomains)
                {
                    min = Math.Min(min, Counts[d]);
                }
            }
            else
            {
                for (var d = 0; d < Topology.DomainCount; d++)
                {
                    if (Topology.NodesIn(d) > 0)
                    {
                        min = Math.Min(min, Counts[d]);
                    }
                }
            }

            _min = min == int.MaxValue ? 0 : min;
            return _min;
        }
    }

    public int CountAt(int slot)
    {
        var domain = Topology.DomainOf(slot);
        return domain >= 0 ? Counts[domain] : 0;
    }

    /// <summary>Counts <paramref name="pod"/> on <paramref name="slot"/> (delta +1) or uncounts it (-1) if it matches.</summary>
    public void Record(PodInfo pod, int slot, int delta)
    {
        if (pod.Namespace != Namespace || pod.Terminating || !IsEligible(slot))
        {
            return;
        }

        var domain = Topology.DomainOf(slot);
        if (domain < 0 || !Selector.Matches(pod.Labels))
        {
            return;
        }

        Counts[domain] += delta;
        _min = -1;
    }
}
