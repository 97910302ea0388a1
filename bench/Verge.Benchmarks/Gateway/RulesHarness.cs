using System.Diagnostics;
using System.Globalization;
using System.Text;
using Verge.Core.Rules;

namespace Verge.Benchmarks.Gateway;

/// <summary>Settings of the rule pipeline run.</summary>
internal sealed class RulesHarnessOptions
{
    public int Messages { get; private set; } = 5_000_000;

    public int Devices { get; private set; } = 1_000;

    /// <summary>Simulated arrival rate: how many messages arrive per second of (fake) arrival time.</summary>
    public int Rate { get; private set; } = 10_000;

    public static RulesHarnessOptions Parse(string[] args)
    {
        var options = new RulesHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--messages": options.Messages = Positive(name, value); break;
                case "--devices": options.Devices = Positive(name, value); break;
                case "--rate": options.Rate = Positive(name, value); break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return options;
    }

    internal static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} takes a positive integer, got \"{value}\"");
}

/// <summary>
/// Pushes device telemetry through the windowed statement on one thread: messages per second, CPU per
/// message, allocation per message, and bytes in versus bytes out (what would go upstream).
/// </summary>
internal static class RulesHarness
{
    public const string Statement =
        "SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n " +
        "FROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(10s)";

    public static int Run(RulesHarnessOptions options)
    {
        var random = new Random(1);
        var topics = Enumerable.Range(0, options.Devices).Select(i => $"devices/dev-{i:D5}/telemetry").ToArray();
        const int distinctPayloads = 4096;
        var payloads = Enumerable.Range(0, distinctPayloads)
            .Select(i => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $$"""{"deviceId":"dev-{{i % options.Devices:D5}}","temp":{{(random.NextDouble() * 60) - 20:F2}},"hum":{{random.NextDouble() * 100:F1}},"battery":{{random.Next(0, 100)}},"fw":"1.4.2"}""")))
            .ToArray();

        Console.WriteLine($"rules: {options.Messages:N0} messages from {options.Devices:N0} devices at a simulated {options.Rate:N0} msgs/s");
        Console.WriteLine($"statement: {Statement}");
        foreach (var (label, text) in new[] { ("windowed (issue YAML)", Statement), ("stateless filter+projection", "SELECT topic(2) AS deviceId, temp FROM 'devices/+/telemetry' WHERE temp > 30") })
        {
            var rule = CompiledRule.Compile("bench", RuleStatement.Parse(text));
            var outputs = new List<RuleOutput>(1024);
            var start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
            var ticksPerMessage = TimeSpan.TicksPerSecond / options.Rate;

            // Warm up on a separate rule so the JIT has compiled the hot path.
            var warm = CompiledRule.Compile("warm", RuleStatement.Parse(text));
            for (var i = 0; i < 200_000; i++)
            {
                warm.Process(topics[i % topics.Length], payloads[i % distinctPayloads], "c", start.AddTicks(i * ticksPerMessage), outputs);
                outputs.Clear();
            }

            long bytesIn = 0;
            long bytesOut = 0;
            long outputCount = 0;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var gcs = GC.CollectionCount(0);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < options.Messages; i++)
            {
                var payload = payloads[i % distinctPayloads];
                bytesIn += payload.Length;
                rule.Process(topics[i % topics.Length], payload, "c", start.AddTicks(i * ticksPerMessage), outputs);
                if (outputs.Count > 0)
                {
                    foreach (var output in outputs)
                    {
                        bytesOut += output.Payload.Length;
                    }

                    outputCount += outputs.Count;
                    outputs.Clear();
                }
            }

            rule.Advance(start.AddTicks(options.Messages * ticksPerMessage).AddSeconds(10), outputs);
            foreach (var output in outputs)
            {
                bytesOut += output.Payload.Length;
            }

            outputCount += outputs.Count;
            clock.Stop();
            var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var perMessageAlloc = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / options.Messages;
            Console.WriteLine();
            Console.WriteLine($"  {label}");
            Console.WriteLine($"    throughput     {options.Messages / clock.Elapsed.TotalSeconds,12:N0} msgs/s ({clock.Elapsed.TotalSeconds:F2} s wall, {cpuUsed.TotalSeconds:F2} s CPU, {cpuUsed.TotalNanoseconds / options.Messages:F0} ns CPU/msg)");
            Console.WriteLine($"    allocation     {perMessageAlloc,12:F1} bytes/msg ({GC.CollectionCount(0) - gcs} gen0 GCs)");
            Console.WriteLine($"    bytes in       {bytesIn,12:N0} ({options.Messages:N0} messages)");
            Console.WriteLine($"    bytes out      {bytesOut,12:N0} ({outputCount:N0} messages), {(double)bytesIn / Math.Max(1, bytesOut):F1}x less");
            Console.WriteLine($"    counters       matched {rule.Counters.Matched:N0}, filtered {rule.Counters.Filtered:N0}, errors {rule.Counters.Errors:N0}, emitted {rule.Counters.Emitted:N0}");
        }

        return 0;
    }
}
