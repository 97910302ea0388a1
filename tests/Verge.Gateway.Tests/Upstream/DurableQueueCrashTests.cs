using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Verge.Gateway.Upstream;
using Xunit.Abstractions;

namespace Verge.Gateway.Tests.Upstream;

public sealed partial class DurableQueueCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int AcknowledgementsBeforeKill = 5000;
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-queue-crash-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task KillDuringEnqueues_KeepsEveryAcknowledgedMessageInOrder()
    {
        var writer = Path.Combine(AppContext.BaseDirectory, "Verge.Gateway.CrashWriter.dll");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "exec", writer, _directory, "16" })
        {
            start.ArgumentList.Add(argument);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync(cts.Token);
        var acknowledged = new Dictionary<long, string>();
        try
        {
            while (acknowledged.Count < AcknowledgementsBeforeKill)
            {
                var line = await process.StandardOutput.ReadLineAsync(cts.Token);
                Assert.True(line is not null, "the writer ended early: " + (errors.IsCompleted ? await errors : ""));
                var (sequence, payload) = Parse(line!) ?? throw new InvalidOperationException("unexpected line: " + line);
                acknowledged.Add(sequence, payload);
            }
        }
        finally
        {
            // SIGKILL mid-stream: the writer gets no chance to flush or close anything.
            process.Kill(entireProcessTree: true);
        }

        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (Parse(line) is { } ack)
            {
                acknowledged.Add(ack.Sequence, ack.Payload);
            }
        }

        await process.WaitForExitAsync(cts.Token);
        await errors;

        await using var queue = DurableQueue.Open(new DurableQueueOptions { Directory = _directory, GatewayId = "crash", SegmentBytes = 64 * 1024 });
        var recovered = new List<QueuedMessage>();
        while (true)
        {
            var batch = await queue.PeekAsync(1000, cancellationToken: cts.Token);
            if (batch.Count == 0)
            {
                break;
            }

            recovered.AddRange(batch);
            await queue.AckAsync(batch[^1].Sequence, cts.Token);
        }

        output.WriteLine($"acknowledged {acknowledged.Count}, recovered {recovered.Count}, last {recovered[^1].Sequence}");
        Assert.Equal(Enumerable.Range(1, recovered.Count).Select(i => (long)i), recovered.Select(m => m.Sequence));
        var byId = recovered.ToDictionary(m => m.Sequence, m => Encoding.UTF8.GetString(m.Payload));
        var lost = acknowledged.Where(a => !byId.TryGetValue(a.Key, out var payload) || payload != a.Value).Select(a => a.Key).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged messages lost or changed, first {lost.FirstOrDefault()}");

        // Each writer's messages come back in the order it enqueued them.
        foreach (var group in recovered.Select(m => Encoding.UTF8.GetString(m.Payload)).GroupBy(p => p[..4]))
        {
            var numbers = group.Select(p => long.Parse(p[5..14], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(numbers.Order(), numbers);
        }

        var next = await queue.EnqueueAsync("after", "x"u8.ToArray(), cts.Token);
        Assert.Equal(recovered[^1].Sequence + 1, next.Sequence);
    }

    private static (long Sequence, string Payload)? Parse(string line)
    {
        var match = AckLine().Match(line);
        return match.Success ? (long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value) : null;
    }

    [GeneratedRegex("^ack ([0-9]+) (w[0-9]{3}-[0-9]{9}-x{100})$")]
    private static partial Regex AckLine();

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path
        : "dotnet";
}
