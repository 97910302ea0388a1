using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Verge.Core.Edge;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// Relays <c>kubectl exec</c> over node sessions: a request becomes an ExecStart with a fresh stream id on the pod's
/// node session; the client's stdin and terminal sizes go to the agent as ExecInput, and the agent's ExecOutput
/// chunks for that id come back through <see cref="ExecStream"/>. Closing the stream before its end sends ExecCancel;
/// a session that ends fails its streams.
/// </summary>
/// <remarks>
/// Both directions have a window, so that neither a client that stops reading nor a command that stops reading its
/// stdin ever holds up the node's session (its heartbeats, statuses and the other streams share it): the agent sends
/// no more than <see cref="Window"/> output chunks ahead of what the client has taken, and the server no more than
/// <see cref="Window"/> stdin chunks ahead of what the command has read.
/// </remarks>
internal sealed class PodExecRelay(DesiredStateHub hub)
{
    /// <summary>Chunks (of at most 32 KiB) either side may send ahead of the other's reader.</summary>
    internal const int Window = 16;

    /// <summary>The largest stdin chunk sent to an agent; a bigger client message is split.</summary>
    internal const int MaxInputChunk = 32 * 1024;

    /// <summary>Room for the window and the stream's last message, which needs no window.</summary>
    internal const int OutputBuffer = Window + 1;

    private readonly ConcurrentDictionary<string, ExecStream> _streams = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="node"/> has a session here.</summary>
    public bool Connected(string node) => hub.SessionOf(node) is not null;

    /// <summary>Starts a command on <paramref name="node"/>'s session, or returns null when the node is not connected.</summary>
    public ExecStream? Open(string node, ExecStart start)
    {
        var session = hub.SessionOf(node);
        if (session is null)
        {
            return null;
        }

        start.StreamId = Guid.NewGuid().ToString("N");
        start.OutputWindow = Window;
        start.StdinWindow = Window;
        var stream = new ExecStream(this, session, start.StreamId, node);
        _streams[start.StreamId] = stream;
        session.Send(new ServerMessage { ExecStart = start });
        return stream;
    }

    /// <summary>
    /// Hands an output chunk from the agent to its stream. An agent that keeps to its window always finds room; one
    /// that does not has its stream ended, so the session's receive loop never waits on a client.
    /// </summary>
    public void Deliver(ExecOutput output)
    {
        if (_streams.TryGetValue(output.StreamId, out var stream))
        {
            stream.Deliver(output);
        }
    }

    /// <summary>The agent has handed stdin chunks to the command: the server may send that many more.</summary>
    public void GrantStdin(ExecWindow window)
    {
        if (_streams.TryGetValue(window.StreamId, out var stream))
        {
            stream.GrantStdin(window.Chunks);
        }
    }

    internal void Remove(string streamId) => _streams.TryRemove(streamId, out _);

    public int OpenStreams => _streams.Count;
}

/// <summary>One relayed exec stream.</summary>
internal sealed class ExecStream : IAsyncDisposable
{
    private readonly PodExecRelay _relay;
    private readonly NodeSession _session;
    private readonly string _streamId;
    private readonly Channel<ExecOutput> _output = Channel.CreateBounded<ExecOutput>(new BoundedChannelOptions(PodExecRelay.OutputBuffer) { SingleReader = true, SingleWriter = true });
    private readonly SendWindow _stdinRoom = new(PodExecRelay.Window);
    private readonly CancellationTokenRegistration _registration;
    private int _taken;

    public ExecStream(PodExecRelay relay, NodeSession session, string streamId, string node)
    {
        _relay = relay;
        _session = session;
        _streamId = streamId;
        _registration = session.Closed.Register(() =>
            _output.Writer.TryComplete(new IOException($"node \"{node}\" disconnected from the control plane")));
    }

    /// <summary>The command's output, ending with the message that has end = true.</summary>
    public ChannelReader<ExecOutput> Output => _output.Reader;

    /// <summary>Set once the agent sent end = true.</summary>
    public bool Ended { get; set; }

    internal void Deliver(ExecOutput output)
    {
        if (!_output.Writer.TryWrite(output))
        {
            // Beyond the window: the agent does not keep to it, and waiting would hold up the node's session.
            _relay.Remove(_streamId);
            _output.Writer.TryComplete(new IOException("the node sent more exec output than the stream's window"));
            _session.Send(new ServerMessage { ExecCancel = new ExecCancel { StreamId = _streamId } });
            return;
        }

        if (output.End)
        {
            Ended = true;
            _output.Writer.TryComplete();
        }
    }

    internal void GrantStdin(int chunks) => _stdinRoom.Grant(chunks);

    /// <summary>The client has taken an output chunk: every half window, the agent may send that many more.</summary>
    public void Taken()
    {
        if (++_taken == PodExecRelay.Window / 2)
        {
            _taken = 0;
            _session.Send(new ServerMessage { ExecOutputWindow = new ExecWindow { StreamId = _streamId, Chunks = PodExecRelay.Window / 2 } });
        }
    }

    /// <summary>Sends stdin to the command, in chunks, each once the agent has room for it.</summary>
    public async Task WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        for (var offset = 0; offset < data.Length; offset += PodExecRelay.MaxInputChunk)
        {
            var part = data.Slice(offset, Math.Min(PodExecRelay.MaxInputChunk, data.Length - offset));
            await _stdinRoom.TakeAsync(ct);
            _session.Send(new ServerMessage { ExecInput = new ExecInput { StreamId = _streamId, Data = ByteString.CopyFrom(part.Span) } });
        }
    }

    /// <summary>Closes the command's stdin (the client's end of input).</summary>
    public void CloseStdin() =>
        _session.Send(new ServerMessage { ExecInput = new ExecInput { StreamId = _streamId, Close = true } });

    /// <summary>Resizes the command's terminal.</summary>
    public void Resize(uint width, uint height) =>
        _session.Send(new ServerMessage { ExecInput = new ExecInput { StreamId = _streamId, Width = width, Height = height } });

    public async ValueTask DisposeAsync()
    {
        _relay.Remove(_streamId);
        await _registration.DisposeAsync();
        _output.Writer.TryComplete();
        if (!Ended)
        {
            _session.Send(new ServerMessage { ExecCancel = new ExecCancel { StreamId = _streamId } });
        }

        _stdinRoom.Dispose();
    }
}
