using System.Buffers;
using System.Collections.Concurrent;
using Google.Protobuf;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// Relays an uploaded image archive to one node: the archive is read from the request in chunks and each chunk is
/// queued on the node's session only when the session has room for bulk data (<see cref="NodeSession.SendBulkAsync"/>),
/// so the server holds a few chunks per upload, never a whole image. The agent's ImageImportResult for the stream
/// completes the upload; a session that ends fails it.
/// </summary>
internal sealed class ImageImportRelay(DesiredStateHub hub, NodeChannelOptions options)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ImageImportResult>> _pending = new(StringComparer.Ordinal);

    /// <summary>Imports currently waiting for their agent (for tests).</summary>
    public int Pending => _pending.Count;

    /// <summary>
    /// Streams <paramref name="archive"/> to <paramref name="node"/> and returns the agent's answer, or null when the
    /// node has no session here. Throws <see cref="IOException"/> when the session ends before the agent answered.
    /// </summary>
    public async Task<ImageImportResult?> ImportAsync(string node, Stream archive, CancellationToken ct)
    {
        if (hub.SessionOf(node) is not { } session)
        {
            return null;
        }

        var streamId = Guid.NewGuid().ToString("N");
        var answer = new TaskCompletionSource<ImageImportResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[streamId] = answer;
        await using var lost = session.Closed.Register(() =>
            answer.TrySetException(new IOException($"node \"{node}\" disconnected from the control plane during the image import")));
        var buffer = ArrayPool<byte>.Shared.Rent(options.ImageChunkBytes);
        var ended = false;
        try
        {
            while (!answer.Task.IsCompleted)
            {
                var filled = await FillAsync(archive, buffer, options.ImageChunkBytes, ct);
                ended = filled < options.ImageChunkBytes;
                var chunk = new ImageImportChunk { StreamId = streamId, Data = ByteString.CopyFrom(buffer, 0, filled), End = ended };
                await SendAsync(session, chunk, answer.Task, ct);
                if (ended)
                {
                    break;
                }
            }

            return await answer.Task.WaitAsync(ct);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _pending.TryRemove(streamId, out _);
            if (!ended && !session.Closed.IsCancellationRequested)
            {
                // The uploader went away or the agent answered early: close the agent's stream (a short archive fails).
                session.Send(new ServerMessage { ImageImport = new ImageImportChunk { StreamId = streamId, End = true } });
            }
        }
    }

    /// <summary>Hands the agent's answer to its upload; answers for uploads that gave up are dropped.</summary>
    public void Deliver(ImageImportResult result)
    {
        if (_pending.TryGetValue(result.StreamId, out var answer))
        {
            answer.TrySetResult(result);
        }
    }

    private static async Task SendAsync(NodeSession session, ImageImportChunk chunk, Task answered, CancellationToken ct)
    {
        try
        {
            await session.SendBulkAsync(new ServerMessage { ImageImport = chunk }, ct);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && answered.IsCompleted)
        {
            // The session ended; the answer already says how.
        }
    }

    /// <summary>Reads until <paramref name="count"/> bytes or the end of the stream; returns how many were read.</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, int count, CancellationToken ct)
    {
        var filled = 0;
        while (filled < count)
        {
            var read = await source.ReadAsync(buffer.AsMemory(filled, count - filled), ct);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }
}
