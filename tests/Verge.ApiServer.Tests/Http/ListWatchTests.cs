using System.Net;
using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.Http;

public sealed class ListWatchTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    private async Task CreateNamespaceAsync(string name)
    {
        var response = await _client.PostAsync("/api/v1/namespaces", Api.Json($$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{name}}}"}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task List_WithLimitAndContinue_VisitsEveryItemOnce()
    {
        await CreateNamespaceAsync("paging");
        for (var i = 0; i < 23; i++)
        {
            await _client.PostAsync("/api/v1/namespaces/paging/configmaps", Api.Json(Api.ConfigMap($"cm-{i:D2}")));
        }

        var seen = new List<string>();
        string? token = null;
        string? listRv = null;
        do
        {
            var url = "/api/v1/namespaces/paging/configmaps?limit=5" + (token is null ? "" : "&continue=" + Uri.EscapeDataString(token));
            var page = await (await _client.GetAsync(url)).ReadObjectAsync();
            Assert.Equal("ConfigMapList", page["kind"]!.GetValue<string>());
            listRv ??= page["metadata"]!["resourceVersion"]!.GetValue<string>();
            Assert.Equal(listRv, page["metadata"]!["resourceVersion"]!.GetValue<string>());
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
            token = page["metadata"]!["continue"]?.GetValue<string>();
            if (token is not null)
            {
                // Writes between pages do not show up in a paged list: it reads one revision.
                await _client.PostAsync("/api/v1/namespaces/paging/configmaps", Api.Json(Api.ConfigMap($"late-{seen.Count}")));
            }
        }
        while (token is not null);

        Assert.Equal(Enumerable.Range(0, 23).Select(i => $"cm-{i:D2}"), seen);
    }

    [Fact]
    public async Task List_WithContinueTokenOlderThanCompaction_IsGone()
    {
        await CreateNamespaceAsync("compacted");
        for (var i = 0; i < 4; i++)
        {
            await _client.PostAsync("/api/v1/namespaces/compacted/configmaps", Api.Json(Api.ConfigMap($"c-{i}")));
        }

        var page = await (await _client.GetAsync("/api/v1/namespaces/compacted/configmaps?limit=2")).ReadObjectAsync();
        var token = page["metadata"]!["continue"]!.GetValue<string>();
        await _client.PostAsync("/api/v1/namespaces/compacted/configmaps", Api.Json(Api.ConfigMap("after")));
        var store = (Verge.Store.IKeyValueStore)server.Host.Services.GetService(typeof(Verge.Store.IKeyValueStore))!;
        await store.CompactAsync(await store.GetCurrentRevisionAsync());

        var status = await Api.StatusOf(await _client.GetAsync("/api/v1/namespaces/compacted/configmaps?limit=2&continue=" + Uri.EscapeDataString(token)), 410);
        Assert.Equal("Expired", status["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeleteCollection_RemovesOnlyMatchingObjects()
    {
        await CreateNamespaceAsync("sweep");
        await _client.PostAsync("/api/v1/namespaces/sweep/configmaps", Api.Json(Api.ConfigMap("keep", labels: """{"tier":"cloud"}""")));
        await _client.PostAsync("/api/v1/namespaces/sweep/configmaps", Api.Json(Api.ConfigMap("drop-1", labels: """{"tier":"edge"}""")));
        await _client.PostAsync("/api/v1/namespaces/sweep/configmaps", Api.Json(Api.ConfigMap("drop-2", labels: """{"tier":"edge"}""")));

        var deleted = await (await _client.DeleteAsync("/api/v1/namespaces/sweep/configmaps?labelSelector=tier%3Dedge")).ReadObjectAsync();
        Assert.Equal(["drop-1", "drop-2"], deleted["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
        var left = await (await _client.GetAsync("/api/v1/namespaces/sweep/configmaps")).ReadObjectAsync();
        Assert.Equal(["keep"], left["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task List_WithLabelAndFieldSelectors_FiltersItems()
    {
        await CreateNamespaceAsync("selectors");
        await _client.PostAsync("/api/v1/namespaces/selectors/configmaps", Api.Json(Api.ConfigMap("a", labels: """{"tier":"edge","site":"s1"}""")));
        await _client.PostAsync("/api/v1/namespaces/selectors/configmaps", Api.Json(Api.ConfigMap("b", labels: """{"tier":"edge","site":"s2"}""")));
        await _client.PostAsync("/api/v1/namespaces/selectors/configmaps", Api.Json(Api.ConfigMap("c", labels: """{"tier":"cloud"}""")));

        async Task<string[]> Names(string query) =>
            (await (await _client.GetAsync("/api/v1/namespaces/selectors/configmaps?" + query)).ReadObjectAsync())["items"]!.AsArray()
                .Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToArray();

        Assert.Equal(["a", "b"], await Names("labelSelector=tier%3Dedge"));
        Assert.Equal(["b"], await Names("labelSelector=tier%3Dedge,site%20notin%20(s1)"));
        Assert.Equal(["c"], await Names("labelSelector=!site"));
        Assert.Equal(["b"], await Names("fieldSelector=metadata.name%3Db"));
        Assert.Equal(["a", "c"], await Names("fieldSelector=metadata.name!%3Db"));
    }

    [Fact]
    public async Task List_WithPodFieldSelectors_FiltersByNodeAndPhase()
    {
        await CreateNamespaceAsync("podfields");
        foreach (var (name, node) in new[] { ("on-a", "node-a"), ("on-b", "node-b"), ("nowhere", "") })
        {
            var spec = node.Length > 0 ? $",\"nodeName\":\"{node}\"" : "";
            var pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]" + spec + "}}";
            Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/podfields/pods", Api.Json(pod))).StatusCode);
        }

        var running = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/podfields/pods/on-a/status")
        {
            Content = Api.Json("""{"status":{"phase":"Running"}}""", "application/merge-patch+json"),
        };
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(running)).StatusCode);

        async Task<string[]> Names(string query) =>
            (await (await _client.GetAsync("/api/v1/namespaces/podfields/pods?" + query)).ReadObjectAsync())["items"]!.AsArray()
                .Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToArray();

        Assert.Equal(["on-b"], await Names("fieldSelector=spec.nodeName%3Dnode-b"));
        Assert.Equal(["nowhere"], await Names("fieldSelector=spec.nodeName%3D"));
        Assert.Equal(["on-a"], await Names("fieldSelector=status.phase%3DRunning"));
        Assert.Equal(["on-b", "nowhere"], (await Names("fieldSelector=status.phase%3DPending")).Order(StringComparer.Ordinal).Reverse().ToArray());
        Assert.Equal(["on-b"], await Names("fieldSelector=status.phase%3DPending,metadata.namespace%3Dpodfields,spec.nodeName!%3D"));
    }

    [Fact]
    public async Task List_AsTable_HasNameColumnsAndAge()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces");
        request.Headers.Accept.ParseAdd("application/json;as=Table;v=v1;g=meta.k8s.io");
        request.Headers.Accept.ParseAdd("application/json");
        var table = await (await _client.SendAsync(request)).ReadObjectAsync();
        Assert.Equal("Table", table["kind"]!.GetValue<string>());
        var columns = table["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal("Name", columns[0]);
        Assert.Equal("Age", columns[^1]);
        var names = table["rows"]!.AsArray().Select(r => r!["cells"]![0]!.GetValue<string>()).ToList();
        Assert.Contains("default", names);
        Assert.Contains("kube-system", names);
        Assert.Equal("PartialObjectMetadata", table["rows"]![0]!["object"]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_FromListRevision_DeliversLaterChangesInOrder()
    {
        await CreateNamespaceAsync("watching");
        var list = await (await _client.GetAsync("/api/v1/namespaces/watching/configmaps")).ReadObjectAsync();
        var rv = list["metadata"]!["resourceVersion"]!.GetValue<string>();
        var response = await _client.GetAsync($"/api/v1/namespaces/watching/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=30",
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        await _client.PostAsync("/api/v1/namespaces/watching/configmaps", Api.Json(Api.ConfigMap("w1")));
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/watching/configmaps/w1")
        {
            Content = Api.Json("""{"data":{"k":"v2"}}""", "application/merge-patch+json"),
        };
        await _client.SendAsync(patch);
        await _client.DeleteAsync("/api/v1/namespaces/watching/configmaps/w1");

        var events = new List<(string Type, long Rv)>();
        while (events.Count < 3)
        {
            var line = await reader.ReadLineAsync();
            Assert.NotNull(line);
            var e = JsonNode.Parse(line)!;
            events.Add((e["type"]!.GetValue<string>(), long.Parse(e["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>())));
        }

        Assert.Equal(["ADDED", "MODIFIED", "DELETED"], events.Select(e => e.Type));
        Assert.True(events[0].Rv < events[1].Rv && events[1].Rv < events[2].Rv);
    }

    [Fact]
    public async Task Watch_WithoutResourceVersion_StartsWithAddedForExistingObjects()
    {
        await CreateNamespaceAsync("initial");
        await _client.PostAsync("/api/v1/namespaces/initial/configmaps", Api.Json(Api.ConfigMap("existing")));
        var response = await _client.GetAsync("/api/v1/namespaces/initial/configmaps?watch=true&timeoutSeconds=30", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = JsonNode.Parse((await reader.ReadLineAsync())!)!;
        Assert.Equal("ADDED", first["type"]!.GetValue<string>());
        Assert.Equal("existing", first["object"]!["metadata"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_WithLabelSelector_TurnsUnmatchingUpdateIntoDeleted()
    {
        await CreateNamespaceAsync("relabel");
        await _client.PostAsync("/api/v1/namespaces/relabel/configmaps", Api.Json(Api.ConfigMap("r", labels: """{"keep":"yes"}""")));
        var response = await _client.GetAsync("/api/v1/namespaces/relabel/configmaps?watch=1&labelSelector=keep%3Dyes&timeoutSeconds=30",
            HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("ADDED", JsonNode.Parse((await reader.ReadLineAsync())!)!["type"]!.GetValue<string>());
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/relabel/configmaps/r")
        {
            Content = Api.Json("""{"metadata":{"labels":{"keep":"no"}}}""", "application/merge-patch+json"),
        };
        await _client.SendAsync(patch);
        Assert.Equal("DELETED", JsonNode.Parse((await reader.ReadLineAsync())!)!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_WithTimeout_EndsTheStream()
    {
        var response = await _client.GetAsync("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1",
            HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }

    [Fact]
    public async Task Watch_FromEarliestRevision_ReplaysHistory()
    {
        // The system namespaces were created at the first revisions; their history is still in the watch cache.
        var response = await _client.GetAsync("/api/v1/namespaces?watch=1&resourceVersion=1&timeoutSeconds=5",
            HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var e = JsonNode.Parse((await reader.ReadLineAsync())!)!;
        Assert.Equal("ADDED", e["type"]!.GetValue<string>());
        Assert.Equal("2", e["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>());
    }
}

/// <summary>A server whose watch cache holds only a few events, so that older revisions fall out of it.</summary>
public sealed class SmallWatchCacheFixture : ApiServerFixture
{
    protected override void Configure(ApiServerOptions options) => options.WatchCacheCapacity = 4;
}

public sealed class WatchCacheWindowTests(SmallWatchCacheFixture server) : IClassFixture<SmallWatchCacheFixture>
{
    [Fact]
    public async Task Watch_FromRevisionOlderThanTheCache_SendsGoneError()
    {
        var client = server.AdminClient();
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap($"old-{i}")))).StatusCode);
        }

        var response = await client.GetAsync("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2&timeoutSeconds=5",
            HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var line = await reader.ReadLineAsync();
        Assert.NotNull(line);
        var e = JsonNode.Parse(line)!;
        Assert.Equal("ERROR", e["type"]!.GetValue<string>());
        Assert.Equal(410, e["object"]!["code"]!.GetValue<int>());
        Assert.Equal("Expired", e["object"]!["reason"]!.GetValue<string>());
    }
}

/// <summary>A server that sends bookmarks every 100 ms.</summary>
public sealed class FastBookmarkFixture : ApiServerFixture
{
    protected override void Configure(ApiServerOptions options) => options.BookmarkInterval = TimeSpan.FromMilliseconds(100);
}

public sealed class BookmarkTests(FastBookmarkFixture server) : IClassFixture<FastBookmarkFixture>
{
    [Fact]
    public async Task IdleWatch_WithBookmarksAllowed_ReceivesBookmarkAtCurrentRevision()
    {
        var client = server.AdminClient();
        var created = await (await client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("bm")))).ReadObjectAsync();
        var rv = long.Parse(created["metadata"]!["resourceVersion"]!.GetValue<string>());
        var response = await client.GetAsync($"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv - 1}&allowWatchBookmarks=true&timeoutSeconds=30",
            HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = JsonNode.Parse((await reader.ReadLineAsync())!)!;
        Assert.Equal("ADDED", first["type"]!.GetValue<string>());
        var second = JsonNode.Parse((await reader.ReadLineAsync())!)!;
        Assert.Equal("BOOKMARK", second["type"]!.GetValue<string>());
        Assert.Equal("ConfigMap", second["object"]!["kind"]!.GetValue<string>());
        Assert.True(long.Parse(second["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>()) >= rv);
    }

    [Fact]
    public async Task IdleWatch_WithoutBookmarks_GetsNone()
    {
        var client = server.AdminClient();
        var response = await client.GetAsync("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1",
            HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            Assert.NotEqual("BOOKMARK", JsonNode.Parse(line)!["type"]!.GetValue<string>());
        }
    }
}
