namespace Verge.Store;

/// <summary>
/// A revisioned key-value store in the etcd/kine model. Every write gets a new, globally and strictly increasing
/// revision; each key remembers the revision that created it and the revision that last modified it.
/// Keys are plain strings such as <c>/registry/pods/default/web-1</c>; values are opaque bytes.
/// </summary>
/// <remarks>
/// Errors are reported with the exceptions in <see cref="StoreException"/>'s family: a missing key, an existing key,
/// a revision mismatch on compare-and-swap, and a compacted revision are distinct types so callers can map them to
/// 404, 409 and 410.
/// </remarks>
public interface IKeyValueStore : IAsyncDisposable
{
    /// <summary>The revision of the newest write (0 for an empty store).</summary>
    ValueTask<long> GetCurrentRevisionAsync(CancellationToken cancellationToken = default);

    /// <summary>The newest value of one key, or null when it does not exist.</summary>
    ValueTask<KeyValue?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The keys that start with <paramref name="prefix"/>, in key order, as they were at <paramref name="revision"/>
    /// (0 means the current revision). At most <paramref name="limit"/> entries (0 means no limit) whose keys are
    /// strictly greater than <paramref name="startAfterKey"/> when it is given. Throws
    /// <see cref="RevisionCompactedException"/> when the revision is older than the compacted revision and
    /// <see cref="FutureRevisionException"/> when it is newer than the current revision.
    /// </summary>
    ValueTask<ListResult> ListAsync(
        string prefix,
        long revision = 0,
        int limit = 0,
        string? startAfterKey = null,
        CancellationToken cancellationToken = default);

    /// <summary>Counts the keys under a prefix at the current revision.</summary>
    ValueTask<long> CountAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Creates a key; throws <see cref="KeyExistsException"/> when it exists. The write is durable on return.</summary>
    ValueTask<KeyValue> CreateAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the value of a key if its modification revision is still <paramref name="expectedRevision"/>
    /// (compare-and-swap). Throws <see cref="KeyNotFoundStoreException"/> when the key does not exist and
    /// <see cref="RevisionConflictException"/> (carrying the current value) when the revision differs.
    /// </summary>
    ValueTask<KeyValue> UpdateAsync(
        string key,
        ReadOnlyMemory<byte> value,
        long expectedRevision,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a key, only if its modification revision is <paramref name="expectedRevision"/> when that is not 0.
    /// Returns the deleted value with <see cref="KeyValue.ModRevision"/> set to the revision of the delete.
    /// </summary>
    ValueTask<KeyValue> DeleteAsync(string key, long expectedRevision = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// The events for keys under <paramref name="prefix"/> with revisions strictly greater than
    /// <paramref name="afterRevision"/>, in revision order, first from history and then live, until cancelled.
    /// Throws <see cref="RevisionCompactedException"/> (on the first MoveNextAsync) when history after that revision
    /// has been compacted away.
    /// </summary>
    IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default);

    /// <summary>Drops the history older than <paramref name="revision"/>; newest values of live keys are kept.</summary>
    ValueTask CompactAsync(long revision, CancellationToken cancellationToken = default);

    /// <summary>The revision at or below which history has been compacted (0 when nothing was).</summary>
    ValueTask<long> GetCompactedRevisionAsync(CancellationToken cancellationToken = default);
}

/// <summary>One key's value at one revision.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The stored bytes (for a delete event, the value before the delete).</param>
/// <param name="CreateRevision">The revision that created the key.</param>
/// <param name="ModRevision">The revision of the last write to the key (for a delete, the delete's revision).</param>
public sealed record KeyValue(string Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision);

/// <summary>A page of a list.</summary>
/// <param name="Items">The entries in key order.</param>
/// <param name="Revision">The revision the list was read at.</param>
/// <param name="HasMore">Whether more keys follow the last one returned.</param>
/// <param name="RemainingCount">How many keys follow the last one returned, when known.</param>
public sealed record ListResult(IReadOnlyList<KeyValue> Items, long Revision, bool HasMore, long? RemainingCount = null);

/// <summary>What happened to a key.</summary>
public enum WatchEventType
{
    /// <summary>The key was created.</summary>
    Created,

    /// <summary>The key's value was replaced.</summary>
    Modified,

    /// <summary>The key was deleted.</summary>
    Deleted,
}

/// <summary>A change to one key.</summary>
/// <param name="Type">What happened.</param>
/// <param name="Current">The key after the change (for a delete, the last value with the delete's revision).</param>
/// <param name="Previous">The key before the change, when the backend knows it (null for a create).</param>
public sealed record WatchEvent(WatchEventType Type, KeyValue Current, KeyValue? Previous)
{
    /// <summary>The revision of the change.</summary>
    public long Revision => Current.ModRevision;
}
