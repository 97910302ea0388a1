namespace Verge.Store;

/// <summary>The base of every error a store reports on purpose.</summary>
public abstract class StoreException : Exception
{
    protected StoreException(string message)
        : base(message)
    {
    }

    protected StoreException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>The key does not exist.</summary>
public sealed class KeyNotFoundStoreException(string key) : StoreException($"key {key} not found")
{
    public string Key { get; } = key;
}

/// <summary>The key already exists.</summary>
public sealed class KeyExistsException(string key) : StoreException($"key {key} already exists")
{
    public string Key { get; } = key;
}

/// <summary>A compare-and-swap found another revision than the one expected.</summary>
public sealed class RevisionConflictException(KeyValue current, long expectedRevision)
    : StoreException($"key {current.Key} is at revision {current.ModRevision}, not {expectedRevision}")
{
    /// <summary>The key as it is now.</summary>
    public KeyValue Current { get; } = current;

    public long ExpectedRevision { get; } = expectedRevision;
}

/// <summary>The revision asked for has been compacted away.</summary>
public sealed class RevisionCompactedException(long requestedRevision, long compactedRevision)
    : StoreException($"revision {requestedRevision} has been compacted; the oldest available is {compactedRevision + 1}")
{
    public long RequestedRevision { get; } = requestedRevision;

    public long CompactedRevision { get; } = compactedRevision;
}

/// <summary>The revision asked for is newer than anything written.</summary>
public sealed class FutureRevisionException(long requestedRevision, long currentRevision)
    : StoreException($"revision {requestedRevision} is newer than the current revision {currentRevision}")
{
    public long RequestedRevision { get; } = requestedRevision;

    public long CurrentRevision { get; } = currentRevision;
}

/// <summary>
/// A watcher fell too far behind the writes and its buffer filled up. The watch has ended; no event was skipped
/// before this exception. Watch again from the revision of the last event received.
/// </summary>
public sealed class WatchOverflowException(string prefix, long lastDeliveredRevision, int capacity)
    : StoreException(
        $"watch on {prefix} fell more than {capacity} events behind after revision {lastDeliveredRevision}; watch again from that revision")
{
    public string Prefix { get; } = prefix;

    /// <summary>The revision of the last event queued for the watcher before the overflow (0 when none was).</summary>
    public long LastDeliveredRevision { get; } = lastDeliveredRevision;

    public int Capacity { get; } = capacity;
}
