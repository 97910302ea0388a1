using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Verge.Agent.Identity;
using Verge.Agent.Images;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Serialization;
using Verge.NodeChannel.Protocol;
using Protocol = Verge.NodeChannel.Protocol;

namespace Verge.Agent.Channel;

/// <summary>
/// The agent's end of the node channel: dials the control plane with the node certificate (mutual TLS, the server
/// pinned to the cluster CA), says Hello with the last revision it applied and the keys it holds, applies each
/// SyncBatch durably and acknowledges it, sends its Node report, heartbeats, coalesced pod statuses and events, and
/// answers log requests. When the link fails it reconnects with full-jitter exponential backoff, moving through the
/// list of servers; statuses and events wait (coalesced and bounded) while it is down.
/// </summary>
public sealed partial class NodeChannelClient : IStatusPublisher
{
    private const int MaxLogChunk = 32 * 1024;
    private const int MaxStatusesPerBatch = 256;
    private const int MaxEventsPerBatch = 100;
    private const int ImageChunksBuffered = 8;

    /// <summary>
    /// Log chunks queued for the wire: few, because the writer takes everything else first and a log stream should
    /// wait for the link rather than fill a queue in front of the node's heartbeats.
    /// </summary>
    private const int LogChunksQueued = 4;

    private readonly NodeChannelClientOptions _options;
    private readonly NodeIdentity _identity;
    private readonly IDesiredState _state;
    private readonly Func<Node> _nodeReport;
    private readonly ILogSource _logs;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Pending<PodStatusUpdate>> _statuses = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Event> _events = new();
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Uri, bool> _acceptsHeldDigest = new();
    private readonly Channel<bool> _flushNow = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private ConcurrentDictionary<long, Action>? _awaitingAck;
    private long _reportBatchIds;
    private long _reportSequence;
    private long _bytesSent;
    private long _bytesReceived;
    private int _connected;
    private int _pendingEvents;
    private int _sessionTasks;
    private int _logStreamsAwaitingWindow;
    private SessionQueues? _queues;
    private long _sessions;
    private long _droppedEvents;

    public NodeChannelClient(
        NodeChannelClientOptions options,
        NodeIdentity identity,
        IDesiredState state,
        Func<Node> nodeReport,
        ILogSource logs,
        ILoggerFactory loggers,
        TimeProvider time)
    {
        options.Validate();
        _options = options;
        _identity = identity;
        _state = state;
        _nodeReport = nodeReport;
        _logs = logs;
        _loggers = loggers;
        _logger = loggers.CreateLogger<NodeChannelClient>();
        _time = time;
    }

    /// <summary>The image cache archives uploaded through the control plane go to; null refuses such uploads.</summary>
    public IImageStore? Images { get; init; }

    /// <summary>Whether a session is up (Welcome received and not yet lost).</summary>
    public bool Connected => Volatile.Read(ref _connected) == 1;

    /// <summary>Bytes written to the wire (TLS records, HTTP/2 frames and all) since the client was made.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bytes read from the wire since the client was made.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Sessions started so far (a reconnect starts a new one).</summary>
    public long Sessions => Interlocked.Read(ref _sessions);

    /// <summary>The server of the current (or last) session.</summary>
    public Uri? Server { get; private set; }

    /// <summary>Events dropped because more than <see cref="NodeChannelClientOptions.MaxPendingEvents"/> waited.</summary>
    public long DroppedEvents => Interlocked.Read(ref _droppedEvents);

    /// <summary>Whether the last Hello carried the digest of the held keys instead of the list.</summary>
    internal bool HeldDigestSent { get; private set; }

    /// <summary>How often a server asked for the held keys because the digest differed from its view.</summary>
    internal int HeldListsSent { get; private set; }

    /// <summary>Whether the server of the current session already held the node report (it was not sent on connect).</summary>
    internal bool NodeReportSkipped { get; private set; }

    /// <summary>The bytes of the last TLS handshake (a resumed one is about a kilobyte smaller than a full one).</summary>
    internal TlsHandshake? LastHandshake { get; private set; }

    /// <summary>Tasks the current session keeps track of: its loops, log streams and image imports.</summary>
    internal int SessionTasks => Volatile.Read(ref _sessionTasks);

    /// <summary>Messages queued for the wire in the current session: log chunks, and everything else.</summary>
    internal (int LogChunks, int Others) Queued => Volatile.Read(ref _queues) is { } queues ? (queues.LogChunks.Count, queues.Others.Count) : (0, 0);

    /// <summary>The current session's queues for the wire (for <see cref="Queued"/>).</summary>
    private sealed record SessionQueues(ChannelReader<Outgoing> Others, ChannelReader<Outgoing> LogChunks);

    /// <summary>Pod statuses waiting to be sent (one per pod: newer statuses replace older ones).</summary>
    internal int PendingStatuses => _statuses.Count;

    /// <summary>Log streams of the current session that have used their window and wait for the server to grant more.</summary>
    internal int LogStreamsAwaitingWindow => Volatile.Read(ref _logStreamsAwaitingWindow);

    /// <summary>Raised after every complete catch-up (once per session), once the state holds it durably.</summary>
    public event Action? Synced;

    /// <summary>Completes after the first complete catch-up.</summary>
    public Task FirstSync => _firstSync.Task;

    public void PublishPodStatus(string podNamespace, string podName, string podUid, PodStatus status) =>
        QueuePodStatus(podNamespace, podName, podUid, status, terminated: false);

    public void PublishPodTerminated(string podNamespace, string podName, string podUid, PodStatus? status) =>
        QueuePodStatus(podNamespace, podName, podUid, status, terminated: true);

    private void QueuePodStatus(string podNamespace, string podName, string podUid, PodStatus? status, bool terminated)
    {
        _statuses[podUid] = new Pending<PodStatusUpdate>(
            NextReportSequence(),
            new PodStatusUpdate
            {
                Namespace = podNamespace,
                Name = podName,
                Uid = podUid,
                StatusJson = status is null ? ByteString.Empty : ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(status, NodeJsonContext.Default.PodStatus)),
                Terminated = terminated,
            });

        // Wakes the flush loop: a status after a quiet spell goes out at once, later ones wait for the next flush.
        _flushNow.Writer.TryWrite(true);
    }

    public void PublishEvent(Event recorded)
    {
        _events.Enqueue(recorded);
        if (Interlocked.Increment(ref _pendingEvents) > _options.MaxPendingEvents && _events.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _pendingEvents);
            Interlocked.Increment(ref _droppedEvents);
        }
    }

    /// <summary>Keeps a session up until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var handler = CreateHandler();
        var attempt = 0;
        var index = 0;
        while (!ct.IsCancellationRequested)
        {
            var server = _options.Servers[index];
            var started = _time.GetTimestamp();
            try
            {
                await RunSessionAsync(server, handler, ct);
                LogSessionEnded(_logger, server, "the server closed the stream");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated)
            {
                LogRefused(_logger, server, e.Status.Detail);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever ended the session (the link, the server, the local state), the loop goes on.
                LogSessionEnded(_logger, server, e.Message);
            }
            finally
            {
                Volatile.Write(ref _connected, 0);
            }

            if (_time.GetElapsedTime(started) >= _options.StableSession)
            {
                attempt = 0;
            }

            index = (index + 1) % _options.Servers.Count;
            var delay = Backoff(attempt++);
            try
            {
                await Task.Delay(delay, _time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Full jitter: a uniform delay between zero and the exponential bound for this attempt.</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var bound = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        bound = Math.Min(bound, _options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * bound);
    }

    private WithoutUserAgent CreateHandler()
    {
        // TLS is done here rather than by the handler, so that the target name (and with it OpenSSL's session cache
        // key) stays the same for a server across reconnects, also when it is dialled by address: a reconnect then
        // resumes the TLS session instead of exchanging both certificates again (ChannelTls). The handler uses an
        // SslStream it is given as it is.
        var clientCertificate = SslStreamCertificateContext.Create(_identity.ClientCertificate, additionalCertificates: null, offline: true);
        var tlsOptions = new ConcurrentDictionary<(string Host, int Port), SslClientAuthenticationOptions>();
        var sockets = new SocketsHttpHandler
        {
            KeepAlivePingDelay = _options.KeepAlivePingDelay,
            KeepAlivePingTimeout = _options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
            // A connection whose call ended is kept for the next attempt, but not for good: after a failover to
            // another server it would stay open (keep-alive pings every few seconds, a socket at both ends) for as
            // long as the agent runs. Twice the longest wait between attempts keeps it for a reconnect to the same
            // server; a later reconnect costs a resumed TLS handshake.
            PooledConnectionIdleTimeout = _options.MaxBackoff * 2,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (context, ct) =>
            {
                var endpoint = (context.DnsEndPoint.Host, context.DnsEndPoint.Port);
                var options = tlsOptions.GetOrAdd(endpoint, e => ChannelTls.ClientOptions(e.Host, e.Port, clientCertificate, _identity.ClusterCa));
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                SslStream? tls = null;
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    long sent = 0, received = 0;
                    var counted = new CountingStream(
                        new NetworkStream(socket, ownsSocket: true),
                        n =>
                        {
                            Interlocked.Add(ref sent, n);
                            Interlocked.Add(ref _bytesSent, n);
                        },
                        n =>
                        {
                            Interlocked.Add(ref received, n);
                            Interlocked.Add(ref _bytesReceived, n);
                        });
                    tls = new SslStream(counted, leaveInnerStreamOpen: false);
                    await tls.AuthenticateAsClientAsync(options, ct);
                    LastHandshake = new TlsHandshake(Interlocked.Read(ref sent), Interlocked.Read(ref received));
                    return tls;
                }
                catch
                {
                    if (tls is not null)
                    {
                        await tls.DisposeAsync();
                    }

                    socket.Dispose();
                    throw;
                }
            },
        };
        return new WithoutUserAgent { InnerHandler = sockets };
    }

    private async Task RunSessionAsync(Uri server, HttpMessageHandler handler, CancellationToken ct)
    {
        Server = server;
        Interlocked.Increment(ref _sessions);
        using var channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = false,
            LoggerFactory = _loggers,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        var client = new Protocol.NodeChannel.NodeChannelClient(channel);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var headers = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
        using var call = client.Connect(headers, cancellationToken: session.Token);
        var outbound = System.Threading.Channels.Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(256) { SingleReader = true });
        var logChunks = System.Threading.Channels.Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(LogChunksQueued) { SingleReader = true });
        Volatile.Write(ref _queues, new SessionQueues(outbound.Reader, logChunks.Reader));
        var held = _state.HeldKeys().Select(ToProtocol).ToList();
        var node = _nodeReport();
        var report = JsonSerializer.SerializeToUtf8Bytes(node, NodeJsonContext.Default.Node);
        var hello = new Hello
        {
            NodeName = _identity.NodeName,
            LastRevision = _state.LastRevision,
            AgentVersion = AgentVersion,
            NodeReportSha256 = ByteString.CopyFrom(NodeReportDigest.Compute(node)),
        };
        if (_acceptsHeldDigest.ContainsKey(server))
        {
            // This server said it understands the digest: the list goes only if it asks for it (HeldRequest).
            hello.HeldSha256 = ByteString.CopyFrom(HeldKeyDigest.Compute(held.Select(k => ((int)k.Kind, k.Namespace, k.Name))));
        }
        else
        {
            hello.Held.AddRange(held);
        }

        HeldDigestSent = !hello.HeldSha256.IsEmpty;
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = hello }, session.Token);
        var tasks = new List<Task> { WriteAsync(call.RequestStream, outbound.Reader, logChunks.Reader, session.Token) };
        var logStreams = new ConcurrentDictionary<string, LogStreamControl>(StringComparer.Ordinal);
        var execStreams = new ConcurrentDictionary<string, ExecControl>(StringComparer.Ordinal);
        var imports = new Dictionary<string, ChunkStream>(StringComparer.Ordinal);
        var snapshot = new List<DesiredChange>();
        var synced = false;
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(session.Token))
            {
                switch (message.BodyCase)
                {
                    case ServerMessage.BodyOneofCase.Welcome:
                        Volatile.Write(ref _connected, 1);
                        LogConnected(_logger, server, _state.LastRevision, message.Welcome.Revision);
                        var interval = TimeSpan.FromMilliseconds(Math.Max(100, message.Welcome.HeartbeatIntervalMs));
                        if (message.Welcome.AcceptsHeldDigest)
                        {
                            _acceptsHeldDigest[server] = true;
                        }

                        NodeReportSkipped = message.Welcome.NodeReportCurrent;
                        Volatile.Write(ref _awaitingAck, message.Welcome.AcksReports ? new ConcurrentDictionary<long, Action>() : null);
                        Track(tasks, HeartbeatAsync(outbound.Writer, interval, session.Token));
                        Track(tasks, ReportAsync(outbound.Writer, message.Welcome.NodeReportCurrent ? report : null, session.Token));
                        Track(tasks, FlushAsync(outbound.Writer, session.Token));
                        StartUplink(outbound.Writer);
                        break;
                    case ServerMessage.BodyOneofCase.HeldRequest:
                        var list = new HeldKeys();
                        list.Held.AddRange(held);
                        HeldListsSent++;
                        await outbound.Writer.WriteAsync(new Outgoing(new AgentMessage { HeldKeys = list }), session.Token);
                        break;
                    case ServerMessage.BodyOneofCase.UplinkAck:
                        OnUplinkAck(message.UplinkAck);
                        break;
                    case ServerMessage.BodyOneofCase.ReportAck:
                        Volatile.Read(ref _awaitingAck)?.TryRemove(message.ReportAck.BatchId, out _);
                        break;
                    case ServerMessage.BodyOneofCase.DeviceCommand:
                        OnDeviceCommand(message.DeviceCommand);
                        break;
                    case ServerMessage.BodyOneofCase.Sync:
                        var batch = message.Sync;
                        snapshot.AddRange(batch.Changes.Where(Understood).Select(FromProtocol));
                        if (batch.Snapshot && !batch.Complete)
                        {
                            // A snapshot replaces the whole state: it is applied once, whole, when its last batch arrives.
                            break;
                        }

                        if (snapshot.Count > 0 || batch.Snapshot || batch.Revision != _state.LastRevision)
                        {
                            await _state.ApplyAsync(new DesiredBatch(batch.Revision, batch.Snapshot, [.. snapshot]), session.Token);
                        }

                        snapshot.Clear();
                        await outbound.Writer.WriteAsync(new Outgoing(new AgentMessage { Ack = new SyncAck { Revision = batch.Revision } }), session.Token);
                        if (batch.Complete && !synced)
                        {
                            synced = true;
                            _firstSync.TrySetResult();
                            Synced?.Invoke();
                        }

                        break;
                    case ServerMessage.BodyOneofCase.LogRequest:
                        var request = message.LogRequest;
                        var control = new LogStreamControl(CancellationTokenSource.CreateLinkedTokenSource(session.Token), request.Window);
                        logStreams[request.StreamId] = control;
                        Track(tasks, StreamLogAsync(request, logChunks.Writer, control, logStreams));
                        break;
                    case ServerMessage.BodyOneofCase.LogWindow:
                        if (logStreams.TryGetValue(message.LogWindow.StreamId, out var granted))
                        {
                            granted.Grant(message.LogWindow.Chunks);
                        }

                        break;
                    case ServerMessage.BodyOneofCase.LogCancel:
                        if (logStreams.TryRemove(message.LogCancel.StreamId, out var cancelled))
                        {
                            try
                            {
                                await cancelled.Cancel.CancelAsync();
                            }
                            catch (ObjectDisposedException)
                            {
                                // The stream ended between the lookup and here and disposed its source: nothing to cancel.
                            }
                        }

                        break;
                    case ServerMessage.BodyOneofCase.ExecStart:
                        StartExec(message.ExecStart, outbound.Writer, logChunks.Writer, execStreams, tasks, session.Token);
                        break;
                    case ServerMessage.BodyOneofCase.ExecInput or ServerMessage.BodyOneofCase.ExecOutputWindow or ServerMessage.BodyOneofCase.ExecCancel:
                        await HandleExecMessageAsync(message, execStreams);
                        break;
                    case ServerMessage.BodyOneofCase.ImageImport:
                        await ReceiveImageChunkAsync(message.ImageImport, imports, outbound.Writer, tasks, session.Token);
                        break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _connected, 0);
            StopUplink("the node channel session ended before the server acknowledged the batch");
            await session.CancelAsync();
            outbound.Writer.TryComplete();
            logChunks.Writer.TryComplete();
            foreach (var task in tasks)
            {
                try
                {
                    await task;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                }
            }

            // Whatever did not reach the wire waits for the next session, and so does what reached it without an
            // ack: a connection that died silently swallowed it.
            while (outbound.Reader.TryRead(out var unsent))
            {
                unsent.OnFailed?.Invoke();
            }

            if (Interlocked.Exchange(ref _awaitingAck, null) is { } awaiting)
            {
                foreach (var (_, putBack) in awaiting.OrderBy(pair => pair.Key))
                {
                    putBack();
                }
            }
        }
    }

    /// <summary>
    /// Adds a task to the session's, forgetting those that have ended: a session can last for weeks and serve a log
    /// stream or an image import for every request, and the list must not grow with them. A task that ended has
    /// nothing left for the session's end to wait for.
    /// </summary>
    private void Track(List<Task> tasks, Task task)
    {
        tasks.RemoveAll(static t => t.IsCompleted);
        tasks.Add(task);
        Volatile.Write(ref _sessionTasks, tasks.Count);
    }

    /// <summary>Takes up to <paramref name="max"/> pending reports out of <paramref name="pending"/> for one batch.</summary>
    private static List<(TKey Key, Pending<T> Pending)> Take<TKey, T>(ConcurrentDictionary<TKey, Pending<T>> pending, int max)
        where TKey : notnull
    {
        var taken = new List<(TKey, Pending<T>)>();
        foreach (var key in pending.Keys.Take(max))
        {
            if (pending.TryRemove(key, out var entry))
            {
                taken.Add((key, entry));
            }
        }

        return taken;
    }

    /// <summary>
    /// What to do when a batch was not sent or not acknowledged: put its reports back, and where a report of the same
    /// key is waiting already, keep what <paramref name="keep"/> makes of the two (put back, waiting). Newer is by
    /// <see cref="Pending{T}.Sequence"/>, not by which put-back runs first: several unacknowledged batches of one
    /// session come back in any order, and the oldest report must not win.
    /// </summary>
    private static Action PutBack<TKey, T>(ConcurrentDictionary<TKey, Pending<T>> pending, List<(TKey Key, Pending<T> Pending)> taken, Func<Pending<T>, Pending<T>, Pending<T>> keep)
        where TKey : notnull => () =>
        {
            foreach (var (key, back) in taken)
            {
                pending.AddOrUpdate(key, back, (_, waiting) => keep(back, waiting));
            }
        };

    /// <summary>
    /// Gives a report batch its id when this session's server acknowledges reports, and keeps its put-back action
    /// until the ack arrives. The action runs at most once, whether the write fails or the session ends unacknowledged.
    /// </summary>
    private Action AwaitAck(Action putBack, Action<long> setBatchId)
    {
        var done = 0;
        Action once = () =>
        {
            if (Interlocked.Exchange(ref done, 1) == 0)
            {
                putBack();
            }
        };
        if (Volatile.Read(ref _awaitingAck) is { } awaiting)
        {
            var id = Interlocked.Increment(ref _reportBatchIds);
            setBatchId(id);
            awaiting[id] = once;
        }

        return once;
    }

    /// <summary>
    /// Messages smaller than this go uncompressed: gzip's header and trailer (18 bytes) make a heartbeat or an ack
    /// several times larger, and such messages are most of an idle node's traffic.
    /// </summary>
    internal const int CompressFromBytes = 128;

    private static readonly WriteOptions Uncompressed = new(WriteFlags.NoCompress);

    /// <summary>
    /// Writes the session's messages in order, except that log chunks wait while anything else is queued: a log
    /// stream that fills the link must not hold up the heartbeats, acknowledgements and statuses behind it (on a slow
    /// link a queue of log chunks in front of them takes minutes to drain, and the node's lease runs out).
    /// </summary>
    private static async Task WriteAsync(IClientStreamWriter<AgentMessage> stream, ChannelReader<Outgoing> outbound, ChannelReader<Outgoing> logChunks, CancellationToken ct)
    {
        Task<bool>? moreOutbound = null, moreLogs = null;
        while (true)
        {
            if (!outbound.TryRead(out var item) && !logChunks.TryRead(out item))
            {
                // One wait per queue at a time, kept across turns: a new wait each turn would pile up on the idle one.
                moreOutbound ??= outbound.WaitToReadAsync(ct).AsTask();
                moreLogs ??= logChunks.WaitToReadAsync(ct).AsTask();
                await Task.WhenAny(moreOutbound, moreLogs);
                if (moreOutbound.IsCompleted)
                {
                    if (!await moreOutbound)
                    {
                        return;
                    }

                    moreOutbound = null;
                }

                if (moreLogs.IsCompleted)
                {
                    moreLogs = await moreLogs ? null : new TaskCompletionSource<bool>().Task;
                }

                continue;
            }

            try
            {
                stream.WriteOptions = item.Message.CalculateSize() < CompressFromBytes ? Uncompressed : null;
                await stream.WriteAsync(item.Message, ct);
            }
            catch
            {
                item.OnFailed?.Invoke();
                throw;
            }
        }
    }

    private async Task HeartbeatAsync(ChannelWriter<Outgoing> outbound, TimeSpan interval, CancellationToken ct)
    {
        long sequence = 0;
        await outbound.WriteAsync(new Outgoing(new AgentMessage { Heartbeat = new Heartbeat { Sequence = sequence++ } }), ct);
        using var timer = new PeriodicTimer(interval, _time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            await outbound.WriteAsync(new Outgoing(new AgentMessage { Heartbeat = new Heartbeat { Sequence = sequence++ } }), ct);
        }
    }

    /// <summary>
    /// Sends the node report now (unless <paramref name="held"/>, the report the server said it holds, is still
    /// current) and again whenever its JSON changes.
    /// </summary>
    private async Task ReportAsync(ChannelWriter<Outgoing> outbound, byte[]? held, CancellationToken ct)
    {
        var last = held;
        using var timer = new PeriodicTimer(_options.ReportCheckInterval, _time);
        do
        {
            var report = JsonSerializer.SerializeToUtf8Bytes(_nodeReport(), NodeJsonContext.Default.Node);
            if (last is null || !report.AsSpan().SequenceEqual(last))
            {
                await outbound.WriteAsync(new Outgoing(new AgentMessage { Node = new NodeReport { NodeJson = ByteString.CopyFrom(report) } }), ct);
                last = report;
            }
        }
        while (await timer.WaitForNextTickAsync(ct));
    }

    /// <summary>
    /// Sends the coalesced pod statuses, the pending events and the device reports: at most once per flush interval,
    /// and at once when a pod status arrives after a quiet interval (leading edge), so a pod's Running is not held
    /// back by the timer while a burst of statuses is still batched.
    /// </summary>
    private async Task FlushAsync(ChannelWriter<Outgoing> outbound, CancellationToken ct)
    {
        Task? signal = null;
        while (true)
        {
            while (!_statuses.IsEmpty)
            {
                var taken = Take(_statuses, MaxStatusesPerBatch);
                var batch = new PodStatusBatch { Updates = { taken.Select(t => t.Pending.Value) } };
                var putBack = AwaitAck(PutBack(_statuses, taken, static (back, waiting) => waiting.Sequence > back.Sequence ? waiting : back), id => batch.BatchId = id);
                await outbound.WriteAsync(new Outgoing(new AgentMessage { PodStatuses = batch }, putBack), ct);
            }

            while (!_events.IsEmpty)
            {
                var batch = new EventBatch();
                var taken = new List<Event>();
                while (taken.Count < MaxEventsPerBatch && _events.TryDequeue(out var recorded))
                {
                    Interlocked.Decrement(ref _pendingEvents);
                    taken.Add(recorded);
                    batch.EventsJson.Add(ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(recorded, NodeJsonContext.Default.Event)));
                }

                await outbound.WriteAsync(new Outgoing(new AgentMessage { Events = batch }, () => taken.ForEach(PublishEvent)), ct);
            }

            await FlushDeviceReportsAsync(outbound, ct);

            // Spacing, then the first of a new pod status or another interval.
            await Task.Delay(_options.StatusFlushInterval, _time, ct);
            signal ??= _flushNow.Reader.WaitToReadAsync(ct).AsTask();
            if (!signal.IsCompleted)
            {
                await Task.WhenAny(signal, Task.Delay(_options.StatusFlushInterval, _time, ct));
            }

            if (signal.IsCompleted)
            {
                signal = null;
                _flushNow.Reader.TryRead(out _);
            }

            ct.ThrowIfCancellationRequested();
        }
    }

    private async Task StreamLogAsync(LogRequest request, ChannelWriter<Outgoing> outbound, LogStreamControl control, ConcurrentDictionary<string, LogStreamControl> streams)
    {
        var ct = control.Cancel.Token;
        var query = new LogQuery(
            request.Namespace,
            request.Pod,
            request.Container.Length > 0 ? request.Container : null,
            request.Follow,
            request.TailLines >= 0 ? request.TailLines : null,
            request.Previous,
            request.LimitBytes > 0 ? request.LimitBytes : null,
            request.SinceSeconds > 0 ? _time.GetUtcNow().AddSeconds(-request.SinceSeconds) : null,
            request.Timestamps);
        try
        {
            string? error = null;
            try
            {
                await foreach (var chunk in _logs.ReadAsync(query, ct))
                {
                    for (var offset = 0; offset < chunk.Length; offset += MaxLogChunk)
                    {
                        var part = chunk.Slice(offset, Math.Min(MaxLogChunk, chunk.Length - offset));
                        if (!control.TryTakeRoom())
                        {
                            Interlocked.Increment(ref _logStreamsAwaitingWindow);
                            try
                            {
                                await control.TakeRoomAsync(ct);
                            }
                            finally
                            {
                                Interlocked.Decrement(ref _logStreamsAwaitingWindow);
                            }
                        }

                        await outbound.WriteAsync(new Outgoing(new AgentMessage { Log = new LogData { StreamId = request.StreamId, Data = ByteString.CopyFrom(part.Span) } }), ct);
                    }
                }
            }
            catch (LogNotFoundException e)
            {
                error = e.Message;
            }
            catch (Exception e) when (e is not OperationCanceledException and not ChannelClosedException and not OutOfMemoryException)
            {
                error = "reading the log failed: " + e.Message;
            }

            await outbound.WriteAsync(new Outgoing(new AgentMessage { Log = new LogData { StreamId = request.StreamId, End = true, Error = error ?? "" } }), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        finally
        {
            streams.TryRemove(request.StreamId, out _);
            control.Dispose();
        }
    }

    /// <summary>
    /// A log stream's cancellation and, when the server gave one (LogRequest.window), its window: the chunks it may
    /// still send before the server grants more (LogWindow) as the reader takes them. A reader that stops reading so
    /// pauses the stream here instead of filling the link with chunks the server has no room for.
    /// </summary>
    private sealed class LogStreamControl(CancellationTokenSource cancel, int window) : IDisposable
    {
        private readonly SendWindow _room = new(window);

        public CancellationTokenSource Cancel => cancel;

        public void Grant(int chunks) => _room.Grant(chunks);

        /// <summary>Takes room for one chunk if there is some (always, without a window).</summary>
        public bool TryTakeRoom() => _room.TryTake();

        public Task TakeRoomAsync(CancellationToken ct) => _room.TakeAsync(ct);

        public void Dispose()
        {
            cancel.Dispose();
            _room.Dispose();
        }
    }

    /// <summary>
    /// Hands an image chunk to its import, starting the import on a stream's first chunk. Waiting here while the
    /// import is behind holds the channel's reads back, so the server's sending slows to the pace of the disk.
    /// </summary>
    private async Task ReceiveImageChunkAsync(
        ImageImportChunk chunk, Dictionary<string, ChunkStream> imports, ChannelWriter<Outgoing> outbound, List<Task> tasks, CancellationToken ct)
    {
        if (!imports.TryGetValue(chunk.StreamId, out var archive))
        {
            archive = new ChunkStream(ImageChunksBuffered);
            imports[chunk.StreamId] = archive;
            Track(tasks, ImportImageAsync(chunk.StreamId, archive, outbound, ct));
        }

        if (!chunk.Data.IsEmpty)
        {
            await archive.PushAsync(chunk.Data.Memory, ct);
        }

        if (chunk.End)
        {
            archive.Complete();
            imports.Remove(chunk.StreamId);
        }
    }

    private async Task ImportImageAsync(string streamId, ChunkStream archive, ChannelWriter<Outgoing> outbound, CancellationToken ct)
    {
        var result = new ImageImportResult { StreamId = streamId };
        await using (archive)
        {
            try
            {
                if (Images is null)
                {
                    result.Error = "this agent has no image store";
                }
                else
                {
                    var imported = await Images.ImportArchiveAsync(archive, ct);
                    result.References.AddRange(imported.Select(i => i.Reference));
                }
            }
            catch (ImagePullException e)
            {
                result.Error = e.Message;
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                result.Error = "importing the archive failed: " + e.Message;
            }
        }

        LogImageImport(_logger, result.References.Count, result.Error);
        await outbound.WriteAsync(new Outgoing(new AgentMessage { ImageImportResult = result }), ct);
    }

    private static ObjectKey ToProtocol(DesiredKey key) => new() { Kind = ToProtocol(key.Kind), Namespace = key.Namespace, Name = key.Name };

    private static ObjectKind ToProtocol(DesiredKind kind) => kind switch
    {
        DesiredKind.Pod => ObjectKind.Pod,
        DesiredKind.ConfigMap => ObjectKind.ConfigMap,
        DesiredKind.Secret => ObjectKind.Secret,
        DesiredKind.DataRule => ObjectKind.DataRule,
        DesiredKind.Device => ObjectKind.Device,
        _ => ObjectKind.Unspecified,
    };

    /// <summary>The agent's kind for a protocol kind, or null for a kind this agent does not know.</summary>
    private static DesiredKind? FromProtocol(ObjectKind kind) => kind switch
    {
        ObjectKind.Pod => DesiredKind.Pod,
        ObjectKind.ConfigMap => DesiredKind.ConfigMap,
        ObjectKind.Secret => DesiredKind.Secret,
        ObjectKind.DataRule => DesiredKind.DataRule,
        ObjectKind.Device => DesiredKind.Device,
        _ => null,
    };

    /// <summary>
    /// Whether this agent knows the change's kind and type. A newer server may send kinds this agent does not know
    /// (DataRules and Devices came after pods): they are left out with a warning, and the rest of the batch applies.
    /// Ending the session instead would bring the same batch again on every reconnect, and the node would never sync.
    /// Nothing is lost by leaving them out: the agent does not hold them, so a later agent version gets them at its
    /// first connect as keys it lacks.
    /// </summary>
    private bool Understood(ObjectChange change)
    {
        if (FromProtocol(change.Kind) is not null && change.Type is ChangeType.Upsert or ChangeType.Delete)
        {
            return true;
        }

        LogChangeNotUnderstood(_logger, (int)change.Kind, (int)change.Type, change.Namespace, change.Name);
        return false;
    }

    private static DesiredChange FromProtocol(ObjectChange change)
    {
        var deleted = change.Type == ChangeType.Delete;
        return new DesiredChange(
            new DesiredKey(FromProtocol(change.Kind)!.Value, change.Namespace, change.Name),
            deleted,
            change.Revision,
            deleted ? null : change.ObjectJson.ToByteArray());
    }

    private static readonly string AgentVersion =
        typeof(NodeChannelClient).Assembly.GetName().Version?.ToString() ?? "unknown";

    private long NextReportSequence() => Interlocked.Increment(ref _reportSequence);

    /// <summary>A report waiting to be sent, numbered in the order it was published (higher is newer).</summary>
    private sealed record Pending<T>(long Sequence, T Value);

    /// <summary>A message for the wire, with what to do when it never got there.</summary>
    private sealed record Outgoing(AgentMessage Message, Action? OnFailed = null);

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Node channel connected to {Server}: local revision {Local}, server revision {Remote}")]
    private static partial void LogConnected(ILogger logger, Uri server, long local, long remote);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Node channel session with {Server} ended: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, Uri server, string reason);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "Image archive from the control plane: {Count} images imported{Error}")]
    private static partial void LogImageImportCore(ILogger logger, int count, string error);

    private static void LogImageImport(ILogger logger, int count, string error) =>
        LogImageImportCore(logger, count, error.Length > 0 ? "; refused: " + error : "");

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Node channel: left out a change this agent does not understand (kind {Kind}, type {Type}) of {Namespace}/{Name}")]
    private static partial void LogChangeNotUnderstood(ILogger logger, int kind, int type, string @namespace, string name);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Node channel refused by {Server}: {Reason}")]
    private static partial void LogRefused(ILogger logger, Uri server, string reason);

    /// <summary>
    /// Drops the User-Agent header gRPC adds to the one call a session makes: it names the client library and runtime
    /// (about 70 bytes of every reconnect) and the server does not use it.
    /// </summary>
    private sealed class WithoutUserAgent : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.UserAgent.Clear();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
