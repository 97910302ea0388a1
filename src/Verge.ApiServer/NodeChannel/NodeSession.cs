using System.Threading.Channels;
using Google.Protobuf;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// One connected agent: the queue of messages for it, and what the hub believes it holds. The hub fills the queue
/// under its lock (catch-up first, then live changes, so nothing is lost or reordered between the two); the
/// session's send loop drains it onto the gRPC stream. A session that falls more than its queue behind is closed,
/// and the agent reconnects and catches up from its last revision.
/// </summary>
internal sealed class NodeSession : IDisposable
{
    private static long _nextId;
    private readonly Channel<ServerMessage> _out;
    private readonly CancellationTokenSource _closed = new();
    private readonly NodeChannelOptions _options;
    private readonly SemaphoreSlim _bulkWindow;

    public NodeSession(string nodeName, NodeChannelOptions options)
    {
        NodeName = nodeName;
        _options = options;
        _out = Channel.CreateBounded<ServerMessage>(new BoundedChannelOptions(options.SessionQueueLimit)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _bulkWindow = new SemaphoreSlim(options.ImageChunkWindow, options.ImageChunkWindow);
    }

    public long Id { get; } = Interlocked.Increment(ref _nextId);

    public string NodeName { get; }

    /// <summary>The revision of every object the agent holds or has been sent (guarded by the hub's lock).</summary>
    public Dictionary<ChannelKey, long> Known { get; set; } = [];

    /// <summary>The revision of the last batch queued (guarded by the hub's lock).</summary>
    public long Revision { get; set; }

    /// <summary>The revision the agent last acknowledged as durable.</summary>
    public long AckedRevision
    {
        get => Interlocked.Read(ref _acked);
        set => Interlocked.Exchange(ref _acked, value);
    }

    private long _acked;

    /// <summary>Objects queued so far, upserts and deletes (for tests and logs).</summary>
    public long ChangesQueued => Interlocked.Read(ref _changesQueued);

    private long _changesQueued;

    /// <summary>Cancelled when the session ends for any reason.</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>Why the server ended the session (replaced, too slow), or null.</summary>
    public string? CloseReason { get; private set; }

    public ChannelReader<ServerMessage> Outbound => _out.Reader;

    /// <summary>Queues a message; closes the session when its queue is full.</summary>
    public void Send(ServerMessage message)
    {
        if (!_out.Writer.TryWrite(message))
        {
            Close("the agent fell too far behind");
        }
    }

    /// <summary>
    /// Queues a bulk message (an image chunk) once fewer than <see cref="NodeChannelOptions.ImageChunkWindow"/> bulk
    /// messages wait for the wire: a large upload moves at the pace of the link, holds only a few chunks in memory,
    /// and never fills the queue that sync batches and log requests share. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="ct"/> is cancelled or the session ends.
    /// </summary>
    public async Task SendBulkAsync(ServerMessage message, CancellationToken ct)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, Closed);
        await _bulkWindow.WaitAsync(both.Token);
        if (!_out.Writer.TryWrite(message))
        {
            _bulkWindow.Release();
            Close("the agent fell too far behind");
            throw new OperationCanceledException("the node session closed");
        }
    }

    /// <summary>Called by the send loop once a message is on the wire: frees a bulk slot when it was a bulk one.</summary>
    public void Sent(ServerMessage message)
    {
        if (message.BodyCase == ServerMessage.BodyOneofCase.ImageImport)
        {
            _bulkWindow.Release();
        }
    }

    /// <summary>
    /// Queues <paramref name="changes"/> as batches within the size limits. Every batch but the last carries
    /// <paramref name="fromRevision"/> and complete = false, so an agent that loses the link mid-way resumes from
    /// where it was; the last carries <paramref name="toRevision"/> and complete = true.
    /// </summary>
    public void SendChanges(IReadOnlyList<ObjectChange> changes, long fromRevision, long toRevision, bool snapshot)
    {
        var batch = new SyncBatch { Revision = fromRevision, Snapshot = snapshot };
        var bytes = 0;
        foreach (var change in changes)
        {
            var size = change.ObjectJson.Length + change.Name.Length + change.Namespace.Length + 16;
            if (batch.Changes.Count > 0 && (batch.Changes.Count >= _options.MaxBatchChanges || bytes + size > _options.MaxBatchBytes))
            {
                Send(new ServerMessage { Sync = batch });
                batch = new SyncBatch { Revision = fromRevision, Snapshot = snapshot };
                bytes = 0;
            }

            batch.Changes.Add(change);
            bytes += size;
        }

        batch.Revision = toRevision;
        batch.Complete = true;
        Send(new ServerMessage { Sync = batch });
        Interlocked.Add(ref _changesQueued, changes.Count);
        Revision = toRevision;
    }

    public static ObjectChange Upsert(HubObject obj) => new()
    {
        Kind = obj.Key.Kind,
        Type = ChangeType.Upsert,
        Namespace = obj.Key.Namespace,
        Name = obj.Key.Name,
        Revision = obj.Revision,
        ObjectJson = UnsafeByteOperations.UnsafeWrap(obj.Json),
    };

    public static ObjectChange Delete(ChannelKey key, long revision) => new()
    {
        Kind = key.Kind,
        Type = ChangeType.Delete,
        Namespace = key.Namespace,
        Name = key.Name,
        Revision = revision,
    };

    public void Close(string reason)
    {
        CloseReason ??= reason;
        _out.Writer.TryComplete();
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _out.Writer.TryComplete();
        _closed.Dispose();
        _bulkWindow.Dispose();
    }
}
