using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// Bytes on the wire per node, both directions. A Kestrel connection middleware, placed outside TLS, counts every
/// connection's bytes; when a node channel session authenticates, its connection is attributed to the node (bytes
/// before that, the TLS handshake included, are added at that moment). Rendered in Prometheus' text format.
/// </summary>
internal sealed class ChannelMetrics
{
    private readonly ConcurrentDictionary<string, ConnectionBytes> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NodeBytes> _nodes = new(StringComparer.Ordinal);
    private int _sessions;

    public int Sessions => Volatile.Read(ref _sessions);

    public void SessionStarted() => Interlocked.Increment(ref _sessions);

    public void SessionEnded() => Interlocked.Decrement(ref _sessions);

    /// <summary>Attributes the connection's bytes, past and future, to <paramref name="node"/>.</summary>
    public void Attribute(string connectionId, string node)
    {
        if (_connections.TryGetValue(connectionId, out var connection))
        {
            connection.AttributeTo(_nodes.GetOrAdd(node, _ => new NodeBytes()));
        }
    }

    /// <summary>The bytes counted for a node so far: (sent by the server, received by the server).</summary>
    public (long Sent, long Received) BytesOf(string node) =>
        _nodes.TryGetValue(node, out var bytes) ? (Interlocked.Read(ref bytes.Sent), Interlocked.Read(ref bytes.Received)) : (0, 0);

    /// <summary>The connection middleware: wraps the transport in a counting stream.</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => async connection =>
    {
        var bytes = new ConnectionBytes();
        _connections[connection.ConnectionId] = bytes;
        var original = connection.Transport;
        var counting = new CountingStream(original.Input.AsStream(leaveOpen: true), original.Output.AsStream(leaveOpen: true), bytes);
        connection.Transport = new DuplexPipe(PipeReader.Create(counting, new StreamPipeReaderOptions(leaveOpen: true)), PipeWriter.Create(counting, new StreamPipeWriterOptions(leaveOpen: true)));
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = original;
            _connections.TryRemove(connection.ConnectionId, out _);
        }
    };

    public string Render()
    {
        var text = new StringBuilder();
        text.Append("# HELP verge_node_channel_bytes_total Bytes on the wire of node channel connections, by node and direction (as seen by the server).\n");
        text.Append("# TYPE verge_node_channel_bytes_total counter\n");
        foreach (var (node, bytes) in _nodes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var label = Escape(node);
            text.Append(CultureInfo.InvariantCulture, $"verge_node_channel_bytes_total{{node=\"{label}\",direction=\"sent\"}} {Interlocked.Read(ref bytes.Sent)}\n");
            text.Append(CultureInfo.InvariantCulture, $"verge_node_channel_bytes_total{{node=\"{label}\",direction=\"received\"}} {Interlocked.Read(ref bytes.Received)}\n");
        }

        text.Append("# HELP verge_node_channel_sessions Connected node channel sessions.\n");
        text.Append("# TYPE verge_node_channel_sessions gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"verge_node_channel_sessions {Sessions}\n");
        return text.ToString();
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class NodeBytes
    {
        public long Sent;
        public long Received;
    }

    private sealed class ConnectionBytes
    {
        private readonly Lock _lock = new();
        private long _sent;
        private long _received;
        private NodeBytes? _node;

        public void AttributeTo(NodeBytes node)
        {
            lock (_lock)
            {
                if (_node is not null)
                {
                    return;
                }

                _node = node;
                Interlocked.Add(ref node.Sent, _sent);
                Interlocked.Add(ref node.Received, _received);
            }
        }

        public void AddSent(int count)
        {
            lock (_lock)
            {
                _sent += count;
                if (_node is { } node)
                {
                    Interlocked.Add(ref node.Sent, count);
                }
            }
        }

        public void AddReceived(int count)
        {
            lock (_lock)
            {
                _received += count;
                if (_node is { } node)
                {
                    Interlocked.Add(ref node.Received, count);
                }
            }
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Reads from the connection's input, writes to its output, counting both.</summary>
    private sealed class CountingStream(Stream input, Stream output, ConnectionBytes bytes) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => output.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = input.Read(buffer, offset, count);
            bytes.AddReceived(read);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await input.ReadAsync(buffer, cancellationToken);
            bytes.AddReceived(read);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            output.Write(buffer, offset, count);
            bytes.AddSent(count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await output.WriteAsync(buffer, cancellationToken);
            bytes.AddSent(buffer.Length);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
