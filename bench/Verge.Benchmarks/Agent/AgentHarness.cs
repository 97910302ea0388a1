using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Verge.Benchmarks.Api;
using Verge.Benchmarks.Cluster;

namespace Verge.Benchmarks.Agent;

/// <summary>
/// The agent harness: a real <c>verge server</c> process, a real registry with a busybox image, and a real agent
/// process (the Native AOT <c>verge-agent</c> binary, or <c>verge agent</c> under the JIT) joined with a token, all on
/// loopback. Measures the agent's resident memory idle and with pods (runc and process), its idle CPU, node channel
/// bytes per idle minute, the bytes to resync after the server was away, and create-to-Running latency.
/// </summary>
internal static class AgentHarness
{
    private const string Ns = "default";

    public static async Task<int> RunAsync(AgentHarnessOptions options)
    {
        using var timeout = new CancellationTokenSource(options.MaxDuration);
        var ct = timeout.Token;
        var rows = new List<(string Metric, string Value)>();
        var verge = options.VergeDll ?? FindUnderRepo(Path.Combine("src", "Verge.Cli", "bin", "Release", "net10.0", "verge.dll"), "dotnet build -c Release src/Verge.Cli");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"options: builds={string.Join(',', options.Builds)} pods={options.Pods} latency-pods={options.LatencyPods} " +
            $"idle={options.Idle.TotalSeconds:F0}s partition={options.Partition.TotalSeconds:F0}s " +
            $"agent-env={string.Join(',', options.AgentEnvironment.Select(e => $"{e.Key}={e.Value}"))}; verge {verge}");
        try
        {
            await using var registry = await BenchRegistry.StartAsync(ct);
            var image = await registry.PushBusyboxAsync("bench/busybox", "v1", ct);
            Console.WriteLine($"registry {registry.Host}, image {image}");
            foreach (var build in options.Builds)
            {
                var (file, prefix) = build == "aot"
                    ? (options.AgentBinary ?? FindUnderRepo(Path.Combine("src", "Verge.AgentHost", "bin", "Release", "net10.0", "linux-x64", "publish", "verge-agent"),
                        "dotnet publish src/Verge.AgentHost -c Release -r linux-x64"), Array.Empty<string>())
                    : ("dotnet", new[] { verge, "agent" });
                await MeasureAsync(build, file, prefix, verge, registry.Host, image, options, rows, ct);
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

    private static async Task MeasureAsync(string build, string agentFile, string[] agentPrefix, string verge, string registryHost, string image,
        AgentHarnessOptions options, List<(string, string)> rows, CancellationToken ct)
    {
        var serverDir = Directory.CreateTempSubdirectory("verge-bench-server-").FullName;
        var agentDir = Directory.CreateTempSubdirectory("verge-bench-agent-").FullName;
        var port = BenchRegistry.FreePort();
        var node = $"bench-{build}";
        ChildProcess? server = null;
        ChildProcess? agent = null;
        await using var link = new PartitionProxy(port);
        ClusterConnection? cluster = null;
        HttpClient? client = null;
        try
        {
            server = await StartServerAsync(verge, serverDir, port, ct);
            cluster = ClusterConnection.FromKubeconfig(Path.Combine(serverDir, "admin.kubeconfig"));
            client = cluster.CreateClient(http2: true);
            var token = (await BenchRegistry.RunAsync("dotnet", [verge, "token", "create", "--kubeconfig", Path.Combine(serverDir, "admin.kubeconfig"), "--ttl", "1h"], ct)).Trim();
            agent = ChildProcess.Start($"agent ({build})", agentFile, [.. agentPrefix,
                "--server", $"https://127.0.0.1:{link.Port}", "--token", token, "--data-dir", agentDir, "--name", node,
                "--insecure-registry", registryHost, "--default-runtime", "runc", "--pod-subnet", "10.213.0.0/24"], options.AgentEnvironment);
            var joined = Stopwatch.GetTimestamp();
            await WaitAsync(() => NodeReadyAsync(client, node, ct), TimeSpan.FromMinutes(2), $"node {node} Ready", agent, ct);
            Console.WriteLine($"[{build}] node Ready {Stopwatch.GetElapsedTime(joined).TotalSeconds:F1} s after the agent started (pid {agent.Id})");
            await Task.Delay(TimeSpan.FromSeconds(20), ct); // past start-up: first status reports, the memory trimmer
            rows.Add(($"{build}: agent resident (VmRSS), idle, no pods", Resident(agent)));
            await DumpAsync(options, build, "idle", agent, ct);

            // Idle: CPU and channel bytes over the same window.
            var cpu0 = agent.CpuTime();
            var bytes0 = await ChannelBytesAsync(client, node, ct);
            await Task.Delay(options.Idle, ct);
            var cpu1 = agent.CpuTime();
            var bytes1 = await ChannelBytesAsync(client, node, ct);
            var idleCpu = cpu1 - cpu0;
            var perMinute = 60 / options.Idle.TotalSeconds;
            rows.Add(($"{build}: agent CPU idle (utime+stime over {options.Idle.TotalSeconds:F0} s)",
                $"{idleCpu.TotalMilliseconds:F0} ms = {idleCpu / options.Idle * 100:F2} % of one core"));
            rows.Add(($"{build}: node channel bytes per idle minute, server->agent / agent->server (TLS records, as counted by the server)",
                $"{(bytes1.Sent - bytes0.Sent) * perMinute:F0} / {(bytes1.Received - bytes0.Received) * perMinute:F0} B = " +
                $"{((bytes1.Sent - bytes0.Sent) + (bytes1.Received - bytes0.Received)) * perMinute * 8 / 60 / 1000:F3} kbit/s"));

            // Latency: one pod at a time, the image already cached by the first.
            PodWatch? watch = await PodWatch.OpenAsync(client, Ns, ct);
            try
            {
                await RunOnePodAsync(client, watch, "warm", PodJson("warm", image, runtimeClass: null), ct);
                var latencies = new List<double>();
                for (var i = 0; i < options.LatencyPods; i++)
                {
                    latencies.Add((await RunOnePodAsync(client, watch, $"lat-{i:D3}", PodJson($"lat-{i:D3}", image, runtimeClass: null), ct)).TotalMilliseconds);
                }

                latencies.Sort();
                await Task.Delay(TimeSpan.FromSeconds(20), ct); // the memory trimmer runs once the burst is over
                rows.Add(($"{build}: agent resident (VmRSS), no pods, after {options.LatencyPods + 1} runc pods were started and deleted", Resident(agent)));
                await DumpAsync(options, build, "after-latency", agent, ct);
                rows.Add(($"{build}: create (API POST) to Running, cached image, runc, {options.LatencyPods} pods one after another: p50 / p99 / max",
                    $"{Percentile(latencies, 0.50):F0} / {Percentile(latencies, 0.99):F0} / {latencies[^1]:F0} ms"));

                // Resident with pods, runc then process.
                foreach (var runtimeClass in new[] { "runc", "process" })
                {
                    var names = Enumerable.Range(0, options.Pods).Select(i => $"{runtimeClass}-{i:D2}").ToList();
                    var running = watch.WhenAsync(pods => names.All(n => pods.TryGetValue(n, out var p) && p.Phase == "Running"));
                    foreach (var name in names)
                    {
                        await CreateAsync(client, PodJson(name, image, runtimeClass == "runc" ? null : runtimeClass), ct);
                    }

                    await running.WaitAsync(TimeSpan.FromMinutes(3), ct);
                    await Task.Delay(TimeSpan.FromSeconds(20), ct); // status reports settled (probes none), the memory trimmer has run
                    rows.Add(($"{build}: agent resident (VmRSS) with {options.Pods} running {runtimeClass} pods", Resident(agent)));
                    await DumpAsync(options, build, $"{runtimeClass}-pods", agent, ct);
                    if (runtimeClass == "runc")
                    {
                        await watch.DisposeAsync();
                        watch = null;
                        server = await ResyncAsync(build, verge, serverDir, port, node, options, rows, agent, server!, ct);
                        client.Dispose();
                        client = cluster.CreateClient(http2: true);
                        await LinkDownAsync(build, client, link, node, options, rows, agent, ct);
                        watch = await PodWatch.OpenAsync(client, Ns, ct);
                        await DeleteAllAsync(client, watch, names, ct);
                    }
                    else
                    {
                        await DeleteAllAsync(client, watch, names, ct);
                    }
                }
            }
            finally
            {
                if (watch is not null)
                {
                    await watch.DisposeAsync();
                }
            }
        }
        finally
        {
            if (agent is not null)
            {
                // A deleted pod leaves the API once the agent has stopped it; its workload's directories may still be
                // going when the watch reports it gone, and a force-deleted one is stopped afterwards.
                await WaitNoWorkloadsAsync(agentDir, agent.Id);
                await agent.StopAsync(TimeSpan.FromSeconds(20));
                await agent.DisposeAsync();
            }

            if (server is not null)
            {
                await server.StopAsync(TimeSpan.FromSeconds(10));
                await server.DisposeAsync();
            }

            client?.Dispose();
            cluster?.Dispose();
            TryDelete(serverDir);
            TryDelete(agentDir);
        }
    }

    /// <summary>
    /// Stops the server (the agent's channel breaks as in a partition), waits, starts it again on the same data and
    /// port, and counts the node's channel bytes from the new connection on: TLS handshake, Hello with the held keys,
    /// the catch-up, and the heartbeats of the window, from which the idle rate is then subtracted.
    /// </summary>
    private static async Task<ChildProcess> ResyncAsync(string build, string verge, string serverDir, int port, string node, AgentHarnessOptions options,
        List<(string, string)> rows, ChildProcess agent, ChildProcess old, CancellationToken ct)
    {
        await old.StopAsync(TimeSpan.FromSeconds(10));
        await old.DisposeAsync();
        Console.WriteLine($"[{build}] server stopped for {options.Partition.TotalSeconds:F0} s");
        await Task.Delay(options.Partition, ct);
        var server = await StartServerAsync(verge, serverDir, port, ct);
        try
        {
            using var cluster = ClusterConnection.FromKubeconfig(Path.Combine(serverDir, "admin.kubeconfig"));
            using var client = cluster.CreateClient(http2: true);
            var resync = await MeasureReconnectAsync(client, node, (0, 0), agent, ct);
            rows.Add(($"{build}: server away {options.Partition.TotalSeconds:F0} s, no changes, {options.Pods} pods held: agent reconnected after the server was back",
                $"{resync.Reconnected.TotalSeconds:F1} s"));
            rows.Add(($"{build}: resync bytes, first {resync.Window:F1} s of the new session, server->agent / agent->server (TLS handshake included)",
                $"{resync.Sent} / {resync.Received} B"));
            rows.Add(($"{build}: resync bytes less the idle traffic of that window (heartbeats, pings: {resync.IdleRate:F0} B/s after it)",
                $"{resync.NetSent:F0} / {resync.NetReceived:F0} B = {resync.NetSent + resync.NetReceived:F0} B"));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>
    /// Takes the link between agent and server down for <see cref="AgentHarnessOptions.LinkDown"/> with the server
    /// up (a partition: nothing passes, nothing is closed), brings it back, and counts the node's channel bytes from
    /// the agent's new connection on, as <see cref="ResyncAsync"/> does. The server is the same process, so the agent
    /// may resume its TLS session.
    /// </summary>
    private static async Task LinkDownAsync(string build, HttpClient client, PartitionProxy link, string node, AgentHarnessOptions options,
        List<(string, string)> rows, ChildProcess agent, CancellationToken ct)
    {
        link.Down();
        Console.WriteLine($"[{build}] link down for {options.LinkDown.TotalSeconds:F0} s");
        await Task.Delay(options.LinkDown, ct);
        var before = await ChannelBytesAsync(client, node, ct);
        link.Up();
        var resync = await MeasureReconnectAsync(client, node, before, agent, ct);
        rows.Add(($"{build}: link down {options.LinkDown.TotalSeconds:F0} s (server up), no changes, {options.Pods} pods held: agent reconnected after the link was back",
            $"{resync.Reconnected.TotalSeconds:F1} s"));
        rows.Add(($"{build}: resync bytes after the partition, first {resync.Window:F1} s of the new session, server->agent / agent->server (TLS handshake included)",
            $"{resync.Sent} / {resync.Received} B"));
        rows.Add(($"{build}: resync bytes after the partition less the idle traffic of that window ({resync.IdleRate:F0} B/s after it)",
            $"{resync.NetSent:F0} / {resync.NetReceived:F0} B = {resync.NetSent + resync.NetReceived:F0} B"));
    }

    /// <summary>
    /// Waits for the agent's new session (the node's byte counters move past <paramref name="before"/>), counts its
    /// bytes over the first 5 s, then the idle rate over the next 20 s, and subtracts the idle traffic of the first
    /// window from it.
    /// </summary>
    private static async Task<Reconnect> MeasureReconnectAsync(HttpClient client, string node, (long Sent, long Received) before, ChildProcess agent, CancellationToken ct)
    {
        var back = Stopwatch.GetTimestamp();
        await WaitAsync(async () => (await ChannelBytesAsync(client, node, ct)).Received > before.Received, TimeSpan.FromMinutes(2), "the agent's reconnection", agent, ct);
        var reconnected = Stopwatch.GetElapsedTime(back);
        var t0 = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(5), ct);
        var first = await ChannelBytesAsync(client, node, ct);
        var firstWindow = Stopwatch.GetElapsedTime(t0);
        var t1 = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(20), ct);
        var second = await ChannelBytesAsync(client, node, ct);
        var idleWindow = Stopwatch.GetElapsedTime(t1);
        var rateSent = (second.Sent - first.Sent) / idleWindow.TotalSeconds;
        var rateReceived = (second.Received - first.Received) / idleWindow.TotalSeconds;
        // The first window began when the session was first seen, at most a poll (~0.1 s) after it opened.
        var window = firstWindow.TotalSeconds + 0.1;
        var sent = first.Sent - before.Sent;
        var received = first.Received - before.Received;
        return new Reconnect(reconnected, window, sent, received, sent - rateSent * window, received - rateReceived * window, rateSent + rateReceived);
    }

    private sealed record Reconnect(TimeSpan Reconnected, double Window, long Sent, long Received, double NetSent, double NetReceived, double IdleRate);

    private static async Task<ChildProcess> StartServerAsync(string verge, string dataDir, int port, CancellationToken ct)
    {
        var server = ChildProcess.Start("verge server", "dotnet", [verge, "server", "--data-dir", dataDir, "--listen", $"127.0.0.1:{port}"]);
        try
        {
            await server.WaitForLineAsync(l => l.StartsWith("Admin kubeconfig:", StringComparison.Ordinal), TimeSpan.FromSeconds(90), ct);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static async Task<TimeSpan> RunOnePodAsync(HttpClient client, PodWatch watch, string name, string json, CancellationToken ct)
    {
        var running = watch.WhenAsync(pods => pods.TryGetValue(name, out var p) && p.Phase == "Running");
        var t0 = Stopwatch.GetTimestamp();
        await CreateAsync(client, json, ct);
        var at = await running.WaitAsync(TimeSpan.FromMinutes(2), ct);
        var elapsed = Stopwatch.GetElapsedTime(t0, at);
        await DeleteAllAsync(client, watch, [name], ct);
        return elapsed;
    }

    private static async Task CreateAsync(HttpClient client, string json, CancellationToken ct)
    {
        using var body = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync($"/api/v1/namespaces/{Ns}/pods", body, ct);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"pod create: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }
    }

    /// <summary>Deletes the pods gracefully and waits until they are gone: the agent has stopped each and confirmed it.</summary>
    private static async Task DeleteAllAsync(HttpClient client, PodWatch watch, IReadOnlyList<string> names, CancellationToken ct)
    {
        var gone = watch.WhenAsync(pods => names.All(n => !pods.ContainsKey(n)));
        foreach (var name in names)
        {
            using var response = await client.DeleteAsync($"/api/v1/namespaces/{Ns}/pods/{name}", ct);
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Accepted or HttpStatusCode.NotFound))
            {
                throw new InvalidOperationException($"pod delete {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        }

        await gone.WaitAsync(TimeSpan.FromMinutes(2), ct);
    }

    private static string PodJson(string name, string image, string? runtimeClass) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new Dictionary<string, object> { ["name"] = name, ["namespace"] = Ns },
        ["spec"] = runtimeClass is null
            ? new Dictionary<string, object>
            {
                ["terminationGracePeriodSeconds"] = 1,
                ["containers"] = new[] { new Dictionary<string, object> { ["name"] = "main", ["image"] = image, ["imagePullPolicy"] = "IfNotPresent", ["command"] = new[] { "sleep", "3600" } } },
            }
            : new Dictionary<string, object>
            {
                ["terminationGracePeriodSeconds"] = 1,
                ["runtimeClassName"] = runtimeClass,
                ["containers"] = new[] { new Dictionary<string, object> { ["name"] = "main", ["image"] = image, ["command"] = new[] { "sleep", "3600" } } },
            },
    });

    private static async Task<bool> NodeReadyAsync(HttpClient client, string node, CancellationToken ct)
    {
        using var response = await client.GetAsync($"/api/v1/nodes/{node}", ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return false;
        }

        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(ct));
        return doc.RootElement.TryGetProperty("status", out var status) && status.TryGetProperty("conditions", out var conditions)
            && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "Ready" && c.GetProperty("status").GetString() == "True");
    }

    /// <summary>The node's verge_node_channel_bytes_total from the server's /metrics: (sent by the server, received by it).</summary>
    private static async Task<(long Sent, long Received)> ChannelBytesAsync(HttpClient client, string node, CancellationToken ct)
    {
        var text = await client.GetStringAsync("/metrics", ct);
        long sent = 0, received = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith($"verge_node_channel_bytes_total{{node=\"{node}\",", StringComparison.Ordinal))
            {
                continue;
            }

            var value = long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            if (line.Contains("direction=\"sent\"", StringComparison.Ordinal))
            {
                sent = value;
            }
            else
            {
                received = value;
            }
        }

        return (sent, received);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, ChildProcess agent, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (agent.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"no {what} within {timeout.TotalSeconds:F0} s (agent {(agent.HasExited ? "exited" : "running")}); agent output:\n{agent.Tail()}");
            }

            await Task.Delay(100, ct);
        }
    }

    /// <summary>
    /// Waits (at most 60 s) until no process but the agent runs whose command line names the agent's data dir, and no
    /// pod network is recorded under it: a pod's network is torn down after its processes end, and stopping the agent
    /// before that, then deleting its data dir, would leave the pod's namespace with nothing to remove it.
    /// </summary>
    private static async Task WaitNoWorkloadsAsync(string agentDir, int agentPid)
    {
        var networks = Path.Combine(agentDir, "cni", "pods");
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var left = Directory.GetDirectories("/proc").Any(dir =>
            {
                try
                {
                    return int.TryParse(Path.GetFileName(dir), out var pid) && pid != agentPid && File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(agentDir, StringComparison.Ordinal);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return false;
                }
            });
            if (!left && (!Directory.Exists(networks) || !Directory.EnumerateFiles(networks, "*.json").Any()))
            {
                return;
            }

            await Task.Delay(200);
        }

        Console.Error.WriteLine($"processes or pod networks of {agentDir} still there after 60 s");
    }

    /// <summary>With --dump-dir: the agent's smaps, and for the JIT build a dotnet-gcdump heap dump if the tool is there.</summary>
    private static async Task DumpAsync(AgentHarnessOptions options, string build, string label, ChildProcess agent, CancellationToken ct)
    {
        if (options.DumpDir is not { } dir)
        {
            return;
        }

        Directory.CreateDirectory(dir);
        File.Copy($"/proc/{agent.Id}/smaps", Path.Combine(dir, $"{build}-{label}.smaps"), overwrite: true);
        var gcdump = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
        if (build == "jit" && File.Exists(gcdump))
        {
            try
            {
                await BenchRegistry.RunAsync(gcdump, ["collect", "-p", agent.Id.ToString(CultureInfo.InvariantCulture), "-o", Path.Combine(dir, $"{build}-{label}.gcdump")], ct);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"dotnet-gcdump failed: {e.Message}");
            }
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string Resident(ChildProcess process)
    {
        var (total, anon, file) = process.Resident();
        var shared = total - anon - file; // RssShmem: the JIT's double-mapped code
        return $"{Mib(total)} (anonymous {Mib(anon)}, file-backed {Mib(file)}{(shared > 0 ? $", shared memory {Mib(shared)}" : "")})";
    }

    private static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:F1} MiB";

    private static string FindUnderRepo(string relative, string howToBuild)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Verge.slnx")))
            {
                var path = Path.Combine(dir.FullName, relative);
                return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: {howToBuild}");
            }
        }

        throw new InvalidOperationException("repository root (Verge.slnx) not found; pass --verge and --agent");
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

    private static void Print(List<(string Metric, string Value)> rows)
    {
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("| --- | --- |");
        foreach (var (metric, value) in rows)
        {
            Console.WriteLine($"| {metric} | {value} |");
        }
    }
}
