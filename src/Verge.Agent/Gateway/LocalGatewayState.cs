using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Verge.Agent.Channel;
using Verge.Agent.State;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Serialization;
using Verge.Gateway;

namespace Verge.Agent.Gateway;

/// <summary>
/// The gateway's inputs read from the agent's local state: the Devices, DataRules and Secrets the control plane sent
/// over the node channel (and kept through partitions and restarts). Changes to those kinds raise <see cref="Changed"/>;
/// an object that does not parse is skipped (it cannot be served).
/// </summary>
internal sealed class LocalGatewayState : IGatewayState, IDisposable
{
    private readonly LocalState _state;

    public LocalGatewayState(LocalState state)
    {
        _state = state;
        _state.Changed += OnChanged;
    }

    public event Action? Changed;

    public IReadOnlyList<Device> ListDevices() => Read(DesiredKind.Device, NodeJson.TypeInfo<Device>());

    public IReadOnlyList<DataRule> ListDataRules()
    {
        var rules = Read(DesiredKind.DataRule, NodeJson.TypeInfo<DataRule>());
        foreach (var rule in rules)
        {
            EdgeDefaults.DataRule(rule);
        }

        return rules;
    }

    public Secret? GetSecret(string secretNamespace, string name) => _state.GetSecret(secretNamespace, name);

    public void Dispose() => _state.Changed -= OnChanged;

    private List<T> Read<T>(DesiredKind kind, JsonTypeInfo<T> info)
        where T : Core.Meta.KubeObject
    {
        var items = new List<T>();
        foreach (var (key, json) in _state.List(kind))
        {
            try
            {
                if (JsonSerializer.Deserialize(json, info) is { } item)
                {
                    item.Metadata.Namespace ??= key.Namespace.Length == 0 ? null : key.Namespace;
                    item.Metadata.Name ??= key.Name;
                    items.Add(item);
                }
            }
            catch (JsonException)
            {
            }
        }

        return items;
    }

    private void OnChanged(DesiredStateChange change)
    {
        if (change.Snapshot || change.Keys.Any(k => k.Kind is DesiredKind.Device or DesiredKind.DataRule or DesiredKind.Secret))
        {
            Changed?.Invoke();
        }
    }
}
