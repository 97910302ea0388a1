namespace Verge.Store.Tests;

/// <summary>A watcher that stops reading gets every buffered event, then a visible overflow, never a silent gap.</summary>
internal static class WatchOverflowScenario
{
    public static async Task RunAsync(IKeyValueStore store, int bufferSize)
    {
        await using var owned = store;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var first = await store.CreateAsync("/o/0", new byte[] { 0 });
        await using var watch = store.WatchAsync("/o/", 0, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(first.ModRevision, watch.Current.Revision);

        // The watcher is subscribed and idle; the writer must not wait for it.
        for (int i = 1; i <= bufferSize * 3; i++)
        {
            await store.CreateAsync($"/o/{i}", new[] { (byte)i });
        }

        var delivered = new List<long>();
        var overflow = await Assert.ThrowsAsync<WatchOverflowException>(async () =>
        {
            while (await watch.MoveNextAsync())
            {
                delivered.Add(watch.Current.Revision);
            }
        });

        Assert.Equal(Enumerable.Range(2, bufferSize).Select(i => (long)i), delivered);
        Assert.Equal(delivered[^1], overflow.LastDeliveredRevision);

        // Watching again from the last revision received picks up exactly where the first watch ended.
        await using var again = store.WatchAsync("/o/", delivered[^1], cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await again.MoveNextAsync());
        Assert.Equal(delivered[^1] + 1, again.Current.Revision);
    }
}
