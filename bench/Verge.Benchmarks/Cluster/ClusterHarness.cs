using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.Benchmarks.Api;
using Verge.Controllers;

namespace Verge.Benchmarks.Cluster;

/// <summary>
/// The end-to-end harness: an in-process control plane with its controllers and scheduling loop, hollow nodes from
/// separate <c>verge sim nodes</c> processes, and pods watched through one watch. Measures control-plane memory per
/// node, pods/s from the first create until all are bound and all Running, and failover after a simulator is killed.
/// </summary>
internal static class ClusterHarness
{
    private const string Ns = "default";

    public static async Task<int> RunAsync(ClusterHarnessOptions options)
    {
        using var timeout = new CancellationTokenSource(options.MaxDuration);
        var ct = timeout.Token;
        var rows = new List<(string Metric, string Value)>();
        var verge = options.VergeDll ?? FindVergeDll();
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, " +
            $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC");
        Console.WriteLine($"options: nodes={options.Nodes} pods={options.Pods} sites={options.Sites} workload={options.Workload} " +
            $"replicas={options.Replicas} spread={options.WhenUnsatisfiable} failover-nodes={options.EffectiveFailoverNodes} " +
            $"failover-replicas={options.FailoverReplicas} flow-control={(options.FlowControl ? "on" : "off")} phases={string.Join(',', options.Phases)} " +
            $"renew-interval={(options.RenewInterval is { } renew ? $"{renew.TotalMilliseconds:0}ms" : "fleet default")}; simulator {verge}");
        try
        {
            if (options.Phases.Contains("throughput"))
            {
                await ThroughputAsync(options, verge, rows, ct);
            }

            if (options.Phases.Contains("failover"))
            {
                await FailoverAsync(options, verge, rows, ct);
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"harness failed: {e}");
            Print(rows);
            return 1;
        }

        Print(rows);
        return 0;
    }

    private static async Task ThroughputAsync(ClusterHarnessOptions options, string verge, List<(string, string)> rows, CancellationToken ct)
    {
        var dataDir = NewDataDir();
        try
        {
            var lifecycle = new LogEventCounter();
            var serverOptions = new ApiServerOptions { DataDir = dataDir, Listen = "127.0.0.1:0" };
            serverOptions.FlowControl.Enabled = options.FlowControl;
            await using var host = await ApiServerHost.CreateAsync(serverOptions,
                services =>
                {
                    services.AddVergeControllers();
                    services.AddSingleton<ILoggerProvider>(lifecycle);
                }, ct);
            await host.StartAsync(ct);
            using var cluster = ClusterConnection.FromKubeconfig(host.AdminKubeconfigPath);
            Console.WriteLine($"server: {cluster.Address}");
            await Task.Delay(TimeSpan.FromSeconds(2), ct); // leader election, informers synced
            var before = Memory();

            var registering = Stopwatch.GetTimestamp();
            await using var sim = SimulatorProcess.Start(verge, host.AdminKubeconfigPath, options.Nodes, options.Sites, "hollow", options.RenewInterval);
            await sim.WaitRegisteredAsync(TimeSpan.FromMinutes(5), ct);
            var registration = Stopwatch.GetElapsedTime(registering);
            await Task.Delay(TimeSpan.FromSeconds(5), ct); // the controllers and the scheduler take in the new nodes first
            var idleCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var idleSimCpu0 = sim.CpuTime;
            var store = host.Services.GetRequiredService<Verge.Store.IKeyValueStore>();
            var idleWrites0 = await store.GetCurrentRevisionAsync(ct);
            var idle0 = Stopwatch.GetTimestamp();
            var idleGc0 = GcFigures.Now();
            await Task.Delay(TimeSpan.FromSeconds(5), ct); // steady state: leases renewing
            var idleAllocated = GcFigures.Now().Allocated - idleGc0.Allocated;
            var idleCpu = Process.GetCurrentProcess().TotalProcessorTime - idleCpu0;
            var idleSimCpu = sim.CpuTime - idleSimCpu0;
            var idleWrites = await store.GetCurrentRevisionAsync(ct) - idleWrites0;
            var idleTime = Stopwatch.GetElapsedTime(idle0);
            var after = Memory();
            rows.Add(($"1. register {options.Nodes} hollow nodes over {options.Sites} sites (simulator process, until its `registered` line)", $"{registration.TotalSeconds:F1} s"));
            rows.Add(("1. server process before nodes: working set / managed heap after full GC", $"{Mib(before.WorkingSet)} / {Mib(before.Heap)}"));
            rows.Add(("1. server process with nodes (10 s of lease renewals later)", $"{Mib(after.WorkingSet)} / {Mib(after.Heap)}"));
            rows.Add(("1. 5 s with idle nodes (heartbeats only, from 5 s after registration): store writes (lease renewals, node status) / server CPU / simulator CPU",
                $"{idleWrites / idleTime.TotalSeconds:F0}/s / {idleCpu / idleTime:F2} cores" +
                $" ({(idleWrites > 0 ? idleCpu.TotalMicroseconds / idleWrites : 0):F0} us per write) / {idleSimCpu / idleTime:F2} cores"));
            rows.Add(("1. the same 5 s: server allocations per store write (heartbeats; with the harness's own work at rest)",
                $"{(idleWrites > 0 ? idleAllocated / (double)idleWrites / 1024 : 0):F1} KiB"));
            rows.Add(("1. control-plane memory per simulated node: working set / managed heap",
                $"{(after.WorkingSet - before.WorkingSet) / (double)options.Nodes / 1024:F1} KiB / {(after.Heap - before.Heap) / (double)options.Nodes / 1024:F1} KiB"));

            var clients = Enumerable.Range(0, options.Clients).Select(_ => cluster.CreateClient(http2: true)).ToList();
            try
            {
                await using var watch = await PodWatch.OpenAsync(clients[0], Ns, ct);
                var m = options.Pods;
                var bound = watch.WhenAsync(_ => watch.BoundNow >= m);
                var running = watch.WhenAsync(_ => watch.RunningNow >= m);
                var marksBefore = lifecycle[LogEventCounter.NodeUnreachable];
                var evictionsBefore = lifecycle[LogEventCounter.PodEvicted];
                var serverCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var simCpu0 = sim.CpuTime;
                var gc0 = GcFigures.Now();
                var writes0 = await store.GetCurrentRevisionAsync(ct);
                var t0 = Stopwatch.GetTimestamp();
                string how;
                TimeSpan createTime;
                if (options.Workload == "deployments")
                {
                    var deployments = (m + options.Replicas - 1) / options.Replicas;
                    var next = -1;
                    var failures = 0;
                    string? firstFailure = null;
                    await Task.WhenAll(clients.Take(Math.Min(8, deployments)).Select(client => Task.Run(async () =>
                    {
                        int i;
                        while ((i = Interlocked.Increment(ref next)) < deployments)
                        {
                            var replicas = Math.Min(options.Replicas, m - i * options.Replicas);
                            using var body = Json(DeploymentJson($"web-{i:D4}", replicas, options.WhenUnsatisfiable));
                            using var response = await client.PostAsync($"/apis/apps/v1/namespaces/{Ns}/deployments", body, ct);
                            if (response.StatusCode != HttpStatusCode.Created)
                            {
                                Interlocked.Increment(ref failures);
                                Interlocked.CompareExchange(ref firstFailure, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}", null);
                            }
                        }
                    }, ct)));
                    createTime = Stopwatch.GetElapsedTime(t0);
                    if (failures > 0)
                    {
                        throw new InvalidOperationException($"{failures} deployment creates failed; first: {firstFailure}");
                    }

                    how = $"{deployments} Deployments of {options.Replicas} replicas (8 clients), topologySpreadConstraints maxSkew 1 on verge.dev/site {options.WhenUnsatisfiable}";
                }
                else
                {
                    var load = await CreateLoad.RunAsync(clients, "bare", m, ct);
                    createTime = load.Elapsed;
                    if (load.Failures > 0)
                    {
                        throw new InvalidOperationException($"{load.Failures} pod creates failed; first: {load.FirstFailure}");
                    }

                    how = $"{m} bare pods from {options.Clients} concurrent clients (no spread)";
                }

                Console.WriteLine($"created in {createTime.TotalSeconds:F2} s; waiting for bound and Running");
                using var progress = new Timer(_ => Console.WriteLine($"  {Stopwatch.GetElapsedTime(t0).TotalSeconds:F0} s: {watch.Seen} created, {watch.BoundNow} bound, {watch.RunningNow} Running now; ever {watch.Ever()}; {watch.Deleted} deleted; {watch.Events} events; {watch.Resumed} watch resumes; {lifecycle[LogEventCounter.NodeUnreachable]} unreachable marks"), null, 5000, 5000);
                var tBound = await bound.WaitAsync(options.MaxDuration, ct);
                var tRunning = await running.WaitAsync(options.MaxDuration, ct);
                var serverCpu = Process.GetCurrentProcess().TotalProcessorTime - serverCpu0;
                var simCpu = sim.CpuTime - simCpu0;
                var gc = GcFigures.Now() - gc0;
                var writes = await store.GetCurrentRevisionAsync(ct) - writes0;
                var toBound = Stopwatch.GetElapsedTime(t0, tBound);
                var toRunning = Stopwatch.GetElapsedTime(t0, tRunning);
                rows.Add(("2. workload", how));
                rows.Add(($"2. creates done (API calls returned)", $"{createTime.TotalSeconds:F2} s"));
                rows.Add(($"2. first create to all {m} pods bound (spec.nodeName, seen on the watch)", $"{toBound.TotalSeconds:F2} s = {m / toBound.TotalSeconds:F0} pods/s"));
                rows.Add(($"2. first create to all {m} pods Running (marked by the simulator)", $"{toRunning.TotalSeconds:F2} s = {m / toRunning.TotalSeconds:F0} pods/s"));
                rows.Add(("2. steady rate: pods/s from the 25% to the 75% pod first seen Running (start-up, JIT warm-up and tail left out)",
                    watch.RunningRate(m / 4, (3 * m / 4) - 1) is { } steady ? $"{steady:F0} pods/s" : "-"));
                rows.Add(("2. CPU until all Running: server process (server, controllers, scheduler, harness clients and watch) / simulator process",
                    $"{serverCpu.TotalSeconds:F1} s ({serverCpu / toRunning:F2} cores) / {simCpu.TotalSeconds:F1} s ({simCpu / toRunning:F2} cores) of {Environment.ProcessorCount}"));
                var renewalsDuring = idleWrites / idleTime.TotalSeconds * toRunning.TotalSeconds;
                rows.Add(("2. store writes until all Running: all / per pod, less the heartbeat writes at the idle rate",
                    $"{writes} / {Math.Max(0, writes - renewalsDuring) / m:F2}"));
                rows.Add(("2. GC until all Running: allocated per pod / gen0, gen1, gen2 collections / time paused",
                    $"{gc.Allocated / (double)m / 1024:F0} KiB / {gc.Gen0}, {gc.Gen1}, {gc.Gen2} / {gc.Paused.TotalSeconds:F1} s ({gc.Paused / toRunning:P0} of the time)" +
                    $" ({(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC)"));
                // Heartbeats allocate at a rate, so a slower run allocates more per pod: this figure takes out what the
                // idle window allocated per second over the run's duration, which the machine's load does not move.
                var idleAllocatedDuring = idleAllocated / idleTime.TotalSeconds * toRunning.TotalSeconds;
                rows.Add(("2. allocated per pod, less the heartbeats' allocations at the idle rate",
                    $"{Math.Max(0, gc.Allocated - idleAllocatedDuring) / m / 1024:F0} KiB"));
                var (everBound, _) = watch.Ever();
                rows.Add(("2. pods evicted and replaced on the way (bound pods beyond M; nodes whose lease renewals were late under load were marked unreachable)",
                    $"{everBound - m} extra pods bound, {watch.Deleted} pods deleted"));
                rows.Add(("2. nodes marked unreachable during the run (lease not renewed for the grace period) / pods evicted by NoExecute taints",
                    $"{lifecycle[LogEventCounter.NodeUnreachable] - marksBefore} / {lifecycle[LogEventCounter.PodEvicted] - evictionsBefore}" +
                    $" (site state changes {lifecycle[LogEventCounter.SiteState]}, all-sites-dark {lifecycle[LogEventCounter.ControlPlaneDisrupted]})"));
                if (lifecycle.SiteChanges is { Count: > 0 } siteChanges)
                {
                    // When, from the first create (negative: during registration), and what: a site judged disrupted
                    // while no node was marked means heartbeats were seen late.
                    string At(long timestamp) => string.Create(CultureInfo.InvariantCulture, $"{(timestamp - t0) / (double)Stopwatch.Frequency:F1} s");
                    rows.Add(("2. site state changes: the first and the last, from the first create",
                        $"{At(siteChanges[0].Timestamp)} {siteChanges[0].Message}; {At(siteChanges[^1].Timestamp)} {siteChanges[^1].Message}"));
                }

                var full = Memory();
                rows.Add(($"2. server process with {options.Nodes} nodes and {m} Running pods: working set / managed heap", $"{Mib(full.WorkingSet)} / {Mib(full.Heap)}"));
                var perNode = watch.Snapshot().Values.Where(p => p.Node is not null).GroupBy(p => p.Node).Select(g => g.Count()).ToList();
                rows.Add(("2. harness pod watch: events / resumed after the server closed it for falling behind", $"{watch.Events} / {watch.Resumed}"));
                rows.Add(("2. pods per node min / max", $"{perNode.Min()} / {perNode.Max()} over {perNode.Count} nodes"));
            }
            finally
            {
                foreach (var client in clients)
                {
                    client.Dispose();
                }
            }
        }
        finally
        {
            TryDelete(dataDir);
        }
    }

    private static async Task FailoverAsync(ClusterHarnessOptions options, string verge, List<(string, string)> rows, CancellationToken ct)
    {
        var dataDir = NewDataDir();
        try
        {
            var lifecycle = new LogEventCounter();
            await using var host = await ApiServerHost.CreateAsync(new ApiServerOptions { DataDir = dataDir, Listen = "127.0.0.1:0" },
                services =>
                {
                    services.AddVergeControllers();
                    services.AddSingleton<ILoggerProvider>(lifecycle);
                }, ct);
            await host.StartAsync(ct);
            using var cluster = ClusterConnection.FromKubeconfig(host.AdminKubeconfigPath);
            using var client = cluster.CreateClient(http2: true);
            var half = options.EffectiveFailoverNodes / 2;
            // Two simulators make one fleet: both renew at the interval of the whole fleet, not of their half.
            var renew = Verge.Core.Coordination.NodeHeartbeat.ForFleet(options.EffectiveFailoverNodes).RenewInterval;
            await using var a = SimulatorProcess.Start(verge, host.AdminKubeconfigPath, half, options.Sites, "a", renew);
            await using var b = SimulatorProcess.Start(verge, host.AdminKubeconfigPath, options.EffectiveFailoverNodes - half, options.Sites, "b", renew);
            await a.WaitRegisteredAsync(TimeSpan.FromMinutes(5), ct);
            await b.WaitRegisteredAsync(TimeSpan.FromMinutes(5), ct);
            await using var watch = await PodWatch.OpenAsync(client, Ns, ct);
            var n = options.FailoverReplicas;
            var allRunning = watch.WhenAsync(pods => pods.Values.Count(p => p.Phase == "Running" && !p.Deleting) >= n);
            using (var body = Json(DeploymentJson("failover", n, "ScheduleAnyway")))
            {
                using var response = await client.PostAsync($"/apis/apps/v1/namespaces/{Ns}/deployments", body, ct);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"failover deployment: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                }
            }

            await allRunning.WaitAsync(TimeSpan.FromMinutes(2), ct);
            await Task.Delay(TimeSpan.FromSeconds(3), ct); // a few renewals of every lease
            var onA = watch.Snapshot().Values.Count(p => p.Node?.StartsWith("a-", StringComparison.Ordinal) == true);
            var onB = watch.WhenAsync(pods => pods.Values.Count(p => p.Phase == "Running" && !p.Deleting && p.Node?.StartsWith("b-", StringComparison.Ordinal) == true) >= n);

            lifecycle.Reset();
            var killedAt = Stopwatch.GetTimestamp();
            var killedUtc = DateTimeOffset.UtcNow;
            a.Kill();
            Console.WriteLine($"killed simulator a ({half} nodes, {onA} of {n} replicas on them)");
            var tB = await onB.WaitAsync(TimeSpan.FromMinutes(2), ct);
            var recoveredUtc = killedUtc + Stopwatch.GetElapsedTime(killedAt, tB);
            var fromKill = Stopwatch.GetElapsedTime(killedAt, tB);

            // The last heartbeat of any a node: the latest renewTime of their Leases.
            using var leases = await client.GetAsync("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", ct);
            leases.EnsureSuccessStatusCode();
            using var doc = JsonDocument.Parse(await leases.Content.ReadAsByteArrayAsync(ct));
            var lastRenew = doc.RootElement.GetProperty("items").EnumerateArray()
                .Where(l => l.GetProperty("metadata").GetProperty("name").GetString()!.StartsWith("a-", StringComparison.Ordinal))
                .Select(l => DateTimeOffset.Parse(l.GetProperty("spec").GetProperty("renewTime").GetString()!, CultureInfo.InvariantCulture))
                .Max();
            var fromHeartbeat = recoveredUtc - lastRenew;
            rows.Add(($"3. failover: {options.EffectiveFailoverNodes} hollow nodes ({half} `a`, {options.EffectiveFailoverNodes - half} `b`, two simulator processes), Deployment of {n} replicas, {onA} on `a` nodes",
                "simulator `a` killed with SIGKILL"));
            rows.Add(($"3. SIGKILL of `a` to all {n} replicas Running on `b` nodes", $"{fromKill.TotalSeconds:F2} s"));
            rows.Add(("3. last lease renewal of an `a` node (max renewTime) to all replicas Running on `b` nodes", $"{fromHeartbeat.TotalSeconds:F2} s (last renewal {(killedUtc - lastRenew).TotalMilliseconds:F0} ms before the kill)"));
            string SinceKill(long timestamp) => timestamp == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{Stopwatch.GetElapsedTime(killedAt, timestamp).TotalSeconds:F2} s");
            var (firstMark, lastMark) = lifecycle.Marks;
            rows.Add(("3. SIGKILL to the first / the last node marked unreachable", $"{SinceKill(firstMark)} / {SinceKill(lastMark)} ({lifecycle[LogEventCounter.NodeUnreachable]} marked)"));
            rows.Add(("3. evictions after SIGKILL", string.Join("; ", lifecycle.Evictions.Select(e => $"{SinceKill(e.Timestamp)} {e.Message.Split(" from node ")[^1]}"))));
        }
        finally
        {
            TryDelete(dataDir);
        }
    }

    private static string DeploymentJson(string name, int replicas, string whenUnsatisfiable) =>
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{\"replicas\":" + replicas +
        ",\"selector\":{\"matchLabels\":{\"app\":\"" + name + "\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"" + name + "\"}}," +
        "\"spec\":{\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"verge.dev/site\",\"whenUnsatisfiable\":\"" + whenUnsatisfiable +
        "\",\"labelSelector\":{\"matchLabels\":{\"app\":\"" + name + "\"}}}]," +
        "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}}}";

    private static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    private static (long WorkingSet, long Heap) Memory()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var self = Process.GetCurrentProcess();
        return (self.WorkingSet64, heap);
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F0} MiB");

    private static string FindVergeDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Verge.slnx")))
            {
                var dll = Path.Combine(dir.FullName, "src", "Verge.Cli", "bin", "Release", "net10.0", "verge.dll");
                return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: dotnet build -c Release src/Verge.Cli");
            }
        }

        throw new InvalidOperationException("repository root (Verge.slnx) not found; pass --verge path/to/verge.dll");
    }

    private static string NewDataDir() => Path.Combine(Path.GetTempPath(), "verge-cluster-bench-" + Guid.NewGuid().ToString("N")[..12]);

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

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Cumulative GC figures of this process, for the difference over a phase.</summary>
internal readonly record struct GcFigures(long Allocated, int Gen0, int Gen1, int Gen2, TimeSpan Paused)
{
    public static GcFigures Now() => new(GC.GetTotalAllocatedBytes(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

    public static GcFigures operator -(GcFigures a, GcFigures b) =>
        new(a.Allocated - b.Allocated, a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.Paused - b.Paused);
}
