using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Gateway;

namespace Verge.Benchmarks.Gateway;

/// <summary>Settings of the acknowledgement run.</summary>
internal sealed class AckHarnessOptions
{
    public int Messages { get; private set; } = 20_000;

    public IReadOnlyList<int> Devices { get; private set; } = [1, 8];

    /// <summary>QoS 1 messages each device keeps in flight (1: it waits for each PUBACK before the next).</summary>
    public IReadOnlyList<int> InFlight { get; private set; } = [1, 16];

    public static AckHarnessOptions Parse(string[] args)
    {
        var options = new AckHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--messages": options.Messages = RulesHarnessOptions.Positive(name, value); break;
                case "--devices": options.Devices = [.. value.Split(',').Select(v => RulesHarnessOptions.Positive(name, v))]; break;
                case "--inflight": options.InFlight = [.. value.Split(',').Select(v => RulesHarnessOptions.Positive(name, v))]; break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return options;
    }
}

/// <summary>
/// What acknowledging a QoS 1 PUBLISH only once its upstream output is fsynced costs: a gateway (GatewayModule on
/// 127.0.0.1) with a stateless rule sending every message upstream, and N devices (MQTTnet clients in this process),
/// each publishing its share of the messages with K of them in flight (K = 1: awaiting each PUBACK). Run with
/// <see cref="GatewayOptions.AcknowledgeWhenDurable"/> on and off, in the same process, one after the other.
/// </summary>
internal static class AckHarness
{
    public static async Task<int> RunAsync(AckHarnessOptions options)
    {
        Console.WriteLine($"ack: {options.Messages:N0} QoS 1 messages, devices {string.Join(", ", options.Devices)}, in flight {string.Join(", ", options.InFlight)}, rule output upstream to the durable queue");
        Console.WriteLine("| Devices | In flight per device | PUBACK | Messages/s (all devices) | Per device | CPU per message (whole process) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var devices in options.Devices)
        {
            foreach (var inFlight in options.InFlight)
            {
                foreach (var durable in new[] { true, false })
                {
                    var (elapsed, cpu) = await RunOnceAsync(options.Messages, devices, inFlight, durable);
                    var rate = options.Messages / elapsed.TotalSeconds;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {devices} | {inFlight} | {(durable ? "after fsync" : "after the pipeline took it")} | {rate:N0} | {rate / devices:N0} | {cpu.TotalMicroseconds / options.Messages:F1} µs |"));
                }
            }
        }

        return 0;
    }

    private static async Task<(TimeSpan Elapsed, TimeSpan Cpu)> RunOnceAsync(int messages, int devices, int inFlight, bool durable)
    {
        var dir = Directory.CreateTempSubdirectory("verge-ack-bench-").FullName;
        var port = FreePort();
        var state = new BenchState(devices);
        await using (var gateway = new GatewayModule(
            new GatewayOptions
            {
                GatewayId = "bench",
                MqttListen = $"127.0.0.1:{port}",
                IngestListen = null,
                QueueDirectory = Path.Combine(dir, "queue"),
                AcknowledgeWhenDurable = durable,
                MessagesPerSecond = 1_000_000,
                MessagesBurst = 1_000_000,
            },
            state))
        {
            await gateway.StartAsync(CancellationToken.None);
            var clients = new List<IMqttClient>();
            for (var d = 0; d < devices; d++)
            {
                var client = new MqttClientFactory().CreateMqttClient();
                await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"d{d}")
                    .WithCredentials($"d{d}", "pw").WithProtocolVersion(MqttProtocolVersion.V311).Build());
                clients.Add(client);
            }

            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select((client, d) => Task.Run(async () =>
            {
                var window = new Queue<Task>();
                for (var i = d; i < messages; i += devices)
                {
                    var message = new MqttApplicationMessageBuilder().WithTopic($"devices/d{d}/telemetry")
                        .WithPayload(Encoding.UTF8.GetBytes($"{{\"seq\":{i},\"temp\":21.5}}"))
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
                    window.Enqueue(client.PublishAsync(message));
                    if (window.Count >= inFlight)
                    {
                        await window.Dequeue();
                    }
                }

                await Task.WhenAll(window);
            })));
            var elapsed = clock.Elapsed;
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            if (durable && gateway.Queue!.LastSequence != messages)
            {
                throw new InvalidOperationException($"the queue holds {gateway.Queue.LastSequence} messages, not {messages}");
            }

            foreach (var client in clients)
            {
                await client.DisconnectAsync();
                client.Dispose();
            }

            Directory.Delete(dir, recursive: true);
            return (elapsed, cpu);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Devices d0..dN-1 with password "pw" and one stateless rule sending every message upstream.</summary>
    private sealed class BenchState(int devices) : IGatewayState
    {
        private readonly DataRule _rule = Rule();

        public event Action? Changed
        {
            add { }
            remove { }
        }

        public IReadOnlyList<Device> ListDevices() =>
            [.. Enumerable.Range(0, devices).Select(d => new Device
            {
                Metadata = new() { Name = $"d{d}", Namespace = "default" },
                Spec = new DeviceSpec { Protocol = "mqtt", CredentialsSecret = "creds" },
            })];

        public IReadOnlyList<DataRule> ListDataRules() => [_rule];

        public Secret? GetSecret(string secretNamespace, string name) =>
            new() { Metadata = new() { Name = name, Namespace = secretNamespace }, Data = new() { ["password"] = "pw"u8.ToArray() } };

        private static DataRule Rule()
        {
            var rule = new DataRule
            {
                Metadata = new() { Name = "up", Namespace = "default" },
                Spec = new DataRuleSpec
                {
                    Statement = "SELECT topic(2) AS device, seq, temp FROM 'devices/+/telemetry'",
                    Actions = [new DataRuleAction { Upstream = new MqttTopicAction { Topic = "sites/bench/raw" } }],
                },
            };
            EdgeDefaults.DataRule(rule);
            return rule;
        }
    }
}
