using Microsoft.Data.Sqlite;

namespace Verge.Store.Sqlite;

/// <summary>
/// The on-disk layout: one log table in the kine model. Every write appends a row whose id is its revision; the
/// newest row of a name is the key's current value (or a tombstone when <c>deleted</c> is 1). Names compare with
/// SQLite's BINARY collation, i.e. UTF-8 byte order.
/// </summary>
internal static class Schema
{
    public const int Version = 1;

    public const string CompactRevisionName = "compact_revision";

    private const string CreateStatements = """
        CREATE TABLE IF NOT EXISTS kv_log (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            created INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            create_revision INTEGER NOT NULL,
            prev_revision INTEGER NOT NULL,
            value BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS kv_log_name_id ON kv_log (name, id, deleted);
        CREATE TABLE IF NOT EXISTS kv_meta (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO kv_meta (name, value) VALUES ('compact_revision', 0);
        """;

    public static void Apply(SqliteConnection connection)
    {
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA user_version;";
        long version = (long)check.ExecuteScalar()!;
        if (version > Version)
        {
            throw new InvalidOperationException($"the database has schema version {version}; this build knows {Version}");
        }

        using var transaction = connection.BeginTransaction();
        using var create = connection.CreateCommand();
        create.Transaction = transaction;
        create.CommandText = CreateStatements + $"PRAGMA user_version = {Version};";
        create.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>The newest revision and the compacted revision, read in the caller's snapshot.</summary>
    public static (long Current, long Compacted) ReadRevisions(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT (SELECT IFNULL(MAX(id), 0) FROM kv_log),
                   (SELECT value FROM kv_meta WHERE name = 'compact_revision');
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        long newestRow = reader.GetInt64(0);
        long compacted = reader.GetInt64(1);

        // Compaction may delete the newest row (a tombstone); revisions never go back below the compacted one.
        return (Math.Max(newestRow, compacted), compacted);
    }
}
