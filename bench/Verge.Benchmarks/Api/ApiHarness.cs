using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;

namespace Verge.Benchmarks.Api;

/// <summary>
/// The whole-system harness: an in-process API server on a temporary data dir (SQLite, durable commits) and HTTPS
/// clients on 127.0.0.1 in the same process. Prints a table of create throughput and latency, paged LIST time and
/// watch fan-out latency, each with the process CPU time (server and clients together) spent on it.
/// </summary>
internal static class ApiHarness
{
    private const int WarmupCreatesPerClient = 20;

    public static async Task<int> RunAsync(ApiHarnessOptions options)
    {
        using var timeout = new CancellationTokenSource(options.MaxDuration);
        var ct = timeout.Token;
        var dataDir = Path.Combine(Path.GetTempPath(), "verge-bench-" + Guid.NewGuid().ToString("N")[..12]);
        var rows = new List<(string Metric, string Value)>();
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, " +
            $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024)} MiB available to the GC");
        Console.WriteLine($"options: creates={options.Creates} clients={options.Clients} list-pods={options.ListPods} " +
            $"watchers={options.Watchers} watch-rounds={options.WatchRounds} watch-connections={options.EffectiveWatchConnections} " +
            $"phases={string.Join(',', options.Phases)}");
        try
        {
            await using var host = await ApiServerHost.CreateAsync(new ApiServerOptions { DataDir = dataDir, Listen = "127.0.0.1:0" }, ct);
            await host.StartAsync(ct);
            using var cluster = ClusterConnection.FromKubeconfig(host.AdminKubeconfigPath);
            Console.WriteLine($"server: {cluster.Address} (data dir on {DescribeDisk(dataDir)})");

            var clients = Enumerable.Range(0, options.Clients).Select(_ => cluster.CreateClient(http2: true)).ToList();
            try
            {
                // Warm-up: TLS handshakes, JIT and the store's first writes; not measured.
                var warm = await CreateLoad.RunAsync(clients, "warm", WarmupCreatesPerClient * options.Clients, ct);
                Check(warm, "warm-up creates");
                var pods = warm.Created;

                if (options.Phases.Contains("create") && options.Creates > 0)
                {
                    var cpu0 = WatchFanout.CpuTime();
                    var result = await CreateLoad.RunAsync(clients, "create", options.Creates, ct);
                    var cpu = WatchFanout.CpuTime() - cpu0;
                    Check(result, "creates");
                    pods += result.Created;
                    rows.Add(($"a. durable pod creates, {options.Clients} clients (HTTP/2, one connection each, 1 request in flight each)",
                        $"{result.PerSecond:F0}/s ({result.Created} in {result.Elapsed.TotalSeconds:F2} s)"));
                    rows.Add(("a. create latency p50 / p99 / max", Ms3(result.Latency)));
                    rows.Add(("a. process CPU during creates (server + clients)", Cpu(cpu, result.Elapsed)));
                    Console.WriteLine($"creates done: {result.PerSecond:F0}/s");
                }

                if (options.Phases.Contains("list") && options.ListPods > 0)
                {
                    var toCreate = Math.Max(0, options.ListPods - pods);
                    var cpu0 = WatchFanout.CpuTime();
                    var fill = await CreateLoad.RunAsync(clients, "list", toCreate, ct);
                    var cpu = WatchFanout.CpuTime() - cpu0;
                    Check(fill, "LIST fill creates");
                    pods += fill.Created;
                    rows.Add(($"b. fill: pod creates to reach {pods} pods, {options.Clients} clients",
                        $"{fill.PerSecond:F0}/s ({fill.Created} in {fill.Elapsed.TotalSeconds:F1} s); p50 / p99 / max {Ms3(fill.Latency)}"));
                    rows.Add(("b. process CPU during fill", Cpu(cpu, fill.Elapsed)));
                    Console.WriteLine($"fill done: {fill.PerSecond:F0}/s");

                    var pages = new List<long>();
                    for (var pass = 1; pass <= options.ListPasses; pass++)
                    {
                        cpu0 = WatchFanout.CpuTime();
                        var scan = await ListScan.RunAsync(clients[0], 500, ct);
                        cpu = WatchFanout.CpuTime() - cpu0;
                        if (scan.Items != pods)
                        {
                            throw new InvalidOperationException($"LIST returned {scan.Items} pods, expected {pods}");
                        }

                        rows.Add(($"b. LIST {scan.Items} pods, limit=500, pass {pass}",
                            $"{scan.Elapsed.TotalSeconds:F2} s, {scan.Pages} pages; page p50 / p99 / max {Ms3(scan.PageLatency)}; CPU {Cpu(cpu, scan.Elapsed)}"));
                        Console.WriteLine($"list pass {pass}: {scan.Elapsed.TotalSeconds:F2} s");
                    }
                }

                if (options.Phases.Contains("watch"))
                {
                    var (fanout, info) = await WatchFanout.OpenAsync(host, cluster, clients[0], options.Watchers, options.EffectiveWatchConnections, ct);
                    await using (fanout)
                    {
                        rows.Add(($"c. open {options.Watchers} watches over {info.Connections} HTTP/2 connections (TCP connects counted)",
                            $"{info.OpenTime.TotalSeconds:F2} s to open, {info.ConfirmTime.TotalMilliseconds:F0} ms more until the server counted {info.ServerWatchers}; " +
                            $"process working set {info.WorkingSetBytes / (1024 * 1024)} MiB, managed heap {info.ManagedHeapBytes / (1024 * 1024)} MiB live, {GC.GetGCMemoryInfo().TotalCommittedBytes / (1024 * 1024)} MiB committed"));
                        Console.WriteLine($"watchers established: {info.ServerWatchers}");
                        for (var round = 0; round < options.WatchRounds; round++)
                        {
                            await Task.Delay(TimeSpan.FromSeconds(1), ct);
                            var r = await fanout.ChangeAsync(clients[1 % clients.Count], round, ct);
                            rows.Add(($"c. one change to {options.Watchers} watchers, round {round + 1}",
                                $"p50 / p99 / max {Ms3(r.Delivery)}; write {r.WriteTime.TotalMilliseconds:F1} ms; " +
                                $"missing {r.Missing}; CPU {r.CpuTime.TotalMilliseconds:F0} ms in {r.WallTime.TotalMilliseconds:F0} ms"));
                            Console.WriteLine($"round {round + 1}: p99 {r.Delivery.P99:F1} ms, missing {r.Missing}");
                        }

                        if (fanout.FirstLoopError is { } error)
                        {
                            rows.Add(("c. watch stream error", error));
                        }
                    }
                }
            }
            finally
            {
                foreach (var client in clients)
                {
                    client.Dispose();
                }
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"harness failed: {e}");
            Print(rows);
            return 1;
        }
        finally
        {
            TryDelete(dataDir);
        }

        Print(rows);
        return 0;
    }

    private static void Check(CreateLoad.Result result, string what)
    {
        if (result.Failures > 0)
        {
            throw new InvalidOperationException($"{what}: {result.Failures} failed; first: {result.FirstFailure}");
        }
    }

    private static string Ms3(Latencies l) =>
        string.Create(CultureInfo.InvariantCulture, $"{l.P50:F1} / {l.P99:F1} / {l.Max:F1} ms");

    private static string Cpu(TimeSpan cpu, TimeSpan wall) =>
        string.Create(CultureInfo.InvariantCulture, $"{cpu.TotalSeconds:F2} s ({cpu / wall:F2} cores of {Environment.ProcessorCount})");

    private static void Print(List<(string Metric, string Value)> rows)
    {
        Console.WriteLine();
        Console.WriteLine("| Measure | Result |");
        Console.WriteLine("|---|---|");
        foreach (var (metric, value) in rows)
        {
            Console.WriteLine($"| {metric} | {value} |");
        }
    }

    private static string DescribeDisk(string path)
    {
        var drive = DriveInfo.GetDrives()
            .Where(d => path.StartsWith(d.RootDirectory.FullName, StringComparison.Ordinal))
            .MaxBy(d => d.RootDirectory.FullName.Length);
        return drive is null ? "unknown filesystem" : $"{drive.DriveFormat} at {drive.RootDirectory.FullName}";
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
