using Verge.Core.Core;

namespace Verge.Agent.Channel;

/// <summary>The kinds of object the control plane sends a node.</summary>
public enum DesiredKind
{
    Pod,
    ConfigMap,
    Secret,
    DataRule,
    Device,
}

/// <summary>Identifies one object of the node's desired state. Cluster-scoped kinds have an empty namespace.</summary>
public sealed record DesiredKey(DesiredKind Kind, string Namespace, string Name);

/// <summary>One object created, changed or deleted. Json is the object's Kubernetes JSON; null when deleted.</summary>
public sealed record DesiredChange(DesiredKey Key, bool Deleted, long Revision, byte[]? Json);

/// <summary>
/// Changes that bring the node's desired state up to <see cref="Revision"/>. A snapshot replaces the whole state:
/// held objects it does not name are removed.
/// </summary>
public sealed record DesiredBatch(long Revision, bool Snapshot, IReadOnlyList<DesiredChange> Changes);

/// <summary>
/// The node's durable copy of its desired state (implemented over SQLite by the agent's local state). The channel
/// client reads <see cref="LastRevision"/> and <see cref="HeldKeys"/> for its Hello and hands every batch it
/// receives to <see cref="ApplyAsync"/>, which returns only once the batch is on disk.
/// </summary>
public interface IDesiredState
{
    long LastRevision { get; }

    IReadOnlyCollection<DesiredKey> HeldKeys();

    Task ApplyAsync(DesiredBatch batch, CancellationToken ct);
}

/// <summary>
/// Where the agent's pod workers send what the control plane should learn. Implementations coalesce (only the latest
/// status of a pod is kept) and never block: while the link is down, the latest statuses wait for the reconnect.
/// </summary>
public interface IStatusPublisher
{
    void PublishPodStatus(string podNamespace, string podName, string podUid, PodStatus status);

    /// <summary>
    /// The pod, being deleted, is stopped and cleaned up on this node: the control plane may remove it, ending its
    /// graceful deletion. <paramref name="status"/> is its last status (null when the agent has none, as after a
    /// restart). Replaces any status of the pod still waiting to be sent.
    /// </summary>
    void PublishPodTerminated(string podNamespace, string podName, string podUid, PodStatus? status);

    void PublishEvent(Event recorded);
}

/// <summary>A kubectl logs request as the agent receives it.</summary>
public sealed record LogQuery(
    string Namespace,
    string Pod,
    string? Container,
    bool Follow,
    long? TailLines,
    bool Previous,
    long? LimitBytes,
    DateTimeOffset? Since,
    bool Timestamps);

/// <summary>Reads container logs from the node's log files (implemented by the agent's log manager).</summary>
public interface ILogSource
{
    /// <summary>
    /// Streams the log as chunks; with Follow it keeps going until the container's log ends for good or
    /// <paramref name="ct"/> is cancelled. Throws <see cref="LogNotFoundException"/> with a kubectl-style message
    /// ("container \"x\" in pod \"y\" is waiting to start", "previous terminated container ... not found").
    /// </summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(LogQuery query, CancellationToken ct);
}

public sealed class LogNotFoundException : Exception
{
    public LogNotFoundException(string message)
        : base(message)
    {
    }

    public LogNotFoundException()
    {
    }

    public LogNotFoundException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
