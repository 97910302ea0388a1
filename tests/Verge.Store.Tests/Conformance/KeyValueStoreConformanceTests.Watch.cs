namespace Verge.Store.Tests.Conformance;

public abstract partial class KeyValueStoreConformanceTests
{
    [Fact]
    public async Task Watch_DeliversEventsInRevisionOrderWithPreviousValues()
    {
        var store = await OpenAsync();
        long start = await store.GetCurrentRevisionAsync();
        using var cts = Guard();
        await using var watch = store.WatchAsync("/w/", start, cts.Token).GetAsyncEnumerator(cts.Token);
        var first = watch.MoveNextAsync();

        var a = await store.CreateAsync("/w/a", Bytes("a1"));
        var b = await store.CreateAsync("/w/b", Bytes("b1"));
        await store.CreateAsync("/x/outside", Bytes("x"));
        var a2 = await store.UpdateAsync("/w/a", Bytes("a2"), a.ModRevision);
        var bDeleted = await store.DeleteAsync("/w/b");

        var events = new List<WatchEvent>();
        Assert.True(await first);
        events.Add(watch.Current);
        while (events.Count < 4)
        {
            Assert.True(await watch.MoveNextAsync());
            events.Add(watch.Current);
        }

        Assert.Equal(
            [(WatchEventType.Created, "/w/a", a.ModRevision), (WatchEventType.Created, "/w/b", b.ModRevision),
             (WatchEventType.Modified, "/w/a", a2.ModRevision), (WatchEventType.Deleted, "/w/b", bDeleted.ModRevision)],
            events.Select(e => (e.Type, e.Current.Key, e.Revision)));
        Assert.Null(events[0].Previous);
        Assert.Equal("a1", Text(events[2].Previous!));
        Assert.Equal(a.ModRevision, events[2].Previous!.ModRevision);
        Assert.Equal("a2", Text(events[2].Current));
        Assert.Equal("b1", Text(events[3].Current));
        Assert.Equal("b1", Text(events[3].Previous!));
        Assert.Equal(b.ModRevision, events[3].Previous!.ModRevision);
    }

    [Fact]
    public async Task Watch_FromOldRevision_ReplaysHistoryWithSameEventsAsLive()
    {
        var store = await OpenAsync();
        using var cts = Guard();
        await using var live = store.WatchAsync("/h/", 0, cts.Token).GetAsyncEnumerator(cts.Token);
        var firstLive = live.MoveNextAsync();
        var a = await store.CreateAsync("/h/a", Bytes("1"));
        var a2 = await store.UpdateAsync("/h/a", Bytes("2"), a.ModRevision);
        await store.DeleteAsync("/h/a", a2.ModRevision);
        var liveEvents = new List<WatchEvent>();
        Assert.True(await firstLive);
        liveEvents.Add(live.Current);
        while (liveEvents.Count < 3)
        {
            Assert.True(await live.MoveNextAsync());
            liveEvents.Add(live.Current);
        }

        await using var replay = store.WatchAsync("/h/", 0, cts.Token).GetAsyncEnumerator(cts.Token);
        var replayed = new List<WatchEvent>();
        while (replayed.Count < 3)
        {
            Assert.True(await replay.MoveNextAsync());
            replayed.Add(replay.Current);
        }

        Assert.Equal(liveEvents.Select(Describe), replayed.Select(Describe));
    }

    [Fact]
    public async Task Watch_FromRevision_SwitchesFromHistoryToLiveWithoutGapOrDuplicate()
    {
        // At most 6,000 writes in all, so even a fast backend cannot push the watcher past its buffer.
        const int Writers = 4;
        const int MaxPerWriter = 1500;
        var store = await OpenAsync();
        for (int i = 0; i < 100; i++)
        {
            await store.CreateAsync($"/s/before-{i:D3}", Bytes("x"));
        }

        const long From = 10;
        using var stop = new CancellationTokenSource();
        int written = 0;
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < MaxPerWriter && !stop.IsCancellationRequested; i++)
            {
                await store.CreateAsync($"/s/w{w}-{i:D6}", Bytes("x"));
                Interlocked.Increment(ref written);
            }
        })).ToArray();

        // The watch replays history while the writers commit, crosses into live events, and keeps reading
        // while they still run; only then do the writers stop.
        using var cts = Guard();
        var revisions = new List<long>();
        long final = long.MaxValue;
        await foreach (var watchEvent in store.WatchAsync("/s/", From, cts.Token))
        {
            revisions.Add(watchEvent.Revision);
            if (final == long.MaxValue && revisions.Count >= 1000 && Volatile.Read(ref written) > 1000)
            {
                await stop.CancelAsync();
                await Task.WhenAll(writers);
                final = await store.GetCurrentRevisionAsync();
            }

            if (watchEvent.Revision >= final)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range((int)From + 1, (int)(final - From)).Select(i => (long)i), revisions);
    }

    [Fact]
    public async Task Watch_WhenWritesLandDuringHistoryReplay_DeliversEachEventOnce()
    {
        var store = await OpenAsync();
        for (int i = 0; i < 40; i++)
        {
            await store.CreateAsync($"/d/{i:D3}", Bytes("x"));
        }

        using var cts = Guard();
        await using var watch = store.WatchAsync("/d/", 0, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        var revisions = new List<long> { watch.Current.Revision };

        // The watch is subscribed and part-way through its history; these commits reach it both ways.
        for (int i = 40; i < 60; i++)
        {
            await store.CreateAsync($"/d/{i:D3}", Bytes("x"));
        }

        while (revisions.Count < 60)
        {
            Assert.True(await watch.MoveNextAsync());
            revisions.Add(watch.Current.Revision);
        }

        var next = watch.MoveNextAsync();
        var last = await store.CreateAsync("/d/last", Bytes("x"));
        Assert.True(await next);
        revisions.Add(watch.Current.Revision);
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i).Append(last.ModRevision), revisions);
    }

    [Fact]
    public async Task Watch_FromCompactedRevision_ThrowsRevisionCompacted()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/a", Bytes("1"));
        var a2 = await store.UpdateAsync("/a", Bytes("2"), a.ModRevision);
        await store.CompactAsync(a2.ModRevision);
        using var cts = Guard();

        var error = await Assert.ThrowsAsync<RevisionCompactedException>(async () =>
        {
            await foreach (var unused in store.WatchAsync("/", a.ModRevision, cts.Token))
            {
                Assert.Fail("no event may precede the compaction error");
            }
        });

        Assert.Equal(a2.ModRevision, error.CompactedRevision);
    }

    [Fact]
    public async Task Watch_AfterRestart_ResumesFromLastSeenRevisionExactly()
    {
        var store = await OpenAsync();
        long lastSeen;
        using (var cts = Guard())
        {
            await using var watch = store.WatchAsync("/r/", 0, cts.Token).GetAsyncEnumerator(cts.Token);
            var next = watch.MoveNextAsync();
            await store.CreateAsync("/r/a", Bytes("1"));
            Assert.True(await next);
            lastSeen = watch.Current.Revision;
        }

        var unseen = await store.CreateAsync("/r/b", Bytes("1"));
        await store.DisposeAsync();

        var reopened = await OpenAsync();
        var a = await reopened.GetAsync("/r/a");
        var a2 = await reopened.UpdateAsync("/r/a", Bytes("2"), a!.ModRevision);
        var resumed = new List<WatchEvent>();
        using (var cts = Guard())
        {
            await using var watch = reopened.WatchAsync("/r/", lastSeen, cts.Token).GetAsyncEnumerator(cts.Token);
            while (resumed.Count < 2)
            {
                Assert.True(await watch.MoveNextAsync());
                resumed.Add(watch.Current);
            }

            var more = watch.MoveNextAsync();
            var c = await reopened.CreateAsync("/r/c", Bytes("1"));
            Assert.True(await more);
            resumed.Add(watch.Current);
            Assert.Equal(c.ModRevision, watch.Current.Revision);
        }

        Assert.Equal(
            [(WatchEventType.Created, "/r/b", unseen.ModRevision), (WatchEventType.Modified, "/r/a", a2.ModRevision)],
            resumed.Take(2).Select(e => (e.Type, e.Current.Key, e.Revision)));
    }

    [Fact]
    public async Task Watch_WhenCancelled_EndsWithCancellation()
    {
        var store = await OpenAsync();
        using var cts = new CancellationTokenSource();
        await using var watch = store.WatchAsync("/", 0, cts.Token).GetAsyncEnumerator(cts.Token);
        var next = watch.MoveNextAsync();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
    }

    private static string Describe(WatchEvent e) =>
        $"{e.Type} {e.Current.Key}={Text(e.Current)}@{e.Current.CreateRevision}/{e.Revision} " +
        (e.Previous is null ? "-" : $"{Text(e.Previous)}@{e.Previous.CreateRevision}/{e.Previous.ModRevision}");
}
