using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using Verge.ApiServer.Hosting;
using Verge.ApiServer.Watch;

namespace Verge.Benchmarks.Api;

/// <summary>
/// Opens many ConfigMap watches multiplexed over a few HTTP/2 connections, then makes one change at a time and
/// measures, per watcher, the time from just before the write until that watcher has the event's line.
/// </summary>
internal sealed class WatchFanout : IAsyncDisposable
{
    private static readonly byte[] ResourceVersionField = "\"resourceVersion\":\""u8.ToArray();

    private readonly CancellationTokenSource _stop = new();
    private readonly List<HttpClient> _clients = [];
    private readonly List<Task> _loops = [];
    private Stream[] _streams = [];
    private List<(long Revision, long At)>[] _arrivals = [];
    private int _eventCount;
    private int _target = int.MaxValue;
    private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _firstLoopError;

    public sealed record Established(TimeSpan OpenTime, TimeSpan ConfirmTime, int ServerWatchers, int Connections, long WorkingSetBytes, long ManagedHeapBytes);

    public sealed record Round(int Index, long Revision, TimeSpan WriteTime, Latencies Delivery, int Missing, TimeSpan CpuTime, TimeSpan WallTime);

    public static async Task<(WatchFanout Fanout, Established Info)> OpenAsync(
        ApiServerHost host, ClusterConnection cluster, HttpClient control, int watchers, int connections, CancellationToken ct)
    {
        var fanout = new WatchFanout();
        var cache = (WatchCache)(host.Services.GetService(typeof(WatchCache)) ?? throw new InvalidOperationException("no WatchCache service"));
        var baseline = cache.WatcherCount;

        using var list = await control.GetAsync("/api/v1/namespaces/default/configmaps?limit=1", ct);
        list.EnsureSuccessStatusCode();
        using var listed = JsonDocument.Parse(await list.Content.ReadAsByteArrayAsync(ct));
        var from = listed.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString();

        var connects = Volatile.Read(ref ClusterConnection.Connects);

        // One client per connection; a first request on each opens the connection and learns the server's
        // stream limit, so the watches below spread evenly (watchers / connections streams each).
        for (var i = 0; i < connections; i++)
        {
            var client = cluster.CreateClient(http2: true, extraConnections: true);
            fanout._clients.Add(client);
            using var warm = await client.GetAsync("/version", ct);
        }

        fanout._arrivals = new List<(long, long)>[watchers];
        fanout._streams = new Stream[watchers];
        var opening = Stopwatch.GetTimestamp();
        using var gate = new SemaphoreSlim(256);
        var opens = new Task[watchers];
        for (var w = 0; w < watchers; w++)
        {
            await gate.WaitAsync(ct);
            var index = w;
            opens[w] = Task.Run(async () =>
            {
                try
                {
                    await fanout.OpenOneAsync(fanout._clients[index % connections], index, from!, ct);
                }
                finally
                {
                    gate.Release();
                }
            }, ct);
        }

        await Task.WhenAll(opens);
        var openTime = Stopwatch.GetElapsedTime(opening);

        // Established means the server has registered every watcher with its watch cache.
        var confirming = Stopwatch.GetTimestamp();
        var deadline = TimeSpan.FromMinutes(2);
        int registered;
        while ((registered = cache.WatcherCount - baseline) < watchers)
        {
            if (Stopwatch.GetElapsedTime(confirming) > deadline)
            {
                throw new TimeoutException($"only {registered} of {watchers} watchers registered after {deadline}; first loop error: {fanout._firstLoopError}");
            }

            await Task.Delay(20, ct);
        }

        return (fanout, new Established(openTime, Stopwatch.GetElapsedTime(confirming), registered, Volatile.Read(ref ClusterConnection.Connects) - connects, Environment.WorkingSet, GC.GetTotalMemory(forceFullCollection: true)));
    }

    /// <summary>Creates one ConfigMap and waits (up to 30 s) until every watcher has its ADDED event.</summary>
    public async Task<Round> ChangeAsync(HttpClient writer, int index, CancellationToken ct)
    {
        var watchers = _arrivals.Length;
        _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _target, watchers * (index + 1));
        if (Volatile.Read(ref _eventCount) >= _target)
        {
            _reached.TrySetResult();
        }

        using var body = new ByteArrayContent(Encoding.UTF8.GetBytes(
            $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fanout-{{{index}}}"},"data":{"round":"{{{index}}}"}}"""));
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var cpu0 = CpuTime();
        var t0 = Stopwatch.GetTimestamp();
        using var response = await writer.PostAsync("/api/v1/namespaces/default/configmaps", body, ct);
        var created = await response.Content.ReadAsByteArrayAsync(ct);
        var writeTime = Stopwatch.GetElapsedTime(t0);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"ConfigMap create failed: {(int)response.StatusCode} {Encoding.UTF8.GetString(created)}");
        }

        var revision = ReadRevision(created);
        try
        {
            await _reached.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }
        catch (TimeoutException)
        {
            // Reported below as missing watchers.
        }

        var wall = Stopwatch.GetElapsedTime(t0);
        var cpu = CpuTime() - cpu0;
        var delivered = new List<long>(watchers);
        var missing = 0;
        for (var w = 0; w < watchers; w++)
        {
            long? at = null;
            lock (_arrivals[w])
            {
                foreach (var (rev, time) in _arrivals[w])
                {
                    if (rev == revision)
                    {
                        at = time;
                    }
                }
            }

            if (at is { } arrived)
            {
                delivered.Add(arrived - t0);
            }
            else
            {
                missing++;
            }
        }

        return new Round(index, revision, writeTime, new Latencies(delivered), missing, cpu, wall);
    }

    public string? FirstLoopError => _firstLoopError;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var stream in _streams)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
        }

        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Loops end with cancellation or a closed stream.
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _stop.Dispose();
    }

    public static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private async Task OpenOneAsync(HttpClient client, int index, string from, CancellationToken ct)
    {
        // A new HttpRequestMessage is HTTP/1.1 whatever the client's DefaultRequestVersion (that applies only to
        // GetAsync and friends), and HTTP/1.1 means one TLS connection per watch; ask for HTTP/2 explicitly.
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={from}&timeoutSeconds=1800")
        {
            Version = client.DefaultRequestVersion,
            VersionPolicy = client.DefaultVersionPolicy,
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.Version != HttpVersion.Version20)
        {
            throw new InvalidOperationException($"watch {index} got HTTP/{response.Version}, expected HTTP/2");
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"watch {index} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }

        var stream = await response.Content.ReadAsStreamAsync(ct);
        _arrivals[index] = [];
        _streams[index] = stream;
        lock (_loops)
        {
            _loops.Add(ReadLoopAsync(stream, _arrivals[index]));
        }
    }

    private async Task ReadLoopAsync(Stream stream, List<(long Revision, long At)> arrivals)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 2048, minimumReadSize: 512));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(_stop.Token);
                var at = Stopwatch.GetTimestamp();
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = buffer.Slice(0, end);
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    if (line.Length == 0)
                    {
                        continue;
                    }

                    var revision = ReadRevision(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
                    lock (arrivals)
                    {
                        arrivals.Add((revision, at));
                    }

                    if (Interlocked.Increment(ref _eventCount) >= Volatile.Read(ref _target))
                    {
                        _reached.TrySetResult();
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!_stop.IsCancellationRequested)
                    {
                        Interlocked.CompareExchange(ref _firstLoopError, "a watch stream ended early", null);
                    }

                    return;
                }
            }
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            Interlocked.CompareExchange(ref _firstLoopError, e.Message, null);
        }
        catch (Exception)
        {
            // Stopping.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>The <c>metadata.resourceVersion</c> in an object or watch-event line, or -1.</summary>
    private static long ReadRevision(ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf(ResourceVersionField);
        if (at < 0)
        {
            return -1;
        }

        var digits = json[(at + ResourceVersionField.Length)..];
        var end = digits.IndexOf((byte)'"');
        return end > 0 && System.Buffers.Text.Utf8Parser.TryParse(digits[..end], out long value, out _) ? value : -1;
    }
}
