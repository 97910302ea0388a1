using System.Threading.Channels;

namespace Verge.Agent.Channel;

/// <summary>
/// A read-only stream over chunks that arrive on the node channel (an image archive being uploaded): the channel
/// receive loop writes chunks with <see cref="PushAsync"/>, waiting while <paramref name="capacity"/> chunks are
/// unread, and the reader sees them as one stream that ends at <see cref="Complete"/>. Once the reader has gone
/// (<see cref="Dispose(bool)"/>), further chunks are dropped instead of waiting for room.
/// </summary>
internal sealed class ChunkStream(int capacity) : Stream
{
    private readonly Channel<ReadOnlyMemory<byte>> _chunks = System.Threading.Channels.Channel.CreateBounded<ReadOnlyMemory<byte>>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });

    private ReadOnlyMemory<byte> _current;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Hands the reader a chunk; returns false when the reader has gone (the chunk is dropped).</summary>
    public async ValueTask<bool> PushAsync(ReadOnlyMemory<byte> chunk, CancellationToken ct)
    {
        try
        {
            await _chunks.Writer.WriteAsync(chunk, ct);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Ends the stream after the chunks written so far.</summary>
    public void Complete() => _chunks.Writer.TryComplete();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current.IsEmpty)
        {
            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken))
            {
                return 0;
            }

            _chunks.Reader.TryRead(out _current);
        }

        var count = Math.Min(buffer.Length, _current.Length);
        _current[..count].CopyTo(buffer);
        _current = _current[count..];
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("the chunk stream is read asynchronously");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // Drop what is unread and let a waiting writer go.
        _chunks.Writer.TryComplete();
        while (_chunks.Reader.TryRead(out _))
        {
        }

        base.Dispose(disposing);
    }
}
