using Verge.Core.Quantities;

namespace Verge.Scheduler.Snapshot;

/// <summary>
/// Dense indices for resource names so that per-node amounts live in arrays, not dictionaries. cpu is counted in
/// millicores, everything else in whole units (bytes for memory and ephemeral-storage, items for extended resources).
/// </summary>
internal sealed class ResourceRegistry
{
    public const int Cpu = 0;
    public const int Memory = 1;
    public const int EphemeralStorage = 2;
    public const string PodsName = "pods";

    private readonly Dictionary<string, int> _indices = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<string> _insufficient = [];

    public ResourceRegistry()
    {
        GetOrAdd("cpu");
        GetOrAdd("memory");
        GetOrAdd("ephemeral-storage");
    }

    public int Count => _names.Count;

    public string NameOf(int index) => _names[index];

    /// <summary>Kubernetes' reason for a node lacking this resource, e.g. <c>Insufficient cpu</c>.</summary>
    public string InsufficientReason(int index) => _insufficient[index];

    public int GetOrAdd(string name)
    {
        if (_indices.TryGetValue(name, out var index))
        {
            return index;
        }

        index = _names.Count;
        _indices.Add(name, index);
        _names.Add(name);
        _insufficient.Add("Insufficient " + name);
        return index;
    }

    public int IndexOf(string name) => _indices.TryGetValue(name, out var index) ? index : -1;

    /// <summary>The amount in the registry's unit for that resource.</summary>
    public static long Amount(string name, Quantity quantity) =>
        name == "cpu" ? quantity.MilliValue() : quantity.Value();
}
