using System.Text.Json;
using Microsoft.Data.Sqlite;
using Verge.Agent.Channel;
using Verge.Core.Core;
using Verge.Core.IO;
using Verge.Core.Serialization;

namespace Verge.Agent.State;

/// <summary>The keys a batch changed, raised after the batch is on disk.</summary>
internal sealed record DesiredStateChange(IReadOnlyList<DesiredKey> Keys, bool Snapshot);

/// <summary>
/// The node's durable state in SQLite (DataDir/agent.db, WAL, synchronous=FULL): the desired objects the control
/// plane sent (pods, configmaps, secrets, data rules, devices) with the revision they were applied at, and the tasks
/// the pod workers started. Reads are served from an in-memory copy loaded at open; every write goes to disk first.
/// </summary>
internal sealed class LocalState : IDesiredState, IDisposable
{
    private const string LastRevisionKey = "last_revision";

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private readonly Dictionary<DesiredKey, StoredObject> _objects = [];
    private readonly Dictionary<(string PodUid, string Container), TaskRecord> _tasks = [];
    private long _lastRevision;

    private readonly OwnerLock _owner;

    private LocalState(SqliteConnection connection, OwnerLock owner)
    {
        _connection = connection;
        _owner = owner;
    }

    /// <summary>Raised after every applied batch (on the caller's thread, outside any lock).</summary>
    public event Action<DesiredStateChange>? Changed;

    public long LastRevision
    {
        get
        {
            lock (_lock)
            {
                return _lastRevision;
            }
        }
    }

    public string DatabasePath { get; private init; } = "";

    /// <summary>Opens (creating when needed) DataDir/agent.db.</summary>
    public static LocalState Open(string dataDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDir);
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, "agent.db");

        // Two agents on one state directory would both start and stop the pods it records.
        var owner = OwnerLock.Acquire(path, $"the agent state directory {dataDir}");
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL;");
            Execute(connection, "PRAGMA synchronous=FULL;");
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS objects(
                    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                    revision INTEGER NOT NULL, json BLOB NOT NULL,
                    PRIMARY KEY(kind, namespace, name));
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS tasks(
                    pod_uid TEXT NOT NULL, container TEXT NOT NULL, record BLOB NOT NULL,
                    PRIMARY KEY(pod_uid, container));
                """);
            var state = new LocalState(connection, owner) { DatabasePath = path };
            state.Load();
            return state;
        }
        catch
        {
            connection.Dispose();
            owner.Dispose();
            throw;
        }
    }

    public IReadOnlyCollection<DesiredKey> HeldKeys()
    {
        lock (_lock)
        {
            return [.. _objects.Keys];
        }
    }

    public Task ApplyAsync(DesiredBatch batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ct.ThrowIfCancellationRequested();
        foreach (var change in batch.Changes)
        {
            if (change.Key is null)
            {
                throw new ArgumentException("A desired change has no key.", nameof(batch));
            }

            if (!change.Deleted && change.Json is null)
            {
                throw new ArgumentException($"The change of {Describe(change.Key)} is not a deletion but has no JSON.", nameof(batch));
            }
        }

        var changed = new List<DesiredKey>();
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            if (batch.Snapshot)
            {
                var named = batch.Changes.Where(c => !c.Deleted).Select(c => c.Key).ToHashSet();
                foreach (var key in _objects.Keys.Where(k => !named.Contains(k)).ToList())
                {
                    Delete(tx, key);
                    changed.Add(key);
                }
            }

            foreach (var change in batch.Changes)
            {
                if (change.Deleted)
                {
                    Delete(tx, change.Key);
                }
                else
                {
                    using var cmd = _connection.CreateCommand();
                    cmd.Transaction = tx;
                    cmd.CommandText = """
                        INSERT INTO objects(kind, namespace, name, revision, json) VALUES($k, $ns, $n, $r, $j)
                        ON CONFLICT(kind, namespace, name) DO UPDATE SET revision = $r, json = $j;
                        """;
                    AddKey(cmd, change.Key);
                    cmd.Parameters.AddWithValue("$r", change.Revision);
                    cmd.Parameters.AddWithValue("$j", change.Json!);
                    cmd.ExecuteNonQuery();
                }

                changed.Add(change.Key);
            }

            SetMeta(tx, LastRevisionKey, batch.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture));
            tx.Commit();

            if (batch.Snapshot)
            {
                _objects.Clear();
            }

            foreach (var change in batch.Changes)
            {
                if (change.Deleted)
                {
                    _objects.Remove(change.Key);
                }
                else
                {
                    _objects[change.Key] = new StoredObject(change.Revision, change.Json!);
                }
            }

            _lastRevision = batch.Revision;
        }

        Changed?.Invoke(new DesiredStateChange(changed, batch.Snapshot));
        return Task.CompletedTask;
    }

    /// <summary>The raw JSON of one held object, or null.</summary>
    public byte[]? GetJson(DesiredKey key)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(key, out var stored) ? stored.Json : null;
        }
    }

    /// <summary>Every held object of a kind, as raw JSON (data rules and devices are kept for the gateway).</summary>
    public IReadOnlyList<KeyValuePair<DesiredKey, byte[]>> List(DesiredKind kind)
    {
        lock (_lock)
        {
            return [.. _objects.Where(o => o.Key.Kind == kind).Select(o => KeyValuePair.Create(o.Key, o.Value.Json))];
        }
    }

    /// <summary>The desired pods. An object that does not parse is skipped (it cannot be run) and reported.</summary>
    public IReadOnlyList<Pod> ListPods(Action<DesiredKey, Exception>? onInvalid = null)
    {
        var pods = new List<Pod>();
        foreach (var (key, json) in List(DesiredKind.Pod))
        {
            try
            {
                var pod = JsonSerializer.Deserialize(json, NodeJson.TypeInfo<Pod>());
                if (pod is not null)
                {
                    pod.Metadata.Namespace ??= key.Namespace;
                    pod.Metadata.Name ??= key.Name;
                    pods.Add(pod);
                }
            }
            catch (JsonException e)
            {
                onInvalid?.Invoke(key, e);
            }
        }

        return pods;
    }

    public Pod? GetPod(string podNamespace, string name) => Read(new DesiredKey(DesiredKind.Pod, podNamespace, name), NodeJson.TypeInfo<Pod>());

    public ConfigMap? GetConfigMap(string configMapNamespace, string name) =>
        Read(new DesiredKey(DesiredKind.ConfigMap, configMapNamespace, name), NodeJson.TypeInfo<ConfigMap>());

    public Secret? GetSecret(string secretNamespace, string name) =>
        Read(new DesiredKey(DesiredKind.Secret, secretNamespace, name), NodeJson.TypeInfo<Secret>());

    public IReadOnlyList<TaskRecord> ListTasks(string? podUid = null)
    {
        lock (_lock)
        {
            return [.. _tasks.Values.Where(t => podUid is null || t.PodUid == podUid)];
        }
    }

    public TaskRecord? GetTask(string podUid, string container)
    {
        lock (_lock)
        {
            return _tasks.GetValueOrDefault((podUid, container));
        }
    }

    /// <summary>Writes one task record; returns once it is on disk.</summary>
    public void SaveTask(TaskRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, AgentStateJsonContext.Default.TaskRecord);
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = """
                INSERT INTO tasks(pod_uid, container, record) VALUES($p, $c, $r)
                ON CONFLICT(pod_uid, container) DO UPDATE SET record = $r;
                """;
            cmd.Parameters.AddWithValue("$p", record.PodUid);
            cmd.Parameters.AddWithValue("$c", record.Container);
            cmd.Parameters.AddWithValue("$r", json);
            cmd.ExecuteNonQuery();
            _tasks[(record.PodUid, record.Container)] = record;
        }
    }

    /// <summary>Forgets every task of a pod (once it has been cleaned up).</summary>
    public void DeleteTasks(string podUid)
    {
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "DELETE FROM tasks WHERE pod_uid = $p;";
            cmd.Parameters.AddWithValue("$p", podUid);
            cmd.ExecuteNonQuery();
            foreach (var key in _tasks.Keys.Where(k => k.PodUid == podUid).ToList())
            {
                _tasks.Remove(key);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _connection.Dispose();
            _owner.Dispose();
        }
    }

    private static string Describe(DesiredKey key) =>
        key.Namespace.Length == 0 ? $"{key.Kind} {key.Name}" : $"{key.Kind} {key.Namespace}/{key.Name}";

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static void AddKey(SqliteCommand cmd, DesiredKey key)
    {
        cmd.Parameters.AddWithValue("$k", key.Kind.ToString());
        cmd.Parameters.AddWithValue("$ns", key.Namespace ?? "");
        cmd.Parameters.AddWithValue("$n", key.Name);
    }

    private T? Read<T>(DesiredKey key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        var json = GetJson(key);
        if (json is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Delete(SqliteTransaction tx, DesiredKey key)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM objects WHERE kind = $k AND namespace = $ns AND name = $n;";
        AddKey(cmd, key);
        cmd.ExecuteNonQuery();
    }

    private void SetMeta(SqliteTransaction tx, string key, string value)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO meta(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value = $v;";
        cmd.Parameters.AddWithValue("$k", key);
        cmd.Parameters.AddWithValue("$v", value);
        cmd.ExecuteNonQuery();
    }

    private void Load()
    {
        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT kind, namespace, name, revision, json FROM objects;";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                if (!Enum.TryParse<DesiredKind>(reader.GetString(0), out var kind))
                {
                    continue;
                }

                var key = new DesiredKey(kind, reader.GetString(1), reader.GetString(2));
                _objects[key] = new StoredObject(reader.GetInt64(3), (byte[])reader.GetValue(4));
            }
        }

        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT value FROM meta WHERE key = $k;";
            cmd.Parameters.AddWithValue("$k", LastRevisionKey);
            if (cmd.ExecuteScalar() is string text && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var revision))
            {
                _lastRevision = revision;
            }
        }

        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT record FROM tasks;";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var record = JsonSerializer.Deserialize((byte[])reader.GetValue(0), AgentStateJsonContext.Default.TaskRecord);
                if (record is not null)
                {
                    _tasks[(record.PodUid, record.Container)] = record;
                }
            }
        }
    }

    private sealed record StoredObject(long Revision, byte[] Json);
}
