namespace Verge.Cli.Simulation;

/// <summary>One simulated node: its name, site, addresses and the fake pod range its pods get IPs from.</summary>
internal sealed class HollowNode
{
    private int _nextPodHost;

    public HollowNode(string prefix, int index, int sites)
    {
        Index = index;
        Name = $"{prefix}-{index:D4}";
        Site = (index - 1) % sites;
        IndexInSite = (index - 1) / sites;
        // 100.64.0.0/10 (shared address space) for node addresses; 10.<site>.<node>.<n> for pods.
        InternalIp = $"100.{64 + ((index >> 16) & 63)}.{(index >> 8) & 255}.{index & 255}";
    }

    /// <summary>1-based, as in the name (<c>hollow-0001</c>).</summary>
    public int Index { get; }

    public string Name { get; }

    public int Site { get; }

    public string SiteLabel => $"site-{Site}";

    /// <summary>The node's position among the nodes of its site (0-based).</summary>
    public int IndexInSite { get; }

    public string InternalIp { get; }

    /// <summary>The node's uid once registered, for the owner reference of its Lease.</summary>
    public string? Uid { get; set; }

    /// <summary>The next pod IP of this node: 10.&lt;site&gt;.&lt;node&gt;.&lt;n&gt;, n cycling through 1..254.</summary>
    public string NextPodIp()
    {
        var host = (Interlocked.Increment(ref _nextPodHost) - 1) % 254 + 1;
        return $"10.{Site % 256}.{IndexInSite % 256}.{host}";
    }
}
