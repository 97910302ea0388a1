using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Verge.Benchmarks.Cluster;

/// <summary>
/// One watch on the pods of a namespace that keeps, per pod, its node, phase and whether it is being deleted, and
/// records when counts are first reached. The harness waits on it instead of polling.
/// </summary>
internal sealed class PodWatch : IAsyncDisposable
{
    public sealed record PodState(string? Node, string? Phase, bool Deleting);

    private readonly Dictionary<string, PodState> _pods = [];
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;
    private readonly List<(Func<IReadOnlyDictionary<string, PodState>, bool> Condition, TaskCompletionSource<long> Done)> _waiters = [];
    private int _boundEver;
    private int _runningEver;

    /// <summary>When each pod was first seen Running, in that order (<see cref="Stopwatch"/> timestamps).</summary>
    private readonly List<long> _runningAt = [];
    private readonly HashSet<string> _seenBound = [];
    private readonly HashSet<string> _seenRunning = [];
    private string? _error;

    public long Events;

    private readonly HttpClient _client;
    private readonly string _ns;
    private string _resourceVersion;

    private PodWatch(HttpClient client, string ns, string resourceVersion, HttpResponseMessage response, Stream stream, CancellationToken ct)
    {
        _client = client;
        _ns = ns;
        _resourceVersion = resourceVersion;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loop = Task.Run(() => LoopAsync(response, stream, _stop.Token), CancellationToken.None);
    }

    /// <summary>Watches that ended (the server closes a watcher that falls behind) and were resumed from the last revision seen.</summary>
    public int Resumed { get; private set; }

    public string? Error => _error;

    public static async Task<PodWatch> OpenAsync(HttpClient client, string ns, CancellationToken ct)
    {
        using var list = await client.GetAsync($"/api/v1/namespaces/{ns}/pods?limit=1", ct);
        list.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await list.Content.ReadAsByteArrayAsync(ct));
        var rv = doc.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()!;
        var response = await OpenStreamAsync(client, ns, rv, ct);
        return new PodWatch(client, ns, rv, response, await response.Content.ReadAsStreamAsync(ct), ct);
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient client, string ns, string rv, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=3600")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            response.Dispose();
            throw new InvalidOperationException($"pod watch failed: {(int)response.StatusCode} {body}");
        }

        return response;
    }

    /// <summary>Completes with the Stopwatch timestamp of the event after which <paramref name="condition"/> first held.</summary>
    public Task<long> WhenAsync(Func<IReadOnlyDictionary<string, PodState>, bool> condition)
    {
        lock (_pods)
        {
            var tcs = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (condition(_pods))
            {
                tcs.SetResult(Stopwatch.GetTimestamp());
            }
            else
            {
                _waiters.Add((condition, tcs));
            }

            return tcs.Task;
        }
    }

    /// <summary>Pods that ever had a node (read under the watch's lock, i.e. inside a condition).</summary>
    public int BoundEver => _boundEver;

    /// <summary>Pods ever seen Running (read under the watch's lock, i.e. inside a condition).</summary>
    public int RunningEver => _runningEver;

    /// <summary>Pods now bound and not being deleted (read inside a condition).</summary>
    public int BoundNow { get; private set; }

    /// <summary>Pods now Running and not being deleted (read inside a condition).</summary>
    public int RunningNow { get; private set; }

    /// <summary>Pods the watch holds now: created and not yet deleted (read inside a condition or for progress).</summary>
    public int Seen => _pods.Count;

    /// <summary>Pods deleted (DELETED events) since the watch opened.</summary>
    public int Deleted { get; private set; }

    private void Count(PodState? state, int sign)
    {
        if (state is null || state.Deleting)
        {
            return;
        }

        if (!string.IsNullOrEmpty(state.Node))
        {
            BoundNow += sign;
        }

        if (state.Phase == "Running")
        {
            RunningNow += sign;
        }
    }

    /// <summary>Pods that ever had a node, and that were ever seen Running.</summary>
    public (int Bound, int Running) Ever()
    {
        lock (_pods)
        {
            return (_boundEver, _runningEver);
        }
    }

    /// <summary>
    /// Pods per second from the <paramref name="from"/>-th to the <paramref name="to"/>-th pod first seen Running (0
    /// based), or null before that many were: the rate with the start-up and the tail left out.
    /// </summary>
    public double? RunningRate(int from, int to)
    {
        lock (_pods)
        {
            if (to >= _runningAt.Count || to <= from)
            {
                return null;
            }

            return (to - from) / Stopwatch.GetElapsedTime(_runningAt[from], _runningAt[to]).TotalSeconds;
        }
    }

    public Dictionary<string, PodState> Snapshot()
    {
        lock (_pods)
        {
            return new Dictionary<string, PodState>(_pods);
        }
    }

    private async Task LoopAsync(HttpResponseMessage response, Stream stream, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await ReadAsync(stream, ct);
                if (_error is not null)
                {
                    break;
                }

                // The server closes a watcher that falls too far behind; a client resumes from the last revision it saw.
                response.Dispose();
                response = await OpenStreamAsync(_client, _ns, _resourceVersion, ct);
                stream = await response.Content.ReadAsStreamAsync(ct);
                Resumed++;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _error = e.Message;
        }
        finally
        {
            response.Dispose();
            lock (_pods)
            {
                foreach (var (_, done) in _waiters)
                {
                    done.TrySetException(new InvalidOperationException($"pod watch stopped: {_error}"));
                }

                _waiters.Clear();
            }
        }
    }

    private async Task ReadAsync(Stream stream, CancellationToken ct)
    {
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var at = Stopwatch.GetTimestamp();
            using var doc = JsonDocument.Parse(line);
            var type = doc.RootElement.GetProperty("type").GetString();
            var obj = doc.RootElement.GetProperty("object");
            if (type == "ERROR")
            {
                _error = obj.GetRawText();
                return;
            }

            if (obj.TryGetProperty("metadata", out var m) && m.TryGetProperty("resourceVersion", out var r) && r.GetString() is { Length: > 0 } version)
            {
                _resourceVersion = version;
            }

            if (type is not ("ADDED" or "MODIFIED" or "DELETED"))
            {
                continue;
            }

            var meta = obj.GetProperty("metadata");
            var name = meta.GetProperty("name").GetString()!;
            string? node = obj.TryGetProperty("spec", out var spec) && spec.TryGetProperty("nodeName", out var n) ? n.GetString() : null;
            string? phase = obj.TryGetProperty("status", out var status) && status.TryGetProperty("phase", out var p) ? p.GetString() : null;
            var deleting = meta.TryGetProperty("deletionTimestamp", out var dt) && dt.ValueKind == JsonValueKind.String;
            lock (_pods)
            {
                Events++;
                Count(_pods.GetValueOrDefault(name), -1);
                if (type == "DELETED")
                {
                    _pods.Remove(name);
                    Deleted++;
                }
                else
                {
                    var state = new PodState(node, phase, deleting);
                    _pods[name] = state;
                    Count(state, +1);
                    if (!string.IsNullOrEmpty(node) && _seenBound.Add(name))
                    {
                        _boundEver++;
                    }

                    if (phase == "Running" && _seenRunning.Add(name))
                    {
                        _runningEver++;
                        _runningAt.Add(at);
                    }
                }

                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].Condition(_pods))
                    {
                        _waiters[i].Done.TrySetResult(at);
                        _waiters.RemoveAt(i);
                    }
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
