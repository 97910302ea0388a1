using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Gateway;

namespace Verge.Benchmarks.Gateway;

/// <summary>
/// The Verge side of the broker benchmark, run as its own process so its CPU can be read from /proc: the agent's
/// <see cref="GatewayModule"/> with devices <c>dev-00000</c>... (password <see cref="BrokerBench.DevicePassword"/>)
/// and one local user (<see cref="BrokerBench.AppUser"/>), authentication and ACLs on, as an agent runs it. Only
/// the per-client rate limit is raised (a single benchmark publisher sends far more than the default 2,000 msgs/s).
/// <c>--rule STATEMENT</c> adds one data rule sending its results upstream (to the durable queue, no uplink).
/// Prints a ready line, then serves until SIGTERM.
/// </summary>
internal static class BrokerHost
{
    public const string ReadyLine = "verge broker ready";
    public const string GcLinePrefix = "verge broker gc ";

    public static async Task<int> RunAsync(string[] args)
    {
        var port = 0;
        var devices = 100;
        string? rule = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--port": port = BrokerBench.Positive(args[i], args[i + 1]); break;
                case "--devices": devices = BrokerBench.Positive(args[i], args[i + 1]); break;
                case "--rule": rule = args[i + 1]; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        if (port == 0)
        {
            throw new ArgumentException("--port is required");
        }

        var dir = Directory.CreateTempSubdirectory("verge-broker-bench-");
        try
        {
            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            var reporter = new LatestReporter();
            var options = new GatewayOptions
            {
                GatewayId = "bench",
                MqttListen = $"127.0.0.1:{port}",
                IngestListen = null,
                QueueDirectory = dir.FullName,
                MessagesPerSecond = 10_000_000,
                MessagesBurst = 100_000,
                LocalUsers = [new LocalUser(BrokerBench.AppUser, BrokerBench.AppPassword)],
            };
            await using var gateway = new GatewayModule(options, new StaticState(devices, rule), reporter: reporter, loggers: loggers);
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.TrySetResult();
            });
            await gateway.StartAsync(CancellationToken.None);
            Console.WriteLine(ReadyLine);
            using var gcStop = new CancellationTokenSource();
            var gc = ReportCollectionsAsync(gcStop.Token);
            await stop.Task;
            await gcStop.CancelAsync();
            await gc;
            await gateway.StopAsync(CancellationToken.None);
            Console.WriteLine($"verge broker stopped: {gateway.Counters.Published:N0} published, {reporter.Reports:N0} device reports");
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Prints the garbage collections so far and the time the runtime was paused for them, four times a second while
    /// they change (<c>gc GEN0 GEN1 GEN2 PAUSE_MS</c>), so the harness can tell how much of a phase's tail was GC.
    /// </summary>
    private static async Task ReportCollectionsAsync(CancellationToken ct)
    {
        var last = "";
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var line = string.Create(CultureInfo.InvariantCulture, $"{GcLinePrefix}{GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {GC.GetTotalPauseDuration().TotalMilliseconds:F3}");
                if (line != last)
                {
                    Console.WriteLine(line);
                    last = line;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Devices dev-00000... with one shared password; no rules, or one whose results go upstream.</summary>
    private sealed class StaticState(int count, string? rule) : IGatewayState
    {
        private readonly DataRule[] _rules = rule is null ? [] :
        [
            new DataRule
            {
                Metadata = new() { Name = "bench-rule", Namespace = "default" },
                Spec = new DataRuleSpec { Statement = rule, Actions = [new DataRuleAction { Upstream = new MqttTopicAction { Topic = "bench/upstream" } }] },
            },
        ];

        private readonly Device[] _devices = [.. Enumerable.Range(0, count).Select(i => new Device
        {
            Metadata = new() { Name = BrokerBench.DeviceName(i), Namespace = "default" },
            Spec = new DeviceSpec { Protocol = "mqtt", CredentialsSecret = "bench-creds" },
        })];

        private readonly Secret _secret = new()
        {
            Metadata = new() { Name = "bench-creds", Namespace = "default" },
            Data = new() { ["password"] = Encoding.UTF8.GetBytes(BrokerBench.DevicePassword) },
        };

        public event Action? Changed
        {
            add { }
            remove { }
        }

        public IReadOnlyList<Device> ListDevices() => _devices;

        public IReadOnlyList<DataRule> ListDataRules() => _rules;

        public Secret? GetSecret(string secretNamespace, string name) => name == "bench-creds" ? _secret : null;
    }

    /// <summary>Keeps the latest report per device, as the node channel client does before it sends them on.</summary>
    private sealed class LatestReporter : IDeviceReporter
    {
        private readonly ConcurrentDictionary<string, DeviceReport> _latest = new(StringComparer.Ordinal);
        private long _reports;

        public long Reports => Interlocked.Read(ref _reports);

        public void Report(DeviceReport report)
        {
            _latest[report.Name] = report;
            Interlocked.Increment(ref _reports);
        }
    }
}
