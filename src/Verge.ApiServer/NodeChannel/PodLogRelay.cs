using System.Collections.Concurrent;
using System.Threading.Channels;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// Relays <c>kubectl logs</c> over node sessions: a request becomes a LogRequest with a fresh stream id on the
/// pod's node session, and the agent's LogData chunks for that id come back through <see cref="LogStream"/>.
/// Closing the stream before its end sends LogCancel; a session that ends fails its streams.
/// </summary>
/// <remarks>
/// Each stream has a window of <see cref="Window"/> chunks: the agent sends no more than that ahead of what the
/// reader has taken, and the server grants more (LogWindow) as the reader takes them. A reader that stops reading so
/// pauses its stream at the agent, and never holds up the session's receive loop, which also carries the node's
/// heartbeats, statuses and acknowledgements.
/// </remarks>
internal sealed class PodLogRelay(DesiredStateHub hub)
{
    /// <summary>Chunks (of at most 32 KiB) an agent may send ahead of the reader.</summary>
    internal const int Window = 16;

    /// <summary>Room for the window and the stream's last chunk, which needs no window.</summary>
    private const int ChunkBuffer = Window + 1;

    /// <summary>
    /// How long a chunk beyond the window (from an agent that predates windows) may wait for room in its stream's
    /// buffer. The wait holds up the session's receive loop, and so everything else the node sends: a reader that has
    /// not taken a chunk for this long has stopped reading, and its stream is ended instead.
    /// </summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (Channel<LogData> Chunks, NodeSession Session)> _streams = new(StringComparer.Ordinal);

    /// <summary>Opens a stream on <paramref name="node"/>'s session, or returns null when the node is not connected.</summary>
    public LogStream? Open(string node, LogRequest request)
    {
        var session = hub.SessionOf(node);
        if (session is null)
        {
            return null;
        }

        request.StreamId = Guid.NewGuid().ToString("N");
        request.Window = Window;
        var chunks = Channel.CreateBounded<LogData>(new BoundedChannelOptions(ChunkBuffer) { SingleReader = true, SingleWriter = true });
        _streams[request.StreamId] = (chunks, session);
        var registration = session.Closed.Register(() =>
            chunks.Writer.TryComplete(new IOException($"node \"{node}\" disconnected from the control plane")));
        session.Send(new ServerMessage { LogRequest = request });
        return new LogStream(this, session, request.StreamId, chunks, registration);
    }

    /// <summary>
    /// Hands a chunk from the agent to its stream. An agent that keeps to its window always finds room; one that
    /// sends beyond it waits while the HTTP client is slow, but not once it has stopped reading
    /// (<see cref="StallLimit"/>): that stream then ends with an error and the agent is told to stop it.
    /// </summary>
    public async ValueTask DeliverAsync(LogData data, CancellationToken ct)
    {
        if (!_streams.TryGetValue(data.StreamId, out var stream))
        {
            return;
        }

        var chunks = stream.Chunks;
        try
        {
            if (!chunks.Writer.TryWrite(data))
            {
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
                stall.CancelAfter(StallLimit);
                try
                {
                    await chunks.Writer.WriteAsync(data, stall.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    Remove(data.StreamId);
                    chunks.Writer.TryComplete(new IOException("the client stopped reading the log"));
                    stream.Session.Send(new ServerMessage { LogCancel = new LogCancel { StreamId = data.StreamId } });
                    return;
                }
            }

            if (data.End)
            {
                chunks.Writer.TryComplete();
            }
        }
        catch (ChannelClosedException)
        {
        }
    }

    internal void Remove(string streamId) => _streams.TryRemove(streamId, out _);

    public int OpenStreams => _streams.Count;
}

/// <summary>One relayed log stream.</summary>
internal sealed class LogStream(PodLogRelay relay, NodeSession session, string streamId, Channel<LogData> chunks, CancellationTokenRegistration registration) : IAsyncDisposable
{
    private int _taken;

    public ChannelReader<LogData> Chunks => chunks.Reader;

    /// <summary>Set once the agent sent end = true.</summary>
    public bool Ended { get; set; }

    /// <summary>
    /// The reader has taken a chunk (written it to the HTTP response): every half window, the agent may send that
    /// many more. Granting by halves keeps the agent sending while the grant travels, with one message per 8 chunks.
    /// </summary>
    public void Taken()
    {
        if (++_taken == PodLogRelay.Window / 2)
        {
            _taken = 0;
            session.Send(new ServerMessage { LogWindow = new LogWindow { StreamId = streamId, Chunks = PodLogRelay.Window / 2 } });
        }
    }

    public async ValueTask DisposeAsync()
    {
        relay.Remove(streamId);
        await registration.DisposeAsync();

        // A delivery waiting for room gives up, so the session's receive loop never waits on a reader that left.
        chunks.Writer.TryComplete();
        if (!Ended)
        {
            session.Send(new ServerMessage { LogCancel = new LogCancel { StreamId = streamId } });
        }
    }
}
