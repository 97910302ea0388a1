using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;

namespace Verge.Gateway.Tests.Support;

/// <summary>A started gateway on free ports with fake state, uplink, reporter and command source; cleaned up on dispose.</summary>
internal sealed class GatewayHarness : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _subscribed = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-gw-").FullName;

    // Scoped meters: tests that listen on the process-wide "Verge.Gateway" meters see only their own queues.
    private readonly TestMeterFactory _meters = new();

    private GatewayHarness(Func<GatewayOptions, GatewayOptions>? configure, IReadOnlyList<IUplink>? uplinks, FakeGatewayState state, IDeviceCommandSource? commands, ILocalPods? pods)
    {
        State = state;
        MqttPort = Tools.FreePort();
        IngestPort = Tools.FreePort();
        var options = new GatewayOptions
        {
            GatewayId = "gw1",
            MqttListen = $"127.0.0.1:{MqttPort}",
            IngestListen = $"127.0.0.1:{IngestPort}",
            QueueDirectory = Path.Combine(_directory, "queue"),
            LocalUsers = [new LocalUser("app", "app-secret")],
            UpstreamRetryDelay = TimeSpan.FromMilliseconds(50),
        };
        Module = new GatewayModule(configure?.Invoke(options) ?? options, State, uplinks ?? [Uplink], Reporter, commands ?? Commands, loggers: NullLoggerFactory.Instance, meters: _meters, pods: pods);
    }

    /// <summary>The harness's own meter factory: a listener can tell this gateway's instruments from other tests'.</summary>
    public TestMeterFactory Meters => _meters;

    public FakeGatewayState State { get; }

    public FakeUplink Uplink { get; } = new();

    public FakeReporter Reporter { get; } = new();

    public FakeCommandSource Commands { get; } = new();

    public GatewayModule Module { get; }

    public int MqttPort { get; }

    public int IngestPort { get; }

    public static async Task<GatewayHarness> StartAsync(FakeGatewayState state, Func<GatewayOptions, GatewayOptions>? configure = null, IReadOnlyList<IUplink>? uplinks = null, IDeviceCommandSource? commands = null, ILocalPods? pods = null)
    {
        // Free ports are picked, released and bound again: another test may take one in between, so try anew.
        var harness = new GatewayHarness(configure, uplinks, state, commands, pods);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await harness.Module.StartAsync(CancellationToken.None);
                break;
            }
            catch (Exception e) when (attempt < 5 && e is System.Net.Sockets.SocketException or System.Net.HttpListenerException)
            {
                await harness.DisposeAsync();
                harness = new GatewayHarness(configure, uplinks, state, commands, pods);
            }
        }

        harness.Module.Server!.ClientSubscribedTopicAsync += e =>
        {
            harness._subscribed.Enqueue(e.TopicFilter.Topic);
            return Task.CompletedTask;
        };
        return harness;
    }

    /// <summary>Waits until some client has subscribed to the filter (so a publish after it is not lost).</summary>
    public Task WaitSubscribed(string filter) => Tools.Eventually(() => _subscribed.Contains(filter), $"a subscription to {filter}");

    public async Task<IMqttClient> ConnectAsync(string user, string password, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", MqttPort)
            .WithClientId(user + "-" + Guid.NewGuid().ToString("N")[..8])
            .WithCredentials(user, password)
            .WithProtocolVersion(version)
            .Build();
        await client.ConnectAsync(options);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Module.DisposeAsync();
        _meters.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

internal sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
    {
        options.Scope = this;
        var meter = new System.Diagnostics.Metrics.Meter(options);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
        }
    }
}
