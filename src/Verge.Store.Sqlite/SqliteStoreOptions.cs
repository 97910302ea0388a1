namespace Verge.Store.Sqlite;

/// <summary>Tuning for <see cref="SqliteKeyValueStore"/>. The defaults suit an edge control plane.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The most writes the writer commits in one transaction (group commit).</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>How many idle read connections the store keeps open.</summary>
    public int ReadConnectionPoolSize { get; set; } = 4;

    /// <summary>How many events a watcher may fall behind before its watch ends with <see cref="WatchOverflowException"/>.</summary>
    public int WatchBufferSize { get; set; } = 10_000;

    /// <summary>How many history rows a watch reads per query while it replays.</summary>
    public int WatchHistoryPageSize { get; set; } = 1_000;

    /// <summary>
    /// Whether each commit waits for the disk (<c>synchronous=FULL</c>). Leave it on: an acknowledged write then
    /// survives a crash or power loss. Turning it off (<c>synchronous=NORMAL</c>) keeps the database consistent but
    /// may lose the last acknowledged writes on power loss; it exists for throwaway test databases.
    /// </summary>
    public bool DurableCommits { get; set; } = true;

    /// <summary>
    /// How many recently written keys the store keeps the newest value of in memory, so that reading them (as every
    /// update does first) needs no SQLite statement; 0 turns it off. The values are the bytes the watch events of
    /// those writes share. Size it above the number of keys written over and over (a fleet's Leases and Nodes): it
    /// starts empty when full.
    /// </summary>
    public int LatestValueCacheSize { get; set; } = 65_536;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSize, 1, nameof(MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(ReadConnectionPoolSize, nameof(ReadConnectionPoolSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(WatchBufferSize, 1, nameof(WatchBufferSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(WatchHistoryPageSize, 1, nameof(WatchHistoryPageSize));
        ArgumentOutOfRangeException.ThrowIfNegative(LatestValueCacheSize, nameof(LatestValueCacheSize));
    }
}
