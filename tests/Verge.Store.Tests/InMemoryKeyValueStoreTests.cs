using Verge.Store.Tests.Conformance;

namespace Verge.Store.Tests;

public sealed class InMemoryKeyValueStoreTests : KeyValueStoreConformanceTests
{
    private readonly Dictionary<string, InMemoryKeyValueStore> _stores = [];

    protected override ValueTask<IKeyValueStore> OpenStoreAsync(string name)
    {
        var store = _stores.TryGetValue(name, out var previous)
            ? InMemoryKeyValueStore.Reopen(previous)
            : new InMemoryKeyValueStore();
        _stores[name] = store;
        return ValueTask.FromResult<IKeyValueStore>(store);
    }

    [Fact]
    public Task Watch_WhenWatcherFallsBehind_EndsWithOverflowAfterEveryBufferedEvent() =>
        WatchOverflowScenario.RunAsync(new InMemoryKeyValueStore(watchBufferSize: 4), bufferSize: 4);
}
