using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Verge.Core.Core;
using Verge.Core.Edge;

namespace Verge.Gateway.Tests.Support;

/// <summary>An in-memory <see cref="IGatewayState"/>: devices with passwords, data rules, and change notifications.</summary>
internal sealed class FakeGatewayState : IGatewayState
{
    private readonly Lock _gate = new();
    private readonly List<Device> _devices = [];
    private readonly List<DataRule> _rules = [];
    private readonly Dictionary<(string, string), Secret> _secrets = [];

    public event Action? Changed;

    public FakeGatewayState AddDevice(string name, string password, JsonObject? desired = null, string ns = "default")
    {
        lock (_gate)
        {
            _devices.RemoveAll(d => d.Metadata.Name == name);
            _devices.Add(new Device
            {
                Metadata = new() { Name = name, Namespace = ns },
                Spec = new DeviceSpec { Protocol = "mqtt", CredentialsSecret = name + "-creds", Desired = desired },
            });
            _secrets[(ns, name + "-creds")] = new Secret
            {
                Metadata = new() { Name = name + "-creds", Namespace = ns },
                Data = new() { ["password"] = Encoding.UTF8.GetBytes(password) },
            };
        }

        return this;
    }

    public FakeGatewayState SetRule(string name, string statement, params DataRuleAction[] actions)
    {
        lock (_gate)
        {
            _rules.RemoveAll(r => r.Metadata.Name == name);
            var rule = new DataRule { Metadata = new() { Name = name }, Spec = new DataRuleSpec { Statement = statement, Actions = [.. actions] } };
            EdgeDefaults.DataRule(rule);
            _rules.Add(rule);
        }

        return this;
    }

    public void RaiseChanged() => Changed?.Invoke();

    public IReadOnlyList<Device> ListDevices()
    {
        lock (_gate)
        {
            return [.. _devices];
        }
    }

    public IReadOnlyList<DataRule> ListDataRules()
    {
        lock (_gate)
        {
            return [.. _rules];
        }
    }

    public Secret? GetSecret(string secretNamespace, string name)
    {
        lock (_gate)
        {
            return _secrets.GetValueOrDefault((secretNamespace, name));
        }
    }
}

/// <summary>An uplink that records what it was sent; can be told to fail.</summary>
internal sealed class FakeUplink : IUplink
{
    private readonly ConcurrentQueue<UplinkMessage> _received = new();

    public string Name => "fake";

    public bool Available { get; set; } = true;

    public int FailNext { get; set; }

    public IReadOnlyList<UplinkMessage> Received => [.. _received];

    public Task SendAsync(IReadOnlyList<UplinkMessage> batch, CancellationToken ct)
    {
        if (FailNext > 0)
        {
            FailNext--;
            throw new IOException("fake uplink failure");
        }

        foreach (var message in batch)
        {
            _received.Enqueue(message);
        }

        return Task.CompletedTask;
    }
}

internal sealed class FakeReporter : IDeviceReporter
{
    private readonly ConcurrentQueue<DeviceReport> _reports = new();

    public IReadOnlyList<DeviceReport> Reports => [.. _reports];

    public void Report(DeviceReport report) => _reports.Enqueue(report);
}

internal sealed class FakeCommandSource : IDeviceCommandSource
{
    public event Action<DeviceCommand>? CommandReceived;

    public void Send(DeviceCommand command) => CommandReceived?.Invoke(command);
}

internal sealed class FakeLocalPods : ILocalPods
{
    public volatile IReadOnlyList<LocalPod> Ready = [];

    public IReadOnlyList<LocalPod> ListReadyPods() => Ready;
}
