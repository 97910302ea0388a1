using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Cli.Client;

namespace Verge.Cli.Simulation;

/// <summary>
/// Simulated ("hollow") nodes: registers them, renews their Leases spread evenly over the renew interval, refreshes
/// their Ready heartbeat, and plays the node agent for pods bound to them (Running on start, deletion confirmed when
/// the pod is terminating). At most <see cref="HollowNodeOptions.PodLane"/> pod requests are in flight at a time.
/// Cancelling the run stops everything; the nodes are left as they are, so their leases expire.
/// </summary>
internal sealed class HollowNodeSimulator : IDisposable
{
    private const string JsonType = "application/json";
    private const string MergePatch = "application/merge-patch+json";
    private const string LeasesPath = "/apis/coordination.k8s.io/v1/namespaces/" + HollowObjects.LeaseNamespace + "/leases";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly KubeClient _client;
    private readonly HollowNodeOptions _options;
    private readonly TimeProvider _time;
    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly IReadOnlyList<HollowNode> _nodes;
    private readonly Dictionary<string, HollowNode> _byName;
    private readonly SemaphoreSlim _gate;
    private readonly SemaphoreSlim _heartbeatGate;
    private readonly int _heartbeatLimit;
    private readonly ConcurrentDictionary<string, string> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _podWork = new(StringComparer.Ordinal);
    private readonly int[] _leaseBusy;
    private readonly int[] _heartbeatBusy;
    private readonly int[] _registered;
    private DateTimeOffset _since;
    private long _renewals;
    private long _errors;
    private long _watchResumes;
    private long _relists;
    private long _reportedErrors;
    private string? _lastError;

    public HollowNodeSimulator(KubeClient client, HollowNodeOptions options, TimeProvider time, TextWriter stdout, TextWriter stderr)
    {
        _client = client;
        _options = options;
        _time = time;
        _out = stdout;
        _error = stderr;
        _nodes = [.. Enumerable.Range(1, options.Count).Select(i => new HollowNode(options.Prefix, i, options.Sites))];
        _byName = _nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        _gate = new SemaphoreSlim(options.PodLane, options.PodLane);
        _heartbeatLimit = (int)Math.Min(options.HeartbeatLane, 2L * options.Count);
        _heartbeatGate = new SemaphoreSlim(_heartbeatLimit, _heartbeatLimit);
        _leaseBusy = new int[options.Count];
        _heartbeatBusy = new int[options.Count];
        _registered = new int[options.Count];
    }

    public IReadOnlyList<HollowNode> Nodes => _nodes;

    /// <summary>Pods currently Running on these nodes (as marked by this simulator).</summary>
    public int RunningPods => _running.Count;

    /// <summary>Lease renewals done so far.</summary>
    public long Renewals => Interlocked.Read(ref _renewals);

    /// <summary>Registers the nodes, then simulates them until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        _since = _time.GetUtcNow();
        await WriteLineAsync(_out, $"registering {_nodes.Count} hollow nodes ({_options.Prefix}-{_nodes[0].Index:D4}..{_nodes[^1].Name}) over {_options.Sites} site(s) on {_client.ServerHostPort}");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // As a kubelet does, each node renews its Lease from the moment it has registered, not once all have.
        var leases = SpreadAsync(_options.Leases.RenewInterval, _leaseBusy, RenewLeaseAsync, stop.Token, onlyRegistered: true);
        try
        {
            await Parallel.ForEachAsync(_nodes, new ParallelOptions { MaxDegreeOfParallelism = _options.PodLane, CancellationToken = ct }, RegisterAsync);
        }
        catch
        {
            await stop.CancelAsync();
            await leases.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        await WriteLineAsync(_out, $"registered {_nodes.Count} nodes; renewing leases every {Format(_options.Leases.RenewInterval)} (lease duration {_options.Leases.LeaseDurationSeconds}s); watching pods");
        var loops = new List<Task>
        {
            leases,
            SpreadAsync(_options.HeartbeatInterval, _heartbeatBusy, HeartbeatAsync, stop.Token, skipFirstRound: true),
            SummaryAsync(stop.Token),
        };
        if (_nodes.Count <= _options.PerNodeWatchLimit)
        {
            loops.AddRange(_nodes.Select(n => WatchPodsAsync("spec.nodeName=" + n.Name, [n], stop.Token)));
        }
        else
        {
            loops.Add(WatchPodsAsync(null, _nodes, stop.Token));
        }

        try
        {
            await await Task.WhenAny(loops);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loops.Select(t => t.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)));
            await DrainAsync();
        }
    }

    public void Dispose()
    {
        _gate.Dispose();
        _heartbeatGate.Dispose();
    }

    private async ValueTask RegisterAsync(HollowNode node, CancellationToken ct)
    {
        JsonNode? registered;
        try
        {
            registered = (await _client.SendAsync(HttpMethod.Post, "/api/v1/nodes", HollowObjects.Node(node).ToJsonString(), JsonType, JsonType, ct)).Body;
        }
        catch (ApiStatusException e) when (e.Code == 409)
        {
            // A node of this name exists (an earlier run of this simulator): take it over.
            registered = (await _client.SendAsync(HttpMethod.Patch, NodePath(node), HollowObjects.TakeOver(node).ToJsonString(), MergePatch, JsonType, ct)).Body;
        }

        node.Uid = registered?["metadata"]?["uid"]?.GetValue<string>();
        var now = _time.GetUtcNow();
        await _client.SendAsync(HttpMethod.Patch, NodePath(node) + "/status", HollowObjects.NodeStatus(node, _options, _since, now).ToJsonString(), MergePatch, JsonType, ct);
        await RenewOrCreateLeaseAsync(node, ct);
        Volatile.Write(ref _registered[node.Index - 1], 1);
    }

    private async Task RenewOrCreateLeaseAsync(HollowNode node, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        try
        {
            await _client.SendAsync(HttpMethod.Patch, $"{LeasesPath}/{node.Name}", HollowObjects.Renewal(node, _options, now).ToJsonString(), MergePatch, JsonType, ct);
        }
        catch (ApiStatusException e) when (e.IsNotFound)
        {
            try
            {
                await _client.SendAsync(HttpMethod.Post, LeasesPath, HollowObjects.Lease(node, _options, now).ToJsonString(), JsonType, JsonType, ct);
            }
            catch (ApiStatusException created) when (created.Code == 409)
            {
                // Created meanwhile; the next renewal patches it.
            }
        }

        Interlocked.Increment(ref _renewals);
    }

    private Task RenewLeaseAsync(HollowNode node, CancellationToken ct) => RenewOrCreateLeaseAsync(node, ct);

    private async Task HeartbeatAsync(HollowNode node, CancellationToken ct) =>
        await _client.SendAsync(HttpMethod.Patch, NodePath(node) + "/status", HollowObjects.Heartbeat(_since, _time.GetUtcNow()).ToJsonString(), MergePatch, JsonType, ct);

    /// <summary>
    /// Runs <paramref name="action"/> for every node once per <paramref name="interval"/>, the nodes spread evenly over
    /// it in slots (at most one slot per 10 ms). A node whose previous call is still running is skipped for the round.
    /// </summary>
    private async Task SpreadAsync(TimeSpan interval, int[] busy, Func<HollowNode, CancellationToken, Task> action, CancellationToken ct,
        bool skipFirstRound = false, bool onlyRegistered = false)
    {
        var slots = (int)Math.Clamp(interval.TotalMilliseconds / 10, 1, _nodes.Count);
        var slotLength = interval / slots;
        var start = _time.GetUtcNow();
        if (skipFirstRound)
        {
            start += interval;
            await Task.Delay(interval, _time, ct);
        }

        for (long round = 0; ; round++)
        {
            for (var slot = 0; slot < slots; slot++)
            {
                var from = (int)((long)slot * _nodes.Count / slots);
                var to = (int)((long)(slot + 1) * _nodes.Count / slots);
                for (var i = from; i < to; i++)
                {
                    if ((onlyRegistered && Volatile.Read(ref _registered[i]) == 0) || Interlocked.CompareExchange(ref busy[i], 1, 0) != 0)
                    {
                        continue;
                    }

                    await _heartbeatGate.WaitAsync(ct);
                    var node = _nodes[i];
                    var index = i;
                    _ = RunGatedAsync(_heartbeatGate, () => action(node, ct), () => Volatile.Write(ref busy[index], 0));
                }

                var due = start + (round * interval) + ((slot + 1) * slotLength);
                var wait = due - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, ct);
                }
                else if (-wait > interval)
                {
                    // Far behind (a slow server): start counting from now instead of bursting to catch up.
                    start = _time.GetUtcNow() - (round * interval) - ((slot + 1) * slotLength);
                }
            }
        }
    }

    /// <summary>Lists, then watches pods (all, or those matching <paramref name="fieldSelector"/>), handling those bound to <paramref name="scope"/>.</summary>
    private async Task WatchPodsAsync(string? fieldSelector, IReadOnlyCollection<HollowNode> scope, CancellationToken ct)
    {
        var query = fieldSelector is null ? "" : "fieldSelector=" + Uri.EscapeDataString(fieldSelector);
        string? resourceVersion = null;
        var started = false;
        while (true)
        {
            try
            {
                if (started)
                {
                    // The watch ended (the server closes one that falls behind, or its timeout came) or failed:
                    // counted, since a relist of every pod costs both sides far more than a resumed watch.
                    Interlocked.Increment(ref resourceVersion is null ? ref _relists : ref _watchResumes);
                }

                started = true;
                if (resourceVersion is null)
                {
                    var list = await _client.GetAsync("/api/v1/pods" + (query.Length == 0 ? "" : "?" + query), ct);
                    resourceVersion = list["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "";
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var pod in list["items"] as JsonArray ?? [])
                    {
                        if (pod is not null)
                        {
                            seen.Add(Uid(pod));
                            await HandlePodAsync(pod, ct);
                        }
                    }

                    // Pods that went away while no watch was open.
                    var names = scope.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
                    foreach (var (uid, node) in _running)
                    {
                        if (names.Contains(node) && !seen.Contains(uid))
                        {
                            _running.TryRemove(uid, out _);
                        }
                    }
                }

                var path = "/api/v1/pods?" + (query.Length == 0 ? "" : query + "&") + "watch=1&allowWatchBookmarks=true"
                    + (_options.PodWatchTimeout is { } timeout ? $"&timeoutSeconds={Math.Max(1, (long)timeout.TotalSeconds)}" : "")
                    + (resourceVersion.Length == 0 ? "" : "&resourceVersion=" + Uri.EscapeDataString(resourceVersion));
                await foreach (var frame in _client.WatchAsync(path, JsonType, ct))
                {
                    var type = frame["type"]?.GetValue<string>();
                    var pod = frame["object"];
                    if (type == "ERROR")
                    {
                        var code = pod?["code"]?.GetValue<int>() ?? 0;
                        if (code == 410)
                        {
                            resourceVersion = null;
                            break;
                        }

                        throw new CliException($"error: the watch on pods failed: {pod?["message"]?.GetValue<string>()}");
                    }

                    if (pod?["metadata"]?["resourceVersion"]?.GetValue<string>() is { Length: > 0 } rv)
                    {
                        resourceVersion = rv;
                    }

                    if (pod is null || type == "BOOKMARK")
                    {
                        continue;
                    }

                    if (type == "DELETED")
                    {
                        _running.TryRemove(Uid(pod), out _);
                        continue;
                    }

                    await HandlePodAsync(pod, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (ApiStatusException e) when (e.Code == 410)
            {
                resourceVersion = null;
            }
            catch (Exception e) when (e is ApiStatusException or CliException or JsonException or InvalidOperationException or HttpRequestException or IOException)
            {
                RecordError(e);
                await Task.Delay(RetryDelay, _time, ct);
            }
        }
    }

    private async Task HandlePodAsync(JsonNode pod, CancellationToken ct)
    {
        if (pod["spec"]?["nodeName"]?.GetValue<string>() is not { } nodeName || !_byName.TryGetValue(nodeName, out var node))
        {
            return;
        }

        var uid = Uid(pod);
        var ns = pod["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
        var name = pod["metadata"]?["name"]?.GetValue<string>() ?? "";
        var path = $"/api/v1/namespaces/{ns}/pods/{name}";
        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            // The node confirms the termination: the pod goes away now.
            await StartPodWorkAsync("delete/" + uid, async () =>
            {
                try
                {
                    await _client.SendAsync(HttpMethod.Delete, path + "?gracePeriodSeconds=0", HollowObjects.ConfirmDeletion(uid).ToJsonString(), JsonType, JsonType, ct);
                }
                catch (ApiStatusException e) when (e.Code is 404 or 409)
                {
                    // Gone already, or a new pod of the same name.
                }

                _running.TryRemove(uid, out _);
            }, ct);
            return;
        }

        var phase = pod["status"]?["phase"]?.GetValue<string>();
        if (phase is "Succeeded" or "Failed")
        {
            _running.TryRemove(uid, out _);
            return;
        }

        if (HollowObjects.IsRunning(pod) || HollowObjects.IsMarkedNotReady(pod))
        {
            // A pod the control plane marked not Ready while it did not hear from the node is as the node left it:
            // an agent reports only changes, and the control plane lifts the mark once the node is Ready again.
            // Reporting it Ready at once would mark it again, and so on, while the node's heartbeat is late.
            _running[uid] = node.Name;
            return;
        }

        await StartPodWorkAsync("run/" + uid, async () =>
        {
            var podIp = pod["status"]?["podIP"]?.GetValue<string>() is { Length: > 0 } ip ? ip : node.NextPodIp();
            var status = HollowObjects.RunningPodStatus(pod, node, podIp, _time.GetUtcNow());
            try
            {
                await _client.SendAsync(HttpMethod.Patch, path + "/status", status.ToJsonString(), MergePatch, JsonType, ct);
                _running[uid] = node.Name;
            }
            catch (ApiStatusException e) when (e.IsNotFound)
            {
                // Deleted meanwhile.
            }
        }, ct);
    }

    /// <summary>Starts one piece of work on a pod unless the same work is already running.</summary>
    private async Task StartPodWorkAsync(string key, Func<Task> work, CancellationToken ct)
    {
        if (!_podWork.TryAdd(key, 0))
        {
            return;
        }

        try
        {
            await _gate.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            _podWork.TryRemove(key, out _);
            throw;
        }

        _ = RunGatedAsync(_gate, work, () => _podWork.TryRemove(key, out _));
    }

    /// <summary>Runs work that holds a slot of the gate; errors are counted, never thrown.</summary>
    private async Task RunGatedAsync(SemaphoreSlim gate, Func<Task> work, Action done)
    {
        try
        {
            await work();
        }
        catch (OperationCanceledException)
        {
        }
#pragma warning disable CA1031 // Background work of a simulator: every failure is counted and reported in the summary.
        catch (Exception e)
#pragma warning restore CA1031
        {
            RecordError(e);
        }
        finally
        {
            done();
            gate.Release();
        }
    }

    private async Task SummaryAsync(CancellationToken ct)
    {
        var last = Renewals;
        while (true)
        {
            await Task.Delay(_options.SummaryInterval, _time, ct);
            var renewals = Renewals;
            var errors = Interlocked.Read(ref _errors);
            var line = $"{_nodes.Count} nodes, {RunningPods} pods running, {renewals - last} lease renewals in {Format(_options.SummaryInterval)}, {errors} errors"
                + $", pod watch resumed {Interlocked.Read(ref _watchResumes)} and relisted {Interlocked.Read(ref _relists)} times";
            last = renewals;
            await WriteLineAsync(_out, line);
            if (errors != _reportedErrors && Volatile.Read(ref _lastError) is { } error)
            {
                _reportedErrors = errors;
                await WriteLineAsync(_error, error);
            }
        }
    }

    private void RecordError(Exception e)
    {
        Interlocked.Increment(ref _errors);
        var message = e switch
        {
            ApiStatusException api => api.ToErrorLine(),
            CliException cli => cli.Message,
            _ => "error: " + e.Message,
        };
        Volatile.Write(ref _lastError, message);
    }

    /// <summary>Waits for the requests still in flight to finish (they are cancelled).</summary>
    private async Task DrainAsync()
    {
        foreach (var (gate, size) in new[] { (_gate, _options.PodLane), (_heartbeatGate, _heartbeatLimit) })
        {
            for (var i = 0; i < size; i++)
            {
                await gate.WaitAsync(CancellationToken.None);
            }

            gate.Release(size);
        }
    }

    private static async Task WriteLineAsync(TextWriter writer, string line)
    {
        await writer.WriteLineAsync(line);
        await writer.FlushAsync(CancellationToken.None);
    }

    private static string NodePath(HollowNode node) => "/api/v1/nodes/" + node.Name;

    private static string Uid(JsonNode pod) => pod["metadata"]?["uid"]?.GetValue<string>() ?? "";

    internal static string Format(TimeSpan span) => span.TotalSeconds >= 1 && span.Milliseconds == 0
        ? $"{span.TotalSeconds:0}s"
        : $"{span.TotalMilliseconds:0}ms";
}
