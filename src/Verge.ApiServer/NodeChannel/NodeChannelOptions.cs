namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// Settings of the server end of the node channel. The heartbeat and lease durations default to
/// <see cref="Verge.Core.Coordination.NodeHeartbeat.Default"/>, as the node lifecycle controller's grace period does.
/// </summary>
public sealed class NodeChannelOptions
{
    /// <summary>How often agents send Heartbeat (told to them in Welcome); the node's Lease is renewed at most this often.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = Verge.Core.Coordination.NodeHeartbeat.Default.RenewInterval;

    /// <summary>The leaseDurationSeconds written into node Leases.</summary>
    public TimeSpan LeaseDuration { get; set; } = Verge.Core.Coordination.NodeHeartbeat.Default.LeaseDuration;

    /// <summary>The namespace of node Leases.</summary>
    public string LeaseNamespace { get; set; } = Verge.Core.Coordination.Lease.NodeLeaseNamespace;

    /// <summary>The most changes in one SyncBatch.</summary>
    public int MaxBatchChanges { get; set; } = 256;

    /// <summary>The most object bytes in one SyncBatch (one larger object still travels alone).</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>Messages queued for one agent before its session is closed as too slow (it then reconnects and catches up).</summary>
    public int SessionQueueLimit { get; set; } = 4096;

    /// <summary>How long a session waits for the server to reach an agent's last revision before sending it a snapshot.</summary>
    public TimeSpan RevisionWait { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a log request waits for the agent's first chunk before the response headers go out.</summary>
    public TimeSpan LogFirstChunkWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The size of the chunks an uploaded image archive travels to an agent in.</summary>
    public int ImageChunkBytes { get; set; } = 256 * 1024;

    /// <summary>Image chunks queued for one agent at most; the upload waits for the wire beyond that.</summary>
    public int ImageChunkWindow { get; set; } = 8;

    public void Validate()
    {
        if (ImageChunkBytes is < 1024 or > 8 * 1024 * 1024 || ImageChunkWindow < 1 || ImageChunkWindow > SessionQueueLimit / 2)
        {
            throw new ArgumentException("image chunks must be 1 KiB to 8 MiB, with a window of 1 to half the session queue");
        }

        if (HeartbeatInterval <= TimeSpan.Zero || LeaseDuration < HeartbeatInterval)
        {
            throw new ArgumentException("the node heartbeat interval must be positive and no longer than the lease duration");
        }

        if (MaxBatchChanges < 1 || MaxBatchBytes < 1024 || SessionQueueLimit < 16)
        {
            throw new ArgumentException("node channel batch limits must be at least 1 change, 1024 bytes and a queue of 16");
        }

        ArgumentException.ThrowIfNullOrEmpty(LeaseNamespace);
    }
}
