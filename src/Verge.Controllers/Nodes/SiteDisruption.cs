using Verge.Core.Core;

namespace Verge.Controllers.Nodes;

/// <summary>How much of a site is NotReady, as Kubernetes' node lifecycle controller judges its zones.</summary>
internal enum DisruptionState
{
    /// <summary>Evictions run at the normal rate.</summary>
    Normal,

    /// <summary>Most of a site went NotReady at once: evictions slow to the secondary rate.</summary>
    PartialDisruption,

    /// <summary>No node of the site is Ready. Evictions run at the normal rate, unless every site is in this state.</summary>
    FullDisruption,
}

/// <summary>A node as the disruption judgement sees it.</summary>
internal readonly record struct NodeHealth(string Name, string Site, bool NotReady);

/// <summary>What one judgement changed, for logs.</summary>
internal sealed record DisruptionChanges(
    IReadOnlyList<(string Site, DisruptionState From, DisruptionState To)> Sites,
    bool? ControlPlaneDisrupted);

/// <summary>
/// Decides which NotReady nodes may get NoExecute taints (and so have their pods evicted), per site, the way
/// Kubernetes' node lifecycle controller rate-limits taints per zone:
/// <list type="bullet">
/// <item>a site is <see cref="DisruptionState.FullDisruption"/> when none of its nodes is Ready, and
/// <see cref="DisruptionState.PartialDisruption"/> when it has at least <see cref="NodeLifecycleOptions.DisruptionMinimumNodes"/>
/// nodes and at least <see cref="NodeLifecycleOptions.UnhealthySiteThreshold"/> of them are NotReady;</item>
/// <item>NotReady nodes of a normal or fully disrupted site are released for eviction at <see cref="NodeLifecycleOptions.EvictionRate"/>
/// (no limit by default), those of a partially disrupted site at <see cref="NodeLifecycleOptions.SecondaryEvictionRate"/>,
/// oldest NotReady first;</item>
/// <item>when every site is fully disrupted, the control plane itself is the likely one cut off or overloaded: no node
/// is released, and nodes released before are taken back (their NoExecute taints removed).</item>
/// </list>
/// Not thread-safe: the node lifecycle controller calls it from its monitor pass only, and reads
/// <see cref="IsEvictable"/> from its workers.
/// </summary>
internal sealed class SiteDisruption(NodeLifecycleOptions options)
{
    public const string SiteLabel = "verge.dev/site";
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    private readonly Dictionary<string, (DisruptionState State, TokenBucket? Bucket)> _sites = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset Since, long Order)> _notReadySince = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _evictable = new(StringComparer.Ordinal);
    private long _order;

    /// <summary>Whether every site is fully disrupted, so nothing is evicted.</summary>
    public bool ControlPlaneDisrupted { get; private set; }

    /// <summary>The state of each site seen in the last judgement.</summary>
    public IReadOnlyDictionary<string, DisruptionState> States => _sites.ToDictionary(s => s.Key, s => s.Value.State, StringComparer.Ordinal);

    /// <summary>Whether the node's NoExecute taints may be set (thread-safe).</summary>
    public bool IsEvictable(string node) => _evictable.ContainsKey(node);

    /// <summary>The site of a node: its <c>verge.dev/site</c> label, else its zone label, else the unnamed site.</summary>
    public static string SiteOf(Node node)
    {
        var labels = node.Metadata.Labels;
        if (labels is null)
        {
            return "";
        }

        return labels.TryGetValue(SiteLabel, out var site) && site.Length > 0 ? site
            : labels.TryGetValue(ZoneLabel, out var zone) ? zone
            : "";
    }

    /// <summary>The state of a site with <paramref name="total"/> nodes of which <paramref name="notReady"/> are NotReady.</summary>
    public static DisruptionState StateOf(int total, int notReady, double threshold, int minimumNodes) =>
        notReady > 0 && notReady == total ? DisruptionState.FullDisruption
        : total >= minimumNodes && (double)notReady / total >= threshold ? DisruptionState.PartialDisruption
        : DisruptionState.Normal;

    /// <summary>Judges every node at <paramref name="now"/>; returns what changed.</summary>
    public DisruptionChanges Update(IReadOnlyCollection<NodeHealth> nodes, DateTimeOffset now)
    {
        var present = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (!node.NotReady)
            {
                _notReadySince.Remove(node.Name);
                _evictable.TryRemove(node.Name, out _);
            }
            else if (!_notReadySince.ContainsKey(node.Name))
            {
                _notReadySince[node.Name] = (now, _order++);
            }
        }

        foreach (var gone in _notReadySince.Keys.Where(n => !present.Contains(n)).ToList())
        {
            _notReadySince.Remove(gone);
        }

        foreach (var gone in _evictable.Keys.Where(n => !present.Contains(n)))
        {
            _evictable.TryRemove(gone, out _);
        }

        var changedSites = new List<(string, DisruptionState, DisruptionState)>();
        var bySite = nodes.GroupBy(n => n.Site, StringComparer.Ordinal).ToList();
        foreach (var site in bySite)
        {
            var state = StateOf(site.Count(), site.Count(n => n.NotReady), options.UnhealthySiteThreshold, options.DisruptionMinimumNodes);
            var old = _sites.TryGetValue(site.Key, out var entry) ? entry.State : DisruptionState.Normal;
            if (!_sites.ContainsKey(site.Key) || old != state)
            {
                // As in Kubernetes, a site that changes state starts with a fresh limiter at its new rate.
                _sites[site.Key] = (state, NewBucket(state, now));
                if (old != state)
                {
                    changedSites.Add((site.Key, old, state));
                }
            }
        }

        foreach (var gone in _sites.Keys.Where(s => bySite.All(g => g.Key != s)).ToList())
        {
            _sites.Remove(gone);
        }

        var disrupted = bySite.Count > 0 && bySite.All(s => _sites[s.Key].State == DisruptionState.FullDisruption);
        bool? controlPlaneChange = disrupted == ControlPlaneDisrupted ? null : disrupted;
        ControlPlaneDisrupted = disrupted;
        if (disrupted)
        {
            _evictable.Clear();
            return new DisruptionChanges(changedSites, controlPlaneChange);
        }

        foreach (var site in bySite)
        {
            var bucket = _sites[site.Key].Bucket;
            var waiting = site.Where(n => n.NotReady && !_evictable.ContainsKey(n.Name))
                .OrderBy(n => _notReadySince[n.Name].Order);
            foreach (var node in waiting)
            {
                if (bucket is not null && !bucket.TryTake(now))
                {
                    break;
                }

                _evictable[node.Name] = 0;
            }
        }

        return new DisruptionChanges(changedSites, controlPlaneChange);
    }

    private TokenBucket? NewBucket(DisruptionState state, DateTimeOffset now) => state == DisruptionState.PartialDisruption
        ? new TokenBucket(options.SecondaryEvictionRate, now)
        : options.EvictionRate is { } rate ? new TokenBucket(rate, now) : null;

    /// <summary>Nodes per second with a burst of one, full at the start; a rate of 0 never gives a token.</summary>
    private sealed class TokenBucket(double rate, DateTimeOffset start)
    {
        private double _tokens = rate > 0 ? 1 : 0;
        private DateTimeOffset _last = start;

        public bool TryTake(DateTimeOffset now)
        {
            if (now > _last)
            {
                _tokens = Math.Min(1, _tokens + ((now - _last).TotalSeconds * rate));
                _last = now;
            }

            if (_tokens < 1 - 1e-9)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
