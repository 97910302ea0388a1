namespace Verge.Scheduler.Snapshot;

/// <summary>
/// The domains of one topology key (e.g. the sites of <c>verge.dev/site</c>): a dense id per label value, the domain
/// of each node slot (-1 when the node lacks the label) and how many nodes each domain has.
/// </summary>
internal sealed class TopologyIndex
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _values = [];
    private int[] _nodeDomain = [];
    private int[] _nodesPerDomain = [];

    public TopologyIndex(string key, int id)
    {
        Key = key;
        Id = id;
    }

    public string Key { get; }

    /// <summary>Position of this key among the snapshot's topology keys.</summary>
    public int Id { get; }

    public int DomainCount => _values.Count;

    public string ValueOf(int domain) => _values[domain];

    public int NodesIn(int domain) => _nodesPerDomain[domain];

    public int DomainOf(int slot) => (uint)slot < (uint)_nodeDomain.Length ? _nodeDomain[slot] : -1;

    /// <summary>Records the node in <paramref name="slot"/> with its labels; returns its previous and new domain.</summary>
    public (int Old, int New) SetNode(int slot, IReadOnlyDictionary<string, string>? labels)
    {
        var old = DomainOf(slot);
        var next = labels is not null && labels.TryGetValue(Key, out var value) ? DomainIdOf(value) : -1;
        if (slot >= _nodeDomain.Length)
        {
            var size = Math.Max(slot + 1, _nodeDomain.Length * 2);
            var grown = new int[size];
            Array.Fill(grown, -1);
            _nodeDomain.CopyTo(grown, 0);
            _nodeDomain = grown;
        }

        if (old >= 0)
        {
            _nodesPerDomain[old]--;
        }

        if (next >= 0)
        {
            _nodesPerDomain[next]++;
        }

        _nodeDomain[slot] = next;
        return (old, next);
    }

    private int DomainIdOf(string value)
    {
        if (_ids.TryGetValue(value, out var id))
        {
            return id;
        }

        id = _values.Count;
        _ids.Add(value, id);
        _values.Add(value);
        if (id >= _nodesPerDomain.Length)
        {
            Array.Resize(ref _nodesPerDomain, Math.Max(4, _nodesPerDomain.Length * 2));
        }

        return id;
    }
}
