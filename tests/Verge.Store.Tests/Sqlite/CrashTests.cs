using System.Diagnostics;
using Verge.Store.Sqlite;
using Xunit.Abstractions;

namespace Verge.Store.Tests.Sqlite;

public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private const int AcknowledgementsBeforeKill = 3000;
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-crash-").FullName;

    [Fact]
    public async Task KillDuringWrites_KeepsEveryAcknowledgedKey()
    {
        var database = Path.Combine(_directory, "crash.db");
        var writer = Path.Combine(AppContext.BaseDirectory, "Verge.Store.CrashWriter.dll");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "exec", writer, database, "32" })
        {
            start.ArgumentList.Add(argument);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync(cts.Token);
        var acknowledged = new List<string>();
        try
        {
            while (acknowledged.Count < AcknowledgementsBeforeKill)
            {
                var line = await process.StandardOutput.ReadLineAsync(cts.Token);
                Assert.True(line is not null, "the writer ended early");
                var key = ParseAcknowledgement(line!);
                Assert.NotNull(key);
                acknowledged.Add(key);
            }
        }
        finally
        {
            // SIGKILL, mid-writes: the writer gets no chance to flush or close anything.
            process.Kill(entireProcessTree: true);
        }

        // Lines printed before the kill were acknowledged too; a torn last line is not an acknowledgement.
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (ParseAcknowledgement(line) is { } key)
            {
                acknowledged.Add(key);
            }
        }

        await process.WaitForExitAsync(cts.Token);
        await errors;

        await using var store = await SqliteKeyValueStore.OpenAsync(database);
        var missing = new List<string>();
        foreach (var key in acknowledged)
        {
            if (await store.GetAsync(key, cts.Token) is null)
            {
                missing.Add(key);
            }
        }

        Assert.Empty(missing);
        long stored = await store.CountAsync("/crash/", cts.Token);
        output.WriteLine($"acknowledged {acknowledged.Count}, stored {stored}, writer exit code {process.ExitCode}");
        Assert.True(stored >= acknowledged.Count, $"{stored} keys stored, {acknowledged.Count} acknowledged");
        Assert.Equal(stored, await store.GetCurrentRevisionAsync(cts.Token));

        // The reopened store goes on from the recovered revision.
        var next = await store.CreateAsync("/after-crash", new byte[] { 1 }, cts.Token);
        Assert.Equal(stored + 1, next.ModRevision);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string? ParseAcknowledgement(string line) =>
        line.StartsWith("ack /crash/", StringComparison.Ordinal) && line.EndsWith(" ok", StringComparison.Ordinal)
            ? line["ack ".Length..^" ok".Length]
            : null;

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path
        : "dotnet";
}
