using Verge.Store.Watch;

namespace Verge.Store;

/// <summary>
/// A reference implementation of <see cref="IKeyValueStore"/> that keeps everything in memory: the same log model as
/// the SQLite backend (every write appends a row; the newest row of a key is its value), kept simple enough to serve
/// as the model the conformance suite checks other backends against, and as a fake for other components' tests.
/// </summary>
public sealed class InMemoryKeyValueStore : IKeyValueStore
{
    private const int HistoryPageSize = 1024;

    private readonly State _state;
    private readonly WatchHub _hub;
    private bool _disposed;

    /// <summary>Creates an empty store.</summary>
    /// <param name="watchBufferSize">How many events a watcher may fall behind before its watch ends.</param>
    public InMemoryKeyValueStore(int watchBufferSize = 10_000)
        : this(new State(), watchBufferSize)
    {
    }

    private InMemoryKeyValueStore(State state, int watchBufferSize)
    {
        _state = state;
        _hub = new WatchHub(watchBufferSize);
    }

    /// <summary>Opens a new store over the data of a disposed one, as a restart over durable media would.</summary>
    internal static InMemoryKeyValueStore Reopen(InMemoryKeyValueStore closed)
    {
        ArgumentNullException.ThrowIfNull(closed);
        lock (closed._state.Gate)
        {
            if (!closed._disposed)
            {
                throw new InvalidOperationException("dispose the store before reopening its data");
            }
        }

        return new InMemoryKeyValueStore(closed._state, closed._hub.Capacity);
    }

    public ValueTask<long> GetCurrentRevisionAsync(CancellationToken cancellationToken = default)
    {
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            return ValueTask.FromResult(_state.Revision);
        }
    }

    public ValueTask<long> GetCompactedRevisionAsync(CancellationToken cancellationToken = default)
    {
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            return ValueTask.FromResult(_state.Compacted);
        }
    }

    public ValueTask<KeyValue?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            var row = _state.Newest(key);
            return ValueTask.FromResult(row is { Deleted: false } ? row.ToKeyValue() : null);
        }
    }

    public ValueTask<ListResult> ListAsync(
        string prefix,
        long revision = 0,
        int limit = 0,
        string? startAfterKey = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            long atRevision = revision == 0 ? _state.Revision : revision;
            if (atRevision > _state.Revision)
            {
                throw new FutureRevisionException(atRevision, _state.Revision);
            }

            if (atRevision < _state.Compacted)
            {
                throw new RevisionCompactedException(atRevision, _state.Compacted);
            }

            var items = new List<KeyValue>();
            long remaining = 0;
            foreach (var (key, rows) in _state.Keys)
            {
                if (!KeyOrder.HasPrefix(key, prefix) ||
                    (startAfterKey is not null && KeyOrder.Compare(key, startAfterKey) <= 0))
                {
                    continue;
                }

                var row = rows.LastOrDefault(r => r.Id <= atRevision);
                if (row is null || row.Deleted)
                {
                    continue;
                }

                if (limit == 0 || items.Count < limit)
                {
                    items.Add(row.ToKeyValue());
                }
                else
                {
                    remaining++;
                }
            }

            return ValueTask.FromResult(new ListResult(items, atRevision, remaining > 0, remaining));
        }
    }

    public ValueTask<long> CountAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            long count = _state.Keys.Count(pair => KeyOrder.HasPrefix(pair.Key, prefix) && !pair.Value[^1].Deleted);
            return ValueTask.FromResult(count);
        }
    }

    public ValueTask<KeyValue> CreateAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            var newest = _state.Newest(key);
            if (newest is { Deleted: false })
            {
                throw new KeyExistsException(key);
            }

            long revision = _state.Revision + 1;
            var row = new Row(revision, key, Created: true, Deleted: false, revision, newest?.Id ?? 0, value.ToArray());
            Append(row, null);
            return ValueTask.FromResult(row.ToKeyValue());
        }
    }

    public ValueTask<KeyValue> UpdateAsync(
        string key,
        ReadOnlyMemory<byte> value,
        long expectedRevision,
        CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            var newest = _state.Newest(key);
            if (newest is null or { Deleted: true })
            {
                throw new KeyNotFoundStoreException(key);
            }

            if (newest.Id != expectedRevision)
            {
                throw new RevisionConflictException(newest.ToKeyValue(), expectedRevision);
            }

            var row = new Row(_state.Revision + 1, key, Created: false, Deleted: false, newest.CreateRevision, newest.Id, value.ToArray());
            Append(row, newest);
            return ValueTask.FromResult(row.ToKeyValue());
        }
    }

    public ValueTask<KeyValue> DeleteAsync(string key, long expectedRevision = 0, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedRevision);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            var newest = _state.Newest(key);
            if (newest is null or { Deleted: true })
            {
                throw new KeyNotFoundStoreException(key);
            }

            if (expectedRevision != 0 && newest.Id != expectedRevision)
            {
                throw new RevisionConflictException(newest.ToKeyValue(), expectedRevision);
            }

            var row = new Row(_state.Revision + 1, key, Created: false, Deleted: true, newest.CreateRevision, newest.Id, newest.Value);
            Append(row, newest);
            return ValueTask.FromResult(row.ToKeyValue());
        }
    }

    public IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(afterRevision);
        return WatchReplay.RunAsync(_hub, prefix, afterRevision, HistoryPageSize, ReadHistory, cancellationToken);
    }

    public ValueTask CompactAsync(long revision, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            if (revision > _state.Revision)
            {
                throw new FutureRevisionException(revision, _state.Revision);
            }

            if (revision <= _state.Compacted)
            {
                return ValueTask.CompletedTask;
            }

            // Keep, per key, every row above the revision and the newest row at or below it unless it is a tombstone.
            var keep = new HashSet<long>();
            foreach (var rows in _state.Keys.Values)
            {
                var newestAtOrBelow = rows.LastOrDefault(r => r.Id <= revision);
                if (newestAtOrBelow is { Deleted: false })
                {
                    keep.Add(newestAtOrBelow.Id);
                }

                rows.RemoveAll(r => r.Id <= revision && !keep.Contains(r.Id));
            }

            var emptied = _state.Keys.Where(pair => pair.Value.Count == 0).Select(pair => pair.Key).ToList();
            foreach (var key in emptied)
            {
                _state.Keys.Remove(key);
            }

            _state.Log.RemoveAll(r => r.Id <= revision && !keep.Contains(r.Id));
            _state.Compacted = revision;
            return ValueTask.CompletedTask;
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_state.Gate)
        {
            _disposed = true;
        }

        _hub.Close(new ObjectDisposedException(nameof(InMemoryKeyValueStore)));
        return ValueTask.CompletedTask;
    }

    private ValueTask<IReadOnlyList<WatchEvent>> ReadHistory(string prefix, long afterRevision, int limit, CancellationToken cancellationToken)
    {
        lock (_state.Gate)
        {
            ThrowIfDisposed();
            if (afterRevision < _state.Compacted)
            {
                throw new RevisionCompactedException(afterRevision, _state.Compacted);
            }

            var events = new List<WatchEvent>();
            int start = _state.Log.FindIndex(r => r.Id > afterRevision);
            for (int i = start < 0 ? _state.Log.Count : start; i < _state.Log.Count && events.Count < limit; i++)
            {
                var row = _state.Log[i];
                if (KeyOrder.HasPrefix(row.Name, prefix))
                {
                    var previous = row.Created ? null : _state.Keys[row.Name].Find(r => r.Id == row.PrevRevision);
                    events.Add(row.ToEvent(previous));
                }
            }

            return ValueTask.FromResult<IReadOnlyList<WatchEvent>>(events);
        }
    }

    private void Append(Row row, Row? previous)
    {
        if (!_state.Keys.TryGetValue(row.Name, out var rows))
        {
            rows = [];
            _state.Keys.Add(row.Name, rows);
        }

        rows.Add(row);
        _state.Log.Add(row);
        _state.Revision = row.Id;
        _hub.Publish([row.ToEvent(previous)]);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static void ValidateKey(string key) => ArgumentException.ThrowIfNullOrEmpty(key);

    private sealed class State
    {
        public Lock Gate { get; } = new();

        public List<Row> Log { get; } = [];

        public SortedDictionary<string, List<Row>> Keys { get; } = new(KeyOrder.Comparer);

        public long Revision { get; set; }

        public long Compacted { get; set; }

        public Row? Newest(string key) => Keys.TryGetValue(key, out var rows) ? rows[^1] : null;
    }

    private sealed record Row(
        long Id,
        string Name,
        bool Created,
        bool Deleted,
        long CreateRevision,
        long PrevRevision,
        byte[] Value)
    {
        public KeyValue ToKeyValue() => new(Name, Value, CreateRevision, Id);

        public WatchEvent ToEvent(Row? previous) => (Created, Deleted) switch
        {
            (_, true) => new WatchEvent(
                WatchEventType.Deleted,
                ToKeyValue(),
                new KeyValue(Name, Value, CreateRevision, PrevRevision)),
            (true, _) => new WatchEvent(WatchEventType.Created, ToKeyValue(), null),
            _ => new WatchEvent(WatchEventType.Modified, ToKeyValue(), previous?.ToKeyValue()),
        };
    }
}
