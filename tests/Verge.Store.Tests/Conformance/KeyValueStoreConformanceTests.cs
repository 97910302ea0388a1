using System.Text;

namespace Verge.Store.Tests.Conformance;

/// <summary>
/// The behaviour every <see cref="IKeyValueStore"/> backend must show. A backend's test class derives from this one
/// and says how to open a store by name: the first open of a name gives an empty store, and opening the same name
/// again after disposing the previous instance gives the same data back (a restart).
/// </summary>
public abstract partial class KeyValueStoreConformanceTests : IAsyncLifetime
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);
    private readonly List<IKeyValueStore> _opened = [];

    /// <summary>Opens the store called <paramref name="name"/>; see the class remarks.</summary>
    protected abstract ValueTask<IKeyValueStore> OpenStoreAsync(string name);

    /// <summary>Releases whatever the backend's stores held (files, servers) once every store is disposed.</summary>
    protected virtual ValueTask CleanupAsync() => ValueTask.CompletedTask;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        await CleanupAsync();
    }

    protected async Task<IKeyValueStore> OpenAsync(string name = "main")
    {
        var store = await OpenStoreAsync(name);
        _opened.Add(store);
        return store;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(KeyValue kv) => Encoding.UTF8.GetString(kv.Value.Span);

    private static CancellationTokenSource Guard() => new(HangGuard);

    [Fact]
    public async Task Create_ThenGet_ReturnsValueAndRevisions()
    {
        var store = await OpenAsync();

        var created = await store.CreateAsync("/registry/pods/default/web-1", Bytes("v1"));
        var read = await store.GetAsync("/registry/pods/default/web-1");

        Assert.NotNull(read);
        Assert.Equal("v1", Text(read));
        Assert.Equal(created.ModRevision, created.CreateRevision);
        Assert.Equal(created.ModRevision, read.ModRevision);
        Assert.Equal(created.CreateRevision, read.CreateRevision);
        Assert.Equal(created.ModRevision, await store.GetCurrentRevisionAsync());
    }

    [Fact]
    public async Task Create_WhenKeyExists_ThrowsKeyExistsAndKeepsValue()
    {
        var store = await OpenAsync();
        await store.CreateAsync("/a", Bytes("first"));

        var error = await Assert.ThrowsAsync<KeyExistsException>(async () => await store.CreateAsync("/a", Bytes("second")));

        Assert.Equal("/a", error.Key);
        Assert.Equal("first", Text((await store.GetAsync("/a"))!));
    }

    [Fact]
    public async Task Get_WhenKeyMissing_ReturnsNull()
    {
        var store = await OpenAsync();
        await store.CreateAsync("/a", Bytes("x"));

        Assert.Null(await store.GetAsync("/b"));
        Assert.Null(await store.GetAsync("/a/"));
    }

    [Fact]
    public async Task Update_WithCurrentRevision_ReplacesValueAndKeepsCreateRevision()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));

        var updated = await store.UpdateAsync("/a", Bytes("v2"), created.ModRevision);

        Assert.Equal(created.CreateRevision, updated.CreateRevision);
        Assert.True(updated.ModRevision > created.ModRevision);
        var read = await store.GetAsync("/a");
        Assert.Equal("v2", Text(read!));
        Assert.Equal(updated.ModRevision, read!.ModRevision);
    }

    [Fact]
    public async Task Update_WithStaleRevision_ThrowsConflictCarryingCurrent()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));
        var updated = await store.UpdateAsync("/a", Bytes("v2"), created.ModRevision);

        var conflict = await Assert.ThrowsAsync<RevisionConflictException>(
            async () => await store.UpdateAsync("/a", Bytes("v3"), created.ModRevision));

        Assert.Equal(created.ModRevision, conflict.ExpectedRevision);
        Assert.Equal(updated.ModRevision, conflict.Current.ModRevision);
        Assert.Equal("v2", Text(conflict.Current));
        Assert.Equal("v2", Text((await store.GetAsync("/a"))!));
    }

    [Fact]
    public async Task Update_WhenKeyMissingOrDeleted_ThrowsNotFound()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));
        await store.DeleteAsync("/a", created.ModRevision);

        await Assert.ThrowsAsync<KeyNotFoundStoreException>(async () => await store.UpdateAsync("/b", Bytes("x"), 1));
        await Assert.ThrowsAsync<KeyNotFoundStoreException>(
            async () => await store.UpdateAsync("/a", Bytes("x"), created.ModRevision));
    }

    [Fact]
    public async Task Delete_ReturnsDeletedValueAtTheDeleteRevision()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));

        var deleted = await store.DeleteAsync("/a", created.ModRevision);

        Assert.Equal("v1", Text(deleted));
        Assert.Equal(created.CreateRevision, deleted.CreateRevision);
        Assert.True(deleted.ModRevision > created.ModRevision);
        Assert.Equal(deleted.ModRevision, await store.GetCurrentRevisionAsync());
        Assert.Null(await store.GetAsync("/a"));
    }

    [Fact]
    public async Task Delete_WithStaleRevision_ThrowsConflictAndKeepsKey()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));
        var updated = await store.UpdateAsync("/a", Bytes("v2"), created.ModRevision);

        var conflict = await Assert.ThrowsAsync<RevisionConflictException>(
            async () => await store.DeleteAsync("/a", created.ModRevision));

        Assert.Equal(updated.ModRevision, conflict.Current.ModRevision);
        Assert.NotNull(await store.GetAsync("/a"));
    }

    [Fact]
    public async Task Delete_WithoutExpectedRevision_DeletesAnyVersion()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));
        await store.UpdateAsync("/a", Bytes("v2"), created.ModRevision);

        var deleted = await store.DeleteAsync("/a");

        Assert.Equal("v2", Text(deleted));
        Assert.Null(await store.GetAsync("/a"));
    }

    [Fact]
    public async Task Delete_WhenKeyMissing_ThrowsNotFound()
    {
        var store = await OpenAsync();
        var created = await store.CreateAsync("/a", Bytes("v1"));
        await store.DeleteAsync("/a");

        await Assert.ThrowsAsync<KeyNotFoundStoreException>(async () => await store.DeleteAsync("/a"));
        await Assert.ThrowsAsync<KeyNotFoundStoreException>(async () => await store.DeleteAsync("/never", created.ModRevision));
    }

    [Fact]
    public async Task Create_AfterDelete_StartsANewLifeWithNewCreateRevision()
    {
        var store = await OpenAsync();
        var first = await store.CreateAsync("/a", Bytes("v1"));
        await store.DeleteAsync("/a");

        var second = await store.CreateAsync("/a", Bytes("v2"));

        Assert.True(second.CreateRevision > first.CreateRevision);
        Assert.Equal(second.ModRevision, second.CreateRevision);
        Assert.Equal("v2", Text((await store.GetAsync("/a"))!));
    }

    [Fact]
    public async Task Revisions_AreGlobalStrictlyIncreasingAndSkipFailedWrites()
    {
        var store = await OpenAsync();
        Assert.Equal(0, await store.GetCurrentRevisionAsync());

        var a = await store.CreateAsync("/a", Bytes("1"));
        await Assert.ThrowsAsync<KeyExistsException>(async () => await store.CreateAsync("/a", Bytes("1")));
        var b = await store.CreateAsync("/b", Bytes("1"));
        await Assert.ThrowsAsync<RevisionConflictException>(async () => await store.UpdateAsync("/a", Bytes("2"), b.ModRevision));
        var a2 = await store.UpdateAsync("/a", Bytes("2"), a.ModRevision);
        var b2 = await store.DeleteAsync("/b");

        Assert.Equal(a.ModRevision + 1, b.ModRevision);
        Assert.Equal(b.ModRevision + 1, a2.ModRevision);
        Assert.Equal(a2.ModRevision + 1, b2.ModRevision);
        Assert.Equal(b2.ModRevision, await store.GetCurrentRevisionAsync());
    }

    [Fact]
    public async Task List_WithPrefix_MatchesOnlyKeysUnderThePrefix()
    {
        var store = await OpenAsync();
        foreach (var key in new[]
        {
            "/registry/pods", "/registry/pods/", "/registry/pods/default/a", "/registry/pods/kube-system/b",
            "/registry/pods2/default/c", "/registry/pods.x", "/registry/pod", "/registry/podsa", "/registry/pods0",
        })
        {
            await store.CreateAsync(key, Bytes(key));
        }

        var result = await store.ListAsync("/registry/pods/");

        Assert.Equal(
            ["/registry/pods/", "/registry/pods/default/a", "/registry/pods/kube-system/b"],
            result.Items.Select(i => i.Key));
        Assert.False(result.HasMore);
        Assert.Equal(3, await store.CountAsync("/registry/pods/"));
        Assert.Equal(9, await store.CountAsync(string.Empty));
        Assert.Equal(9, (await store.ListAsync(string.Empty)).Items.Count);
    }

    [Fact]
    public async Task List_OrdersKeysByUtf8Bytes()
    {
        var store = await OpenAsync();
        string[] keys = ["/k/\U0001F600", "/k/\uFFFD", "/k/z", "/k/A", "/k/\u00E9", "/k/a"];
        foreach (var key in keys)
        {
            await store.CreateAsync(key, Bytes("x"));
        }

        var listed = (await store.ListAsync("/k/")).Items.Select(i => i.Key).ToList();

        var byBytes = keys.OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();
        Assert.Equal(byBytes, listed);

        var emoji = await store.ListAsync("/k/\U0001F600");
        Assert.Equal(["/k/\U0001F600"], emoji.Items.Select(i => i.Key));
    }

    [Fact]
    public async Task List_WithLimitAndStartAfterKey_VisitsEveryKeyExactlyOnce()
    {
        var store = await OpenAsync();
        var expected = new List<string>();
        for (int i = 0; i < 25; i++)
        {
            var key = $"/registry/configmaps/ns/cm-{i:D2}";
            expected.Add(key);
            await store.CreateAsync(key, Bytes(i.ToString()));
        }

        await store.CreateAsync("/registry/configmapsx", Bytes("outside"));
        var seen = new List<string>();
        string? after = null;
        long revision = 0;
        while (true)
        {
            var page = await store.ListAsync("/registry/configmaps/", revision, limit: 7, startAfterKey: after);
            revision = page.Revision;
            Assert.True(page.Items.Count <= 7);
            seen.AddRange(page.Items.Select(i => i.Key));
            Assert.Equal(expected.Count - seen.Count, page.RemainingCount ?? expected.Count - seen.Count);
            Assert.Equal(seen.Count < expected.Count, page.HasMore);

            // Writes between pages do not show up in a list pinned at the first page's revision.
            await store.CreateAsync($"/registry/configmaps/ns/late-{seen.Count}", Bytes("late"));
            if (!page.HasMore)
            {
                break;
            }

            after = page.Items[^1].Key;
        }

        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task List_AtOldRevision_SeesOldValuesAndNotLaterWrites()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/r/a", Bytes("a1"));
        var b = await store.CreateAsync("/r/b", Bytes("b1"));
        long then = b.ModRevision;
        await store.UpdateAsync("/r/a", Bytes("a2"), a.ModRevision);
        await store.DeleteAsync("/r/b");
        await store.CreateAsync("/r/c", Bytes("c1"));

        var old = await store.ListAsync("/r/", then);
        var now = await store.ListAsync("/r/");

        Assert.Equal(then, old.Revision);
        Assert.Equal(["/r/a=a1@" + a.ModRevision, "/r/b=b1@" + b.ModRevision], old.Items.Select(i => $"{i.Key}={Text(i)}@{i.ModRevision}"));
        Assert.Equal(["/r/a=a2", "/r/c=c1"], now.Items.Select(i => $"{i.Key}={Text(i)}"));
        Assert.Equal(await store.GetCurrentRevisionAsync(), now.Revision);
    }

    [Fact]
    public async Task List_AtFutureRevision_ThrowsFutureRevision()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/a", Bytes("1"));

        var error = await Assert.ThrowsAsync<FutureRevisionException>(async () => await store.ListAsync("/", a.ModRevision + 1));

        Assert.Equal(a.ModRevision, error.CurrentRevision);
    }

    [Fact]
    public async Task List_AtCompactedRevision_ThrowsRevisionCompacted()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/a", Bytes("1"));
        var a2 = await store.UpdateAsync("/a", Bytes("2"), a.ModRevision);
        await store.CreateAsync("/b", Bytes("1"));
        await store.CompactAsync(a2.ModRevision);

        var error = await Assert.ThrowsAsync<RevisionCompactedException>(async () => await store.ListAsync("/", a.ModRevision));

        Assert.Equal(a2.ModRevision, error.CompactedRevision);
        var atCompacted = await store.ListAsync("/", a2.ModRevision);
        Assert.Equal(["/a=2"], atCompacted.Items.Select(i => $"{i.Key}={Text(i)}"));
    }

    [Fact]
    public async Task Compact_KeepsCurrentValuesAndRemovesHistory()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/c/a", Bytes("a1"));
        var a2 = await store.UpdateAsync("/c/a", Bytes("a2"), a.ModRevision);
        var b = await store.CreateAsync("/c/b", Bytes("b1"));
        await store.DeleteAsync("/c/b", b.ModRevision);
        var d = await store.CreateAsync("/c/d", Bytes("d1"));
        var c = await store.CreateAsync("/c/c", Bytes("c1"));
        long compactAt = c.ModRevision;
        var d2 = await store.UpdateAsync("/c/d", Bytes("d2"), d.ModRevision);

        await store.CompactAsync(compactAt);

        Assert.Equal(compactAt, await store.GetCompactedRevisionAsync());
        Assert.Equal(d2.ModRevision, await store.GetCurrentRevisionAsync());
        Assert.Equal(["/c/a=a2@" + a2.ModRevision, "/c/c=c1@" + c.ModRevision, "/c/d=d2@" + d2.ModRevision],
            (await store.ListAsync("/c/")).Items.Select(i => $"{i.Key}={Text(i)}@{i.ModRevision}"));
        Assert.Equal(["/c/a=a2", "/c/c=c1", "/c/d=d1"],
            (await store.ListAsync("/c/", compactAt)).Items.Select(i => $"{i.Key}={Text(i)}"));
        await Assert.ThrowsAsync<RevisionCompactedException>(async () => await store.ListAsync("/c/", compactAt - 1));
        Assert.Null(await store.GetAsync("/c/b"));
        Assert.Equal(a.CreateRevision, (await store.GetAsync("/c/a"))!.CreateRevision);

        // History after the compacted revision is intact, previous values included.
        using var cts = Guard();
        await using var watch = store.WatchAsync("/c/", compactAt, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(WatchEventType.Modified, watch.Current.Type);
        Assert.Equal("d1", Text(watch.Current.Previous!));

        // Compacting again at or below the compacted revision changes nothing; writes go on.
        await store.CompactAsync(compactAt - 1);
        Assert.Equal(compactAt, await store.GetCompactedRevisionAsync());
        var e = await store.CreateAsync("/c/e", Bytes("e1"));
        Assert.Equal(d2.ModRevision + 1, e.ModRevision);
        await Assert.ThrowsAsync<FutureRevisionException>(async () => await store.CompactAsync(e.ModRevision + 1));
    }

    [Fact]
    public async Task Compact_OfTrailingTombstone_NeverReusesRevisionsAcrossRestart()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/a", Bytes("1"));
        var deleted = await store.DeleteAsync("/a", a.ModRevision);
        await store.CompactAsync(deleted.ModRevision);
        await store.DisposeAsync();

        var reopened = await OpenAsync();

        Assert.Equal(deleted.ModRevision, await reopened.GetCurrentRevisionAsync());
        Assert.Equal(deleted.ModRevision, await reopened.GetCompactedRevisionAsync());
        var next = await reopened.CreateAsync("/a", Bytes("2"));
        Assert.Equal(deleted.ModRevision + 1, next.ModRevision);
    }

    [Fact]
    public async Task Restart_KeepsEveryValueAndRevision()
    {
        var store = await OpenAsync();
        var a = await store.CreateAsync("/a", Bytes("1"));
        var a2 = await store.UpdateAsync("/a", Bytes("2"), a.ModRevision);
        var b = await store.CreateAsync("/b", Bytes("1"));
        await store.DisposeAsync();

        var reopened = await OpenAsync();

        Assert.Equal(b.ModRevision, await reopened.GetCurrentRevisionAsync());
        Assert.Equal(a2, await reopened.GetAsync("/a"), KeyValueComparer.Instance);
        Assert.Equal(["/a=1"], (await reopened.ListAsync("/", a.ModRevision)).Items.Select(i => $"{i.Key}={Text(i)}"));
    }
}
