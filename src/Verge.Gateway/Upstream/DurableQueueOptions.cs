namespace Verge.Gateway.Upstream;

/// <summary>What the queue does when a new message would take it past <see cref="DurableQueueOptions.MaxBytes"/>.</summary>
internal enum OverflowPolicy
{
    /// <summary>Accept the new message and drop the oldest unacknowledged ones until the queue fits (counted as overflow drops).</summary>
    DropOldest,

    /// <summary>Keep what is queued and refuse the new message (counted as refused).</summary>
    RefuseNew,
}

/// <summary>Options of the <see cref="DurableQueue"/>.</summary>
internal sealed record DurableQueueOptions
{
    /// <summary>Directory holding the segment files and the acknowledgment file; created if missing.</summary>
    public string Directory { get; init; } = "";

    /// <summary>The gateway's id; with a message's sequence it forms the message id receivers use to drop duplicates.</summary>
    public string GatewayId { get; init; } = "gateway";

    /// <summary>Bound on the bytes of unacknowledged records (framing included).</summary>
    public long MaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Unacknowledged messages older than this are dropped (counted as expired).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(7);

    public OverflowPolicy Overflow { get; init; } = OverflowPolicy.DropOldest;

    /// <summary>A segment file is closed and a new one started once it reaches this size.</summary>
    public long SegmentBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>The largest payload accepted.</summary>
    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>The most messages written with one fsync (group commit).</summary>
    public int MaxBatchMessages { get; init; } = 8192;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("Directory is required", nameof(Directory));
        }

        if (string.IsNullOrWhiteSpace(GatewayId))
        {
            throw new ArgumentException("GatewayId is required", nameof(GatewayId));
        }

        if (MaxMessageBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMessageBytes), MaxMessageBytes, "must be at least 1");
        }

        if (MaxBytes < MaxMessageBytes + DurableQueue.FixedBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "must hold at least one message of MaxMessageBytes with its framing");
        }

        if (SegmentBytes < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentBytes), SegmentBytes, "must be at least 4096");
        }

        if (MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAge), MaxAge, "must be positive");
        }

        if (MaxBatchMessages < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchMessages), MaxBatchMessages, "must be at least 1");
        }

        if (!Enum.IsDefined(Overflow))
        {
            throw new ArgumentOutOfRangeException(nameof(Overflow), Overflow, "must be DropOldest or RefuseNew");
        }
    }
}

/// <summary>A message read back from the queue.</summary>
internal sealed record QueuedMessage(long Sequence, string MessageId, DateTimeOffset EnqueuedAt, string Topic, byte[] Payload);

/// <summary>The outcome of an enqueue: durable with its sequence, or refused and why.</summary>
internal readonly record struct EnqueueResult(bool Accepted, long Sequence, string? Refusal)
{
    public static EnqueueResult Durable(long sequence) => new(true, sequence, null);

    public static EnqueueResult Refused(string reason) => new(false, 0, reason);
}
