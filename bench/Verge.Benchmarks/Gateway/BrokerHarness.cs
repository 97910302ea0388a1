using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Verge.Benchmarks.Agent;

namespace Verge.Benchmarks.Gateway;

/// <summary>Settings of the broker run.</summary>
internal sealed class BrokerHarnessOptions
{
    public static readonly string[] AllScenarios =
    [
        "fanin-q0-64", "fanin-q1-64", "fanout-q0-64", "fanout-q1-64",
        "fanin-q0-1024", "fanin-q1-1024", "fanout-q0-1024", "fanout-q1-1024",
        "one-q0-64", "one-q1-64",
    ];

    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Publishers of fan-in and subscribers of fan-out.</summary>
    public int Clients { get; private set; } = 100;

    /// <summary>Seconds measured per phase (after one second of warm-up).</summary>
    public int Seconds { get; private set; } = 5;

    /// <summary>Deliveries per second offered in the latency phase (below saturation).</summary>
    public int LatencyRate { get; private set; } = 10_000;

    /// <summary>Published messages not yet delivered to every subscriber, at most (max-rate phase).</summary>
    public int Window { get; private set; } = 500;

    /// <summary>Unacknowledged QoS 1 messages per publisher, at most.</summary>
    public int Qos1Window { get; private set; } = 100;

    public string Brokers { get; private set; } = "verge,mosquitto";

    public string Mosquitto { get; private set; } = "/usr/sbin/mosquitto";

    /// <summary>
    /// The Verge broker executable: by default this process's own <c>broker-host</c> mode (JIT); or the Native AOT
    /// build of bench/Verge.BrokerHost (<c>verge-broker-host</c>), with the agent's runtime settings.
    /// </summary>
    public string? VergeHost { get; private set; }

    /// <summary>A data rule statement for the Verge broker (none by default), e.g. one no benchmark topic matches.</summary>
    public string? VergeRule { get; private set; }

    /// <summary>
    /// Environment for the Verge broker process (GC settings, for example). By default the thread-pool spin limit of
    /// the Native AOT agent (verge-agent sets System.Threading.ThreadPool.UnfairSemaphoreSpinLimit=0).
    /// </summary>
    public Dictionary<string, string> VergeEnvironment { get; } = new() { ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0" };

    public static BrokerHarnessOptions Parse(string[] args)
    {
        var options = new BrokerHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--scenarios":
                    var list = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    foreach (var s in list)
                    {
                        _ = Scenario.Parse(s, 1);
                    }

                    options.Scenarios = list;
                    break;
                case "--clients": options.Clients = RulesHarnessOptions.Positive(name, value); break;
                case "--seconds": options.Seconds = RulesHarnessOptions.Positive(name, value); break;
                case "--latency-rate": options.LatencyRate = RulesHarnessOptions.Positive(name, value); break;
                case "--window": options.Window = RulesHarnessOptions.Positive(name, value); break;
                case "--qos1-window": options.Qos1Window = RulesHarnessOptions.Positive(name, value); break;
                case "--brokers": options.Brokers = value; break;
                case "--mosquitto": options.Mosquitto = value; break;
                case "--verge-rule": options.VergeRule = value; break;
                case "--verge-host":
                    options.VergeHost = File.Exists(value) ? Path.GetFullPath(value) : throw new ArgumentException($"--verge-host: {value} not found (dotnet publish bench/Verge.BrokerHost -r linux-x64 -o DIR)");
                    break;
                case "--verge-env":
                    var eq = value.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException($"--verge-env takes NAME=VALUE, got \"{value}\"");
                    }

                    options.VergeEnvironment[value[..eq]] = value[(eq + 1)..];
                    break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return options;
    }
}

/// <summary>fanin (N devices, one local subscriber on devices/+/telemetry), fanout (one device, N local subscribers on its topic) or one (one device, one local subscriber).</summary>
internal sealed record Scenario(string Name, string Kind, int Publishers, int Subscribers, int Qos, int PayloadBytes)
{
    public static Scenario Parse(string name, int clients)
    {
        var parts = name.Split('-');
        if (parts.Length != 3 || parts[1] is not ("q0" or "q1") || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < 16)
        {
            throw new ArgumentException($"scenario \"{name}\" is not KIND-q0|q1-BYTES (KIND fanin, fanout or one; BYTES at least 16)");
        }

        var qos = parts[1] == "q1" ? 1 : 0;
        return parts[0] switch
        {
            "fanin" => new Scenario(name, "fanin", clients, 1, qos, size),
            "fanout" => new Scenario(name, "fanout", 1, clients, qos, size),
            "one" => new Scenario(name, "one", 1, 1, qos, size),
            _ => throw new ArgumentException($"scenario \"{name}\": kind must be fanin, fanout or one"),
        };
    }

    public string Filter => Kind == "fanin" ? "devices/+/telemetry" : $"devices/{BrokerHarness.DeviceName(0)}/telemetry";
}

/// <summary>What one phase measured.</summary>
internal sealed record PhaseResult(double Seconds, long Published, long Delivered, double BrokerCpu, double GeneratorCpu, LatencyHistogram Latencies)
{
    public double DeliveredPerSecond => Delivered / Seconds;

    public double BrokerMsPer1000 => Delivered == 0 ? double.NaN : BrokerCpu * 1000 / Delivered * 1000;

    public double GeneratorMsPer1000 => Delivered == 0 ? double.NaN : GeneratorCpu * 1000 / Delivered * 1000;
}

internal sealed record ScenarioResult(string Broker, Scenario Scenario, PhaseResult Max, PhaseResult Fixed, long Lost, string? FixedGc = null);

/// <summary>
/// Verge's broker (the gateway module in its own process, authentication and ACLs on) against mosquitto in one run,
/// driven by the same raw-socket load generator (<see cref="RawMqttClient"/>) with the same message sizes. Per scenario
/// and broker: the delivered rate at saturation (a closed loop: at most <c>--window</c> published messages not yet
/// delivered everywhere), broker CPU per 1,000 deliveries from /proc/PID/stat, the generator's own CPU
/// (/proc/self/stat), and end-to-end latency percentiles at a fixed offered rate.
/// </summary>
internal static class BrokerHarness
{
    public const string DevicePassword = BrokerBench.DevicePassword;
    public const string AppUser = BrokerBench.AppUser;
    public const string AppPassword = BrokerBench.AppPassword;

    public static string DeviceName(int i) => BrokerBench.DeviceName(i);

    public static async Task<int> RunAsync(BrokerHarnessOptions options)
    {
        var scenarios = options.Scenarios.Select(s => Scenario.Parse(s, options.Clients)).ToList();
        var brokers = options.Brokers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var devices = Math.Max(options.Clients, 1);
        Console.WriteLine($"broker: scenarios {string.Join(", ", options.Scenarios)}; {options.Seconds} s per phase after 1 s warm-up; " +
            $"latency at {options.LatencyRate:N0} deliveries/s; window {options.Window} messages, QoS 1 window {options.Qos1Window} per publisher; " +
            $"Verge environment {string.Join(' ', options.VergeEnvironment.Select(kv => $"{kv.Key}={kv.Value}"))}; " +
            $"Verge rule {options.VergeRule ?? "none"}; Verge host {options.VergeHost ?? "broker-host (JIT)"}; load average {LoadAverage()}");
        var dir = Directory.CreateTempSubdirectory("verge-broker-harness-");
        var results = new List<ScenarioResult>();
        var running = new List<(string Name, ChildProcess Process, IPEndPoint Endpoint)>();
        try
        {
            foreach (var broker in brokers)
            {
                var port = FreePort();
                var endpoint = new IPEndPoint(IPAddress.Loopback, port);
                var process = broker switch
                {
                    "verge" => StartVerge(port, devices, options),
                    "mosquitto" => await StartMosquittoAsync(options.Mosquitto, port, devices, dir.FullName),
                    _ => throw new ArgumentException($"unknown broker {broker} (verge, mosquitto)"),
                };
                running.Add((broker, process, endpoint));
                if (broker == "verge")
                {
                    await process.WaitForLineAsync(l => l.Contains(BrokerHost.ReadyLine, StringComparison.Ordinal), TimeSpan.FromSeconds(60), CancellationToken.None);
                }
                else
                {
                    await WaitForPortAsync(endpoint, process);
                }
            }

            foreach (var scenario in scenarios)
            {
                foreach (var (name, process, endpoint) in running)
                {
                    var result = await RunScenarioAsync(name, process, endpoint, scenario, options);
                    results.Add(result);
                    Console.WriteLine($"  {scenario.Name,-15} {name,-9} max {result.Max.DeliveredPerSecond,10:N0} deliveries/s, broker {result.Max.BrokerMsPer1000,6:F1} ms CPU/1000, generator {result.Max.GeneratorMsPer1000,6:F1} ms CPU/1000; " +
                        $"at {result.Fixed.DeliveredPerSecond:N0}/s p50 {result.Fixed.Latencies.Quantile(0.5):F3} ms p99 {result.Fixed.Latencies.Quantile(0.99):F3} ms, broker {result.Fixed.BrokerMsPer1000:F1} ms CPU/1000; lost {result.Lost}; load {LoadAverage()}" +
                        (result.FixedGc is null ? "" : $"; {result.FixedGc}"));
                }
            }
        }
        finally
        {
            foreach (var (_, process, _) in running)
            {
                await process.StopAsync(TimeSpan.FromSeconds(10));
                await process.DisposeAsync();
            }

            dir.Delete(recursive: true);
        }

        PrintTable(results);
        return 0;
    }

    /// <summary>The broker host's latest "gc" line: collections of generations 0, 1 and 2 and the total pause in ms; null for mosquitto.</summary>
    private static double[]? Collections(ChildProcess process)
    {
        var line = process.Tail().Split('\n').LastOrDefault(l => l.StartsWith(BrokerHost.GcLinePrefix, StringComparison.Ordinal));
        return line?[BrokerHost.GcLinePrefix.Length..].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }

    private static ChildProcess StartVerge(int port, int devices, BrokerHarnessOptions options)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var args = new List<string>();
        if (options.VergeHost is not null)
        {
            self = options.VergeHost;
        }
        else
        {
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                args.Add(typeof(BrokerHarness).Assembly.Location);
            }

            args.Add("broker-host");
        }

        args.AddRange(["--port", port.ToString(CultureInfo.InvariantCulture), "--devices", devices.ToString(CultureInfo.InvariantCulture)]);
        if (options.VergeRule is not null)
        {
            args.AddRange(["--rule", options.VergeRule]);
        }
        return ChildProcess.Start("verge broker", self, args, options.VergeEnvironment);
    }

    /// <summary>mosquitto with the same users (password file) and the same ACLs as Verge's defaults (devices publish under devices/{name}/, the app reads everything).</summary>
    private static async Task<ChildProcess> StartMosquittoAsync(string mosquitto, int port, int devices, string dir)
    {
        if (!File.Exists(mosquitto))
        {
            throw new FileNotFoundException($"{mosquitto} not found: apt-get install -y mosquitto");
        }

        var passwords = Path.Combine(dir, "passwords");
        var lines = Enumerable.Range(0, devices).Select(i => $"{DeviceName(i)}:{DevicePassword}").Append($"{AppUser}:{AppPassword}");
        await File.WriteAllLinesAsync(passwords, lines);
        using (var hash = Process.Start("mosquitto_passwd", ["-U", passwords]) ?? throw new InvalidOperationException("mosquitto_passwd did not start"))
        {
            await hash.WaitForExitAsync();
            if (hash.ExitCode != 0)
            {
                throw new InvalidOperationException("mosquitto_passwd -U failed (apt-get install -y mosquitto)");
            }
        }

        var acl = Path.Combine(dir, "acl");
        await File.WriteAllTextAsync(acl, $"user {AppUser}\ntopic readwrite #\n\npattern write devices/%u/#\npattern read devices/%u/commands/#\n");
        var config = Path.Combine(dir, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"user root\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nacl_file {acl}\npersistence false\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\n");
        return ChildProcess.Start("mosquitto", mosquitto, ["-c", config]);
    }

    private static async Task<ScenarioResult> RunScenarioAsync(string broker, ChildProcess process, IPEndPoint endpoint, Scenario scenario, BrokerHarnessOptions options)
    {
        using var cts = new CancellationTokenSource();
        var driver = new LoadDriver();
        var subscribers = new List<(RawMqttClient Client, LoadSubscriber Sub)>();
        var publishers = new List<(RawMqttClient Client, LoadPublisher Pub)>();
        var loops = new List<Task>();
        try
        {
            for (var i = 0; i < scenario.Subscribers; i++)
            {
                var client = await RawMqttClient.ConnectAsync(endpoint, $"bench-sub-{i}", AppUser, AppPassword, cts.Token);
                await client.SubscribeAsync(scenario.Filter, scenario.Qos, cts.Token);
                var sub = new LoadSubscriber(client, driver.Delivered);
                subscribers.Add((client, sub));
                loops.Add(sub.RunAsync(cts.Token));
            }

            for (var i = 0; i < scenario.Publishers; i++)
            {
                var device = DeviceName(i);
                var client = await RawMqttClient.ConnectAsync(endpoint, $"bench-pub-{i}", device, DevicePassword, cts.Token);
                var pub = new LoadPublisher(client, $"devices/{device}/telemetry", scenario.Qos, scenario.PayloadBytes, 16, driver.Acked);
                publishers.Add((client, pub));
                if (scenario.Qos > 0)
                {
                    loops.Add(pub.RunAcksAsync(cts.Token));
                }
            }

            var subs = subscribers.Select(s => s.Sub).ToArray();
            var pubs = publishers.Select(p => p.Pub).ToArray();
            var max = await driver.RunAsync(process, pubs, subs, scenario, options, rate: null);
            var perSecond = (double)options.LatencyRate / scenario.Subscribers;
            await Task.Delay(300); // the broker host reports its collections four times a second
            var gcBefore = Collections(process);
            var fixedRate = await driver.RunAsync(process, pubs, subs, scenario, options, rate: perSecond);
            await Task.Delay(300);
            var gcAfter = Collections(process);
            var fixedGc = gcBefore is { } b && gcAfter is { } a
                ? string.Create(CultureInfo.InvariantCulture, $"gc in the latency phase (warm-up included): gen0 {a[0] - b[0]:F0}, gen1 {a[1] - b[1]:F0}, gen2 {a[2] - b[2]:F0}, paused {a[3] - b[3]:F1} ms")
                : null;

            // Everything sent should arrive: wait for stragglers, then count what did not.
            var expected = pubs.Sum(p => p.Sent) * scenario.Subscribers;
            var deadline = Stopwatch.StartNew();
            while (subs.Sum(s => s.Received) < expected && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(20);
            }

            return new ScenarioResult(broker, scenario, max, fixedRate, expected - subs.Sum(s => s.Received), fixedGc);
        }
        finally
        {
            await cts.CancelAsync();
            foreach (var (client, _) in publishers)
            {
                client.Dispose();
            }

            foreach (var (client, _) in subscribers)
            {
                client.Dispose();
            }

            await Task.WhenAll(loops);
            await Task.Delay(200); // let the broker notice the disconnects before the next scenario
        }
    }

    private static void PrintTable(List<ScenarioResult> results)
    {
        var w = new StringBuilder();
        w.AppendLine();
        w.AppendLine("| Scenario | Broker | Max deliveries/s | Broker CPU ms / 1,000 | Generator CPU ms / 1,000 | Latency at | Broker CPU ms / 1,000 there | p50 ms | p99 ms | Lost |");
        w.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            w.AppendLine(CultureInfo.InvariantCulture, $"| {r.Scenario.Name} | {r.Broker} | {r.Max.DeliveredPerSecond:N0} | {r.Max.BrokerMsPer1000:F2} | {r.Max.GeneratorMsPer1000:F2} | {r.Fixed.DeliveredPerSecond:N0} | {r.Fixed.BrokerMsPer1000:F1} | {r.Fixed.Latencies.Quantile(0.5):F3} | {r.Fixed.Latencies.Quantile(0.99):F3} | {r.Lost} |");
        }

        var pairs = results.GroupBy(r => r.Scenario.Name)
            .Select(g => (Name: g.Key, Verge: g.FirstOrDefault(r => r.Broker == "verge"), Mosquitto: g.FirstOrDefault(r => r.Broker == "mosquitto")))
            .Where(p => p.Verge is not null && p.Mosquitto is not null)
            .ToList();
        if (pairs.Count > 0)
        {
            w.AppendLine();
            w.AppendLine("| Scenario | Verge / mosquitto rate | Verge / mosquitto CPU per message | p99 Verge / mosquitto (ms) |");
            w.AppendLine("|---|---|---|---|");
            foreach (var (name, verge, mosquitto) in pairs)
            {
                w.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {verge!.Max.DeliveredPerSecond / mosquitto!.Max.DeliveredPerSecond:F2} | {verge.Max.BrokerMsPer1000 / mosquitto.Max.BrokerMsPer1000:F2} | {verge.Fixed.Latencies.Quantile(0.99):F3} / {mosquitto.Fixed.Latencies.Quantile(0.99):F3} |");
            }
        }

        Console.Write(w.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(IPEndPoint endpoint, ChildProcess process)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync(endpoint);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                await Task.Delay(20);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"mosquitto did not open {endpoint}: {e.Message}\n{process.Tail()}");
            }
        }
    }

    internal static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>utime + stime of this process in seconds (/proc/self/stat).</summary>
    internal static double SelfCpuSeconds()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}

/// <summary>
/// Sends for all publishers from one dedicated thread: in rounds, each publisher sends up to its batch in one write,
/// limited by the end-to-end window, its QoS 1 window and (in the latency phase) the offered rate. When nothing may be
/// sent it sleeps on an event the receive loops set, so it burns no CPU waiting.
/// </summary>
internal sealed class LoadDriver
{
    private readonly ManualResetEventSlim _progress = new(false, 1);
    private int _waiting;
    private long _sequence;
    private long _deliveredTotal;
    private long _ackedTotal;
    private long _wakeDelivered = long.MaxValue;
    private long _wakeAcked = long.MaxValue;

    /// <summary>From the subscribers' receive loops: wakes the driver only once enough has arrived to send another batch.</summary>
    public void Delivered(long count)
    {
        if (Interlocked.Add(ref _deliveredTotal, count) >= Volatile.Read(ref _wakeDelivered) && Volatile.Read(ref _waiting) == 1)
        {
            _progress.Set();
        }
    }

    /// <summary>From the publishers' PUBACK loops.</summary>
    public void Acked(long count)
    {
        if (Interlocked.Add(ref _ackedTotal, count) >= Volatile.Read(ref _wakeAcked) && Volatile.Read(ref _waiting) == 1)
        {
            _progress.Set();
        }
    }

    public Task<PhaseResult> RunAsync(ChildProcess broker, LoadPublisher[] pubs, LoadSubscriber[] subs, Scenario scenario, BrokerHarnessOptions options, double? rate)
    {
        return Task.Factory.StartNew(() => Run(broker, pubs, subs, scenario, options, rate), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private PhaseResult Run(ChildProcess broker, LoadPublisher[] pubs, LoadSubscriber[] subs, Scenario scenario, BrokerHarnessOptions options, double? rate)
    {
        var fanout = subs.Length;
        var window = rate is null ? options.Window : 100_000;
        var warmup = TimeSpan.FromSeconds(1);
        var end = warmup + TimeSpan.FromSeconds(options.Seconds);
        var clock = Stopwatch.StartNew();
        var startSent = pubs.Sum(p => p.Sent);
        (double Time, long Sent, long Delivered, double Broker, double Self)? mark = null;
        var next = 0;
        while (true)
        {
            var elapsed = clock.Elapsed;
            if (mark is null && elapsed >= warmup)
            {
                foreach (var s in subs)
                {
                    s.ResetLatencies();
                    s.Recording = rate is not null;
                }

                mark = (elapsed.TotalSeconds, pubs.Sum(p => p.Sent), subs.Sum(s => s.Received), broker.CpuTime().TotalSeconds, BrokerHarness.SelfCpuSeconds());
            }

            if (elapsed >= end)
            {
                break;
            }

            var sent = pubs.Sum(p => p.Sent);
            var delivered = subs.Sum(s => s.Received);
            var budget = window - (sent - (delivered / fanout));
            var due = rate is { } r ? (long)(r * elapsed.TotalSeconds) - (sent - startSent) : long.MaxValue;
            if (due <= 0)
            {
                Thread.Sleep(1);
                continue;
            }

            budget = Math.Min(budget, due);

            var progressed = false;
            for (var i = 0; i < pubs.Length && budget > 0; i++)
            {
                var p = pubs[(next + i) % pubs.Length];
                var allowed = (int)Math.Min(Math.Min(p.Batch, budget), p.Qos > 0 ? options.Qos1Window - (p.Sent - p.Acked) : long.MaxValue);
                if (allowed <= 0)
                {
                    continue;
                }

                p.Send(allowed, _sequence);
                _sequence += allowed;
                budget -= allowed;
                progressed = true;
            }

            next = (next + 1) % pubs.Length;
            if (!progressed)
            {
                // Wake when the window has room for a batch again (or a few more PUBACKs came), not on every message.
                var wakeDelivered = (sent - window + 64) * fanout;
                Volatile.Write(ref _wakeDelivered, wakeDelivered > delivered ? wakeDelivered : long.MaxValue);
                Volatile.Write(ref _wakeAcked, pubs[0].Qos > 0 ? Interlocked.Read(ref _ackedTotal) + 16 : long.MaxValue);
                Interlocked.Exchange(ref _waiting, 1);
                if (Interlocked.Read(ref _deliveredTotal) < Volatile.Read(ref _wakeDelivered) && Interlocked.Read(ref _ackedTotal) < Volatile.Read(ref _wakeAcked))
                {
                    _progress.Wait(rate is null ? 20 : 1);
                }

                Interlocked.Exchange(ref _waiting, 0);
                _progress.Reset();
            }
        }

        var final = (Time: clock.Elapsed.TotalSeconds, Sent: pubs.Sum(p => p.Sent), Delivered: subs.Sum(s => s.Received), Broker: broker.CpuTime().TotalSeconds, Self: BrokerHarness.SelfCpuSeconds());
        var latencies = new LatencyHistogram();
        foreach (var s in subs)
        {
            s.Recording = false;
            latencies.Add(s.Latencies);
        }

        var m = mark!.Value;
        return new PhaseResult(final.Time - m.Time, final.Sent - m.Sent, final.Delivered - m.Delivered, final.Broker - m.Broker, final.Self - m.Self, latencies);
    }
}
