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
}
