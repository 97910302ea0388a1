using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Verge.Store.Watch;

namespace Verge.Store.Sqlite;

/// <summary>
/// The embedded store: a revisioned key-value log in one SQLite file (the kine model). One writer loop owns the write
/// connection and commits queued writes in batches (group commit, <c>synchronous=FULL</c> in WAL mode), then publishes
/// the batch's events to watchers; reads use their own connections and never wait for the writer, and a read of a key
/// the writer has written since the store opened is answered from memory (<see cref="LatestValues"/>).
/// One process opens a database file at a time.
/// </summary>
public sealed class SqliteKeyValueStore : IKeyValueStore
{
    private const string SelectNewestSql =
        "SELECT id, deleted, create_revision, value FROM kv_log WHERE name = $name ORDER BY id DESC LIMIT 1;";

    private const string InsertSql = """
        INSERT INTO kv_log (id, name, created, deleted, create_revision, prev_revision, value)
        VALUES ($id, $name, $created, $deleted, $create_revision, $prev_revision, $value);
        """;

    // Superseded rows are the predecessors of rows written in the range; tombstones in the range go too.
    private const string CompactSql = """
        DELETE FROM kv_log WHERE id IN
            (SELECT prev_revision FROM kv_log WHERE id > $from AND id <= $to AND prev_revision > 0);
        DELETE FROM kv_log WHERE id > $from AND id <= $to AND deleted = 1;
        UPDATE kv_meta SET value = $to WHERE name = 'compact_revision';
        """;

    private readonly SqliteConnection _writeConnection;
    private readonly SqliteCommand _selectNewest;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _compact;
    private readonly ReadConnectionPool _readers;
    private readonly LatestValues _latest;
    private readonly HashSet<string> _writtenInBatch = new(StringComparer.Ordinal);
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, SqliteCommand> _getCommands = [];
    private readonly SqliteStoreOptions _options;
    private readonly WatchHub _hub;
    private readonly Channel<WriteOperation> _writes;
    private readonly Task _writer;
    private long _revision;
    private long _compacted;
    private int _disposed;

    private SqliteKeyValueStore(
        SqliteConnection writeConnection,
        string readConnectionString,
        SqliteStoreOptions options,
        long revision,
        long compacted)
    {
        _writeConnection = writeConnection;
        _options = options;
        _revision = revision;
        _compacted = compacted;
        _readers = new ReadConnectionPool(readConnectionString, options.ReadConnectionPoolSize);
        _latest = new LatestValues(options.LatestValueCacheSize);
        _hub = new WatchHub(options.WatchBufferSize);

        _selectNewest = Prepare(SelectNewestSql, "$name");
        _insert = Prepare(InsertSql, "$id", "$name", "$created", "$deleted", "$create_revision", "$prev_revision", "$value");
        _compact = Prepare(CompactSql, "$from", "$to");

        _writes = Channel.CreateUnbounded<WriteOperation>(new UnboundedChannelOptions { SingleReader = true });
        _writer = Task.Run(RunWriterAsync);
    }

    /// <summary>Opens (creating when missing) the store in the SQLite file at <paramref name="path"/>.</summary>
    public static Task<SqliteKeyValueStore> OpenAsync(
        string path,
        SqliteStoreOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new SqliteStoreOptions();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();

        var baseBuilder = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false };
        var writeString = new SqliteConnectionStringBuilder(baseBuilder.ConnectionString) { Mode = SqliteOpenMode.ReadWriteCreate };
        var readString = new SqliteConnectionStringBuilder(baseBuilder.ConnectionString) { Mode = SqliteOpenMode.ReadOnly };

        var connection = new SqliteConnection(writeString.ConnectionString);
        try
        {
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = $"""
                    PRAGMA journal_mode = WAL;
                    PRAGMA synchronous = {(options.DurableCommits ? "FULL" : "NORMAL")};
                    PRAGMA busy_timeout = 5000;
                    """;
                pragma.ExecuteNonQuery();
            }

            Schema.Apply(connection);
            var (current, compacted) = Schema.ReadRevisions(connection, null);
            return Task.FromResult(new SqliteKeyValueStore(connection, readString.ConnectionString, options, current, compacted));
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public ValueTask<long> GetCurrentRevisionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return ValueTask.FromResult(Volatile.Read(ref _revision));
    }

    public ValueTask<long> GetCompactedRevisionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return ValueTask.FromResult(Volatile.Read(ref _compacted));
    }

    public ValueTask<KeyValue?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        if (_latest.TryGet(key, out var latest))
        {
            return ValueTask.FromResult(latest);
        }

        var connection = RentReader();
        try
        {
            // The statement is prepared once per read connection: a Get is the first step of every update, and
            // preparing it each time was a fifth of the cost of a small write.
            var command = _getCommands.GetValue(connection, static c =>
            {
                var prepared = c.CreateCommand();
                prepared.CommandText = SelectNewestSql;
                prepared.Parameters.Add(new SqliteParameter { ParameterName = "$name" });
                return prepared;
            });
            command.Parameters[0].Value = key;
            using var reader = command.ExecuteReader();
            if (!reader.Read() || reader.GetInt64(1) != 0)
            {
                return ValueTask.FromResult<KeyValue?>(null);
            }

            return ValueTask.FromResult<KeyValue?>(
                new KeyValue(key, (byte[])reader.GetValue(3), reader.GetInt64(2), reader.GetInt64(0)));
        }
        finally
        {
            _readers.Return(connection);
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
        cancellationToken.ThrowIfCancellationRequested();
        var connection = RentReader();
        try
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var (current, compacted) = Schema.ReadRevisions(connection, transaction);
            long atRevision = revision == 0 ? current : revision;
            if (atRevision > current)
            {
                throw new FutureRevisionException(atRevision, current);
            }

            if (atRevision < compacted)
            {
                throw new RevisionCompactedException(atRevision, compacted);
            }

            var items = new List<KeyValue>(limit is > 0 and <= 1024 ? limit + 1 : 16);
            using (var command = LiveKeysCommand(connection, transaction, prefix, atRevision, startAfterKey, count: false))
            {
                if (limit > 0)
                {
                    command.CommandText += " LIMIT $limit";
                    command.Parameters.AddWithValue("$limit", limit + 1);
                }

                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    items.Add(new KeyValue(reader.GetString(0), (byte[])reader.GetValue(3), reader.GetInt64(1), reader.GetInt64(2)));
                }
            }

            long remaining = 0;
            if (limit > 0 && items.Count > limit)
            {
                items.RemoveAt(limit);
                using var count = LiveKeysCommand(connection, transaction, prefix, atRevision, items[^1].Key, count: true);
                remaining = (long)count.ExecuteScalar()!;
            }

            transaction.Commit();
            return ValueTask.FromResult(new ListResult(items, atRevision, remaining > 0, remaining));
        }
        finally
        {
            _readers.Return(connection);
        }
    }

    public ValueTask<long> CountAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = RentReader();
        try
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var (current, _) = Schema.ReadRevisions(connection, transaction);
            using var command = LiveKeysCommand(connection, transaction, prefix, current, null, count: true);
            long count = (long)command.ExecuteScalar()!;
            transaction.Commit();
            return ValueTask.FromResult(count);
        }
        finally
        {
            _readers.Return(connection);
        }
    }

    public async ValueTask<KeyValue> CreateAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return (await EnqueueAsync(new WriteOperation(WriteKind.Create, key, value.ToArray(), 0, cancellationToken)))!;
    }

    public async ValueTask<KeyValue> UpdateAsync(
        string key,
        ReadOnlyMemory<byte> value,
        long expectedRevision,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return (await EnqueueAsync(new WriteOperation(WriteKind.Update, key, value.ToArray(), expectedRevision, cancellationToken)))!;
    }

    public async ValueTask<KeyValue> DeleteAsync(string key, long expectedRevision = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedRevision);
        return (await EnqueueAsync(new WriteOperation(WriteKind.Delete, key, [], expectedRevision, cancellationToken)))!;
    }

    public async ValueTask CompactAsync(long revision, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        await EnqueueAsync(new WriteOperation(WriteKind.Compact, string.Empty, [], revision, cancellationToken));
    }

    public IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(afterRevision);
        ThrowIfDisposed();
        return WatchReplay.RunAsync(_hub, prefix, afterRevision, _options.WatchHistoryPageSize, ReadHistory, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _writes.Writer.TryComplete();
        await _writer;
        _hub.Close(new ObjectDisposedException(nameof(SqliteKeyValueStore)));
        _readers.Dispose();
        _selectNewest.Dispose();
        _insert.Dispose();
        _compact.Dispose();
        await _writeConnection.DisposeAsync();
    }

    private async Task<KeyValue?> EnqueueAsync(WriteOperation operation)
    {
        operation.CancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(!_writes.Writer.TryWrite(operation), this);

        // The outcome is awaited even when the caller cancels meanwhile: once a write is in a batch, it commits.
        return await operation.Task;
    }

    private async Task RunWriterAsync()
    {
        var batch = new List<WriteOperation>(_options.MaxBatchSize);
        var events = new List<WatchEvent>(_options.MaxBatchSize);
        while (await _writes.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatchSize && _writes.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }

            events.Clear();
            _writtenInBatch.Clear();
            CommitBatch(batch, events);
        }
    }

    private void CommitBatch(List<WriteOperation> batch, List<WatchEvent> events)
    {
        long revision = _revision;
        long compacted = _compacted;
        try
        {
            using var transaction = _writeConnection.BeginTransaction();
            _selectNewest.Transaction = transaction;
            _insert.Transaction = transaction;
            _compact.Transaction = transaction;
            foreach (var operation in batch)
            {
                operation.Result = null;
                operation.Error = null;
                if (operation.CancellationToken.IsCancellationRequested)
                {
                    operation.Error = new OperationCanceledException(operation.CancellationToken);
                    continue;
                }

                if (operation.Kind == WriteKind.Compact)
                {
                    compacted = Compact(operation, revision, compacted);
                }
                else
                {
                    Apply(operation, ref revision, events);
                }
            }

            transaction.Commit();
        }
#pragma warning disable CA1031 // A failed commit fails every caller of the batch with the cause; the loop lives on.
        catch (Exception error)
#pragma warning restore CA1031
        {
            foreach (var operation in batch)
            {
                operation.Fail(error);
            }

            return;
        }

        // The newest values first: once the revision or an event is out, a read of those keys must see them.
        _latest.Record(events);
        Volatile.Write(ref _revision, revision);
        Volatile.Write(ref _compacted, compacted);
        if (events.Count > 0)
        {
            _hub.Publish(events);
        }

        foreach (var operation in batch)
        {
            operation.Deliver();
        }
    }

    private void Apply(WriteOperation operation, ref long revision, List<WatchEvent> events)
    {
        var newest = FindNewest(operation.Key);
        bool live = newest is { Deleted: false };
        switch (operation.Kind)
        {
            case WriteKind.Create when live:
                operation.Error = new KeyExistsException(operation.Key);
                return;
            case WriteKind.Update or WriteKind.Delete when !live:
                operation.Error = new KeyNotFoundStoreException(operation.Key);
                return;
            case WriteKind.Update when newest!.Value.Id != operation.Revision:
            case WriteKind.Delete when operation.Revision != 0 && newest!.Value.Id != operation.Revision:
                operation.Error = new RevisionConflictException(newest.Value.ToKeyValue(operation.Key), operation.Revision);
                return;
        }

        long id = revision + 1;
        long prevRevision = newest?.Id ?? 0;
        WatchEvent watchEvent;
        switch (operation.Kind)
        {
            case WriteKind.Create:
                Insert(id, operation.Key, created: true, deleted: false, id, prevRevision, operation.Value);
                operation.Result = new KeyValue(operation.Key, operation.Value, id, id);
                watchEvent = new WatchEvent(WatchEventType.Created, operation.Result, null);
                break;
            case WriteKind.Update:
                Insert(id, operation.Key, created: false, deleted: false, newest!.Value.CreateRevision, prevRevision, operation.Value);
                operation.Result = new KeyValue(operation.Key, operation.Value, newest.Value.CreateRevision, id);
                watchEvent = new WatchEvent(WatchEventType.Modified, operation.Result, newest.Value.ToKeyValue(operation.Key));
                break;
            default:
                // A tombstone keeps the deleted value, so delete events and history carry it.
                var deletedValue = newest!.Value.Value.ToArray();
                Insert(id, operation.Key, created: false, deleted: true, newest.Value.CreateRevision, prevRevision, deletedValue);
                operation.Result = new KeyValue(operation.Key, deletedValue, newest.Value.CreateRevision, id);
                watchEvent = new WatchEvent(WatchEventType.Deleted, operation.Result, newest.Value.ToKeyValue(operation.Key));
                break;
        }

        revision = id;
        events.Add(watchEvent);
        _writtenInBatch.Add(operation.Key);
    }

    private long Compact(WriteOperation operation, long revision, long compacted)
    {
        if (operation.Revision > revision)
        {
            operation.Error = new FutureRevisionException(operation.Revision, revision);
            return compacted;
        }

        if (operation.Revision <= compacted)
        {
            return compacted;
        }

        _compact.Parameters["$from"].Value = compacted;
        _compact.Parameters["$to"].Value = operation.Revision;
        _compact.ExecuteNonQuery();
        return operation.Revision;
    }

    /// <summary>
    /// The key's newest row: from the newest values in memory when they hold it (the write then costs no read and no
    /// copy of the value), unless this batch wrote it already, whose row only the open transaction has.
    /// </summary>
    private NewestRow? FindNewest(string key)
    {
        if (!_writtenInBatch.Contains(key) && _latest.TryGet(key, out var held) && held is not null)
        {
            return new NewestRow(held.ModRevision, Deleted: false, held.CreateRevision, held.Value);
        }

        return ReadNewest(key);
    }

    private NewestRow? ReadNewest(string key)
    {
        _selectNewest.Parameters["$name"].Value = key;
        using var reader = _selectNewest.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new NewestRow(reader.GetInt64(0), reader.GetInt64(1) != 0, reader.GetInt64(2), (byte[])reader.GetValue(3));
    }

    private void Insert(long id, string name, bool created, bool deleted, long createRevision, long prevRevision, byte[] value)
    {
        var parameters = _insert.Parameters;
        parameters["$id"].Value = id;
        parameters["$name"].Value = name;
        parameters["$created"].Value = created ? 1 : 0;
        parameters["$deleted"].Value = deleted ? 1 : 0;
        parameters["$create_revision"].Value = createRevision;
        parameters["$prev_revision"].Value = prevRevision;
        parameters["$value"].Value = value;
        _insert.ExecuteNonQuery();
    }

    private ValueTask<IReadOnlyList<WatchEvent>> ReadHistory(string prefix, long afterRevision, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = RentReader();
        try
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var (_, compacted) = Schema.ReadRevisions(connection, transaction);
            if (afterRevision < compacted)
            {
                throw new RevisionCompactedException(afterRevision, compacted);
            }

            using var command = connection.CreateCommand();
            command.Transaction = transaction;

            // The unary + keeps the planner on the revision order instead of the name index.
            command.CommandText = """
                SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.prev_revision, l.value,
                       p.create_revision, p.value
                FROM kv_log AS l
                LEFT JOIN kv_log AS p ON p.id = l.prev_revision AND l.created = 0 AND l.deleted = 0
                WHERE l.id > $after AND +l.name >= $prefix
                """;
            AddUpperBound(command, "+l.name", prefix);
            command.CommandText += " ORDER BY l.id LIMIT $limit;";
            command.Parameters.AddWithValue("$after", afterRevision);
            command.Parameters.AddWithValue("$prefix", prefix);
            command.Parameters.AddWithValue("$limit", limit);

            var events = new List<WatchEvent>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    long id = reader.GetInt64(0);
                    string name = reader.GetString(1);
                    bool created = reader.GetInt64(2) != 0;
                    bool deleted = reader.GetInt64(3) != 0;
                    long createRevision = reader.GetInt64(4);
                    long prevRevision = reader.GetInt64(5);
                    var value = (byte[])reader.GetValue(6);
                    var current = new KeyValue(name, value, createRevision, id);
                    events.Add((created, deleted) switch
                    {
                        (_, true) => new WatchEvent(
                            WatchEventType.Deleted, current, new KeyValue(name, value, createRevision, prevRevision)),
                        (true, _) => new WatchEvent(WatchEventType.Created, current, null),
                        _ => new WatchEvent(
                            WatchEventType.Modified,
                            current,
                            reader.IsDBNull(7) ? null : new KeyValue(name, (byte[])reader.GetValue(8), reader.GetInt64(7), prevRevision)),
                    });
                }
            }

            transaction.Commit();
            return ValueTask.FromResult<IReadOnlyList<WatchEvent>>(events);
        }
        finally
        {
            _readers.Return(connection);
        }
    }

    /// <summary>
    /// The live keys under a prefix at a revision, in key order: for each name the newest row at or below the
    /// revision, unless that row is a tombstone. Key ranges are index ranges, never LIKE patterns.
    /// </summary>
    private static SqliteCommand LiveKeysCommand(
        SqliteConnection connection,
        SqliteTransaction transaction,
        string prefix,
        long revision,
        string? startAfterKey,
        bool count)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = (count ? "SELECT COUNT(*)" : "SELECT l.name, l.create_revision, l.id, l.value") + """

             FROM kv_log AS l
            WHERE l.name >= $prefix AND l.id <= $revision AND l.deleted = 0
              AND l.id = (SELECT MAX(n.id) FROM kv_log AS n WHERE n.name = l.name AND n.id <= $revision)
            """;
        AddUpperBound(command, "l.name", prefix);
        if (startAfterKey is not null)
        {
            command.CommandText += " AND l.name > $after";
            command.Parameters.AddWithValue("$after", startAfterKey);
        }

        if (!count)
        {
            command.CommandText += " ORDER BY l.name";
        }

        command.Parameters.AddWithValue("$prefix", prefix);
        command.Parameters.AddWithValue("$revision", revision);
        return command;
    }

    private static void AddUpperBound(SqliteCommand command, string column, string prefix)
    {
        var end = KeyOrder.PrefixEnd(prefix);
        if (end is not null)
        {
            command.CommandText += $" AND {column} < $prefix_end";
            command.Parameters.AddWithValue("$prefix_end", end);
        }
    }

    private SqliteCommand Prepare(string sql, params string[] parameterNames)
    {
        var command = _writeConnection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameterNames)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private SqliteConnection RentReader()
    {
        ThrowIfDisposed();
        return _readers.Rent();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private readonly record struct NewestRow(long Id, bool Deleted, long CreateRevision, ReadOnlyMemory<byte> Value)
    {
        public KeyValue ToKeyValue(string key) => new(key, Value, CreateRevision, Id);
    }
}
