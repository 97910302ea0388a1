namespace Verge.Agent.Drivers;

/// <summary>
/// Environment variables in first-definition order, where a later definition replaces the value but keeps the
/// position: how Kubernetes and OCI runtimes merge env lists (image env, envFrom, env).
/// </summary>
internal sealed class OrderedEnvironment
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <summary>The variables defined so far, for $(VAR) expansion.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    public void Set(string name, string value)
    {
        if (!_values.ContainsKey(name))
        {
            _order.Add(name);
        }

        _values[name] = value;
    }

    public bool Contains(string name) => _values.ContainsKey(name);

    public IReadOnlyList<KeyValuePair<string, string>> ToPairs() => [.. _order.Select(n => KeyValuePair.Create(n, _values[n]))];

    public IReadOnlyList<string> ToEntries() => [.. _order.Select(n => $"{n}={_values[n]}")];
}
