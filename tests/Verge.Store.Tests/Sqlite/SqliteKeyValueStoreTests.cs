using Verge.Store.Sqlite;
using Verge.Store.Tests.Conformance;

namespace Verge.Store.Tests.Sqlite;

public sealed class SqliteKeyValueStoreTests : KeyValueStoreConformanceTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-store-").FullName;

    // A small history page makes every watch test cross page boundaries and the history-to-live switch.
    protected override async ValueTask<IKeyValueStore> OpenStoreAsync(string name) =>
        await SqliteKeyValueStore.OpenAsync(Path.Combine(_directory, name + ".db"), new SqliteStoreOptions { WatchHistoryPageSize = 16 });

    protected override ValueTask CleanupAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Watch_WhenWatcherFallsBehind_EndsWithOverflowAfterEveryBufferedEvent()
    {
        var store = await SqliteKeyValueStore.OpenAsync(
            Path.Combine(_directory, "overflow.db"), new SqliteStoreOptions { WatchBufferSize = 4 });
        await WatchOverflowScenario.RunAsync(store, bufferSize: 4);
    }

    [Fact]
    public async Task GetAndUpdate_OfAKeyThisStoreWrote_AreServedFromMemory()
    {
        var path = Path.Combine(_directory, "latest.db");
        await using var store = await SqliteKeyValueStore.OpenAsync(path);
        var written = await store.CreateAsync("/a", new byte[] { 1 });
        await WriteBehindTheStoreAsync(path, "/a", id: written.ModRevision + 10, value: 9);

        // The row added behind the store's back is newer in the file; the read and the writer's compare-and-swap
        // go by what the store wrote.
        var read = await store.GetAsync("/a");
        Assert.Equal(new byte[] { 1 }, read!.Value.ToArray());
        Assert.Equal(written.ModRevision, read.ModRevision);
        var updated = await store.UpdateAsync("/a", new byte[] { 2 }, written.ModRevision);
        Assert.Equal(written.CreateRevision, updated.CreateRevision);
    }

    [Fact]
    public async Task Get_WhenTheLatestValuesAreFull_StartsThemAfreshAndReadsOlderKeysFromTheFile()
    {
        var path = Path.Combine(_directory, "latest-full.db");
        await using var store = await SqliteKeyValueStore.OpenAsync(path, new SqliteStoreOptions { LatestValueCacheSize = 2 });
        await store.CreateAsync("/a", new byte[] { 1 });
        await store.CreateAsync("/b", new byte[] { 2 });
        await store.UpdateAsync("/b", new byte[] { 3 }, (await store.GetAsync("/b"))!.ModRevision);
        var c = await store.CreateAsync("/c", new byte[] { 4 });
        await WriteBehindTheStoreAsync(path, "/a", id: c.ModRevision + 10, value: 9);
        await WriteBehindTheStoreAsync(path, "/c", id: c.ModRevision + 11, value: 9);

        // The third key started them afresh with itself alone.
        Assert.Equal(new byte[] { 9 }, (await store.GetAsync("/a"))!.Value.ToArray());
        Assert.Equal(new byte[] { 4 }, (await store.GetAsync("/c"))!.Value.ToArray());
    }

    [Fact]
    public async Task Get_WithoutLatestValues_ReadsTheFile()
    {
        var path = Path.Combine(_directory, "latest-off.db");
        await using var store = await SqliteKeyValueStore.OpenAsync(path, new SqliteStoreOptions { LatestValueCacheSize = 0 });
        var written = await store.CreateAsync("/a", new byte[] { 1 });
        await WriteBehindTheStoreAsync(path, "/a", id: written.ModRevision + 10, value: 9);

        Assert.Equal(new byte[] { 9 }, (await store.GetAsync("/a"))!.Value.ToArray());
    }

    [Fact]
    public async Task Get_AfterAFailedUpdateAndADelete_SeesWhatWasCommitted()
    {
        var path = Path.Combine(_directory, "latest-outcomes.db");
        await using var store = await SqliteKeyValueStore.OpenAsync(path);
        var created = await store.CreateAsync("/a", new byte[] { 1 });
        await Assert.ThrowsAsync<RevisionConflictException>(async () => await store.UpdateAsync("/a", new byte[] { 2 }, created.ModRevision + 5));
        Assert.Equal(new byte[] { 1 }, (await store.GetAsync("/a"))!.Value.ToArray());

        await store.DeleteAsync("/a");
        Assert.Null(await store.GetAsync("/a"));
        await store.CreateAsync("/a", new byte[] { 3 });
        Assert.Equal(new byte[] { 3 }, (await store.GetAsync("/a"))!.Value.ToArray());
    }

    [Fact]
    public async Task Open_WithANegativeLatestValueCacheSize_IsRefused() =>
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            SqliteKeyValueStore.OpenAsync(Path.Combine(_directory, "bad.db"), new SqliteStoreOptions { LatestValueCacheSize = -1 }));

    [Fact]
    public async Task Open_WhenFileExists_UsesWriteAheadLogWithFullSync()
    {
        var path = Path.Combine(_directory, "pragmas.db");
        await using (var store = await SqliteKeyValueStore.OpenAsync(path))
        {
            await store.CreateAsync("/a", new byte[] { 1 });
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    // Another writer of the same file, which the store does not expect: it shows where a read was served from.
    private static async Task WriteBehindTheStoreAsync(string path, string key, long id, byte value)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO kv_log (id, name, created, deleted, create_revision, prev_revision, value)
            VALUES ($id, $name, 0, 0, 1, 0, $value);
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$name", key);
        command.Parameters.AddWithValue("$value", new[] { value });
        await command.ExecuteNonQueryAsync();
    }
}
