using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.Http;

/// <summary>
/// Pods are deleted gracefully, as Kubernetes' pod strategy does: a pod bound to a node stays, Terminating, until its
/// node confirms it stopped (a DELETE with gracePeriodSeconds=0); a later delete may only shorten the wait.
/// </summary>
public sealed class GracefulPodDeletionTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    private static string PodPath(string name) => "/api/v1/namespaces/default/pods/" + name;

    private async Task<JsonObject> CreatePodAsync(string name, string? node, string extraMetadata = "", int? terminationGrace = null)
    {
        var spec = (node is null ? "" : $"\"nodeName\":\"{node}\",")
            + (terminationGrace is { } g ? $"\"terminationGracePeriodSeconds\":{g}," : "")
            + "\"containers\":[{\"name\":\"c\",\"image\":\"img:1\"}]";
        var body = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name + "\"" + extraMetadata + "},\"spec\":{" + spec + "}}";
        var response = await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadObjectAsync();
    }

    private async Task<(HttpStatusCode Code, JsonObject Body)> DeleteAsync(string name, string query = "", string? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, PodPath(name) + query);
        if (body is not null)
        {
            request.Content = Api.Json(body);
        }

        using var response = await _client.SendAsync(request);
        return (response.StatusCode, await response.ReadObjectAsync());
    }

    private async Task<JsonObject?> GetAsync(string name)
    {
        using var response = await _client.GetAsync(PodPath(name));
        return response.StatusCode == HttpStatusCode.NotFound ? null : await response.ReadObjectAsync();
    }

    private static DateTimeOffset DeletionTimestamp(JsonObject pod) =>
        DateTimeOffset.Parse(pod["metadata"]!["deletionTimestamp"]!.GetValue<string>(), CultureInfo.InvariantCulture);

    private static long? Grace(JsonObject pod) => pod["metadata"]!["deletionGracePeriodSeconds"]?.GetValue<long>();

    [Fact]
    public async Task BoundPod_StaysTerminatingForItsGracePeriod_UntilItsNodeConfirms()
    {
        var created = await CreatePodAsync("gd-bound", "edge-1");
        var before = DateTimeOffset.UtcNow;

        var (code, deleted) = await DeleteAsync("gd-bound");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(30, Grace(deleted));
        var at = DeletionTimestamp(deleted);
        Assert.InRange(at, before.AddSeconds(29), DateTimeOffset.UtcNow.AddSeconds(30));
        Assert.Equal(created["metadata"]!["generation"]!.GetValue<long>() + 1, deleted["metadata"]!["generation"]!.GetValue<long>());
        var stored = await GetAsync("gd-bound");
        Assert.Equal(deleted["metadata"]!["deletionTimestamp"]!.GetValue<string>(), stored!["metadata"]!["deletionTimestamp"]!.GetValue<string>());

        // The node confirms: a grace period of 0, with the pod's uid as a precondition.
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var (confirmed, _) = await DeleteAsync("gd-bound", body: "{\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"" + uid + "\"}}");
        Assert.Equal(HttpStatusCode.OK, confirmed);
        Assert.Null(await GetAsync("gd-bound"));
    }

    [Fact]
    public async Task LaterDeletes_MayOnlyShortenTheGracePeriod()
    {
        await CreatePodAsync("gd-shorten", "edge-1", terminationGrace: 60);
        var (_, first) = await DeleteAsync("gd-shorten");
        Assert.Equal(60, Grace(first));
        var firstAt = DeletionTimestamp(first);

        var (_, shorter) = await DeleteAsync("gd-shorten", "?gracePeriodSeconds=10");
        Assert.Equal(10, Grace(shorter));
        Assert.Equal(firstAt.AddSeconds(-50), DeletionTimestamp(shorter));

        var (code, longer) = await DeleteAsync("gd-shorten", "?gracePeriodSeconds=20");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(10, Grace(longer));
        Assert.Equal(shorter["metadata"]!["resourceVersion"]!.GetValue<string>(), longer["metadata"]!["resourceVersion"]!.GetValue<string>());

        // A pending graceful deletion takes no new finalizers from the delete's propagation policy.
        var (_, orphaned) = await DeleteAsync("gd-shorten", body: """{"propagationPolicy":"Orphan"}""");
        Assert.Null(orphaned["metadata"]!["finalizers"]);

        await DeleteAsync("gd-shorten", "?gracePeriodSeconds=0");
        Assert.Null(await GetAsync("gd-shorten"));
    }

    [Fact]
    public async Task UnboundFinishedAndForcedPods_GoAtOnce()
    {
        await CreatePodAsync("gd-unbound", null);
        Assert.Equal(HttpStatusCode.OK, (await DeleteAsync("gd-unbound")).Code);
        Assert.Null(await GetAsync("gd-unbound"));

        await CreatePodAsync("gd-finished", "edge-1");
        var status = await _client.PatchAsync(PodPath("gd-finished") + "/status",
            Api.Json("""{"status":{"phase":"Succeeded"}}""", "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        await DeleteAsync("gd-finished");
        Assert.Null(await GetAsync("gd-finished"));

        await CreatePodAsync("gd-forced", "edge-1");
        await DeleteAsync("gd-forced", "?gracePeriodSeconds=0");
        Assert.Null(await GetAsync("gd-forced"));

        await CreatePodAsync("gd-zero", "edge-1", terminationGrace: 0);
        await DeleteAsync("gd-zero");
        Assert.Null(await GetAsync("gd-zero"));
    }

    [Fact]
    public async Task NegativeGracePeriod_CountsAsOneSecond_AndADryRunMarksNothing()
    {
        await CreatePodAsync("gd-negative", "edge-1");

        var (dryCode, dry) = await DeleteAsync("gd-negative", "?dryRun=All");
        Assert.Equal(HttpStatusCode.OK, dryCode);
        Assert.Equal(30, Grace(dry));
        Assert.Null((await GetAsync("gd-negative"))!["metadata"]!["deletionTimestamp"]);

        var (_, negative) = await DeleteAsync("gd-negative", "?gracePeriodSeconds=-5");
        Assert.Equal(1, Grace(negative));
        await DeleteAsync("gd-negative", "?gracePeriodSeconds=0");
    }

    [Fact]
    public async Task PodWithAFinalizer_WaitsForBothItsNodeAndTheFinalizer()
    {
        const string finalizer = ""","finalizers":["verge.dev/test-hold"]""";

        // The finalizer goes first: the pod still waits for its node.
        await CreatePodAsync("gd-final-a", "edge-1", finalizer);
        var (code, marked) = await DeleteAsync("gd-final-a");
        Assert.Equal(HttpStatusCode.Accepted, code);
        Assert.Equal(30, Grace(marked));
        var cleared = await _client.PatchAsync(PodPath("gd-final-a"), Api.Json("""{"metadata":{"finalizers":null}}""", "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        Assert.NotNull(await GetAsync("gd-final-a"));
        await DeleteAsync("gd-final-a", "?gracePeriodSeconds=0");
        Assert.Null(await GetAsync("gd-final-a"));

        // The node confirms first: the pod goes with its last finalizer.
        await CreatePodAsync("gd-final-b", "edge-1", finalizer);
        await DeleteAsync("gd-final-b");
        await DeleteAsync("gd-final-b", "?gracePeriodSeconds=0");
        var held = await GetAsync("gd-final-b");
        Assert.Equal(0, Grace(held!));
        await _client.PatchAsync(PodPath("gd-final-b"), Api.Json("""{"metadata":{"finalizers":null}}""", "application/merge-patch+json"));
        Assert.Null(await GetAsync("gd-final-b"));
    }

    [Fact]
    public async Task Eviction_OfABoundPod_LeavesItTerminating_MarkedAsADisruptionTarget()
    {
        await CreatePodAsync("gd-evicted", "edge-1");
        var eviction = """{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"gd-evicted","namespace":"default"},"deleteOptions":{"gracePeriodSeconds":5}}""";

        var response = await _client.PostAsync(PodPath("gd-evicted") + "/eviction", Api.Json(eviction));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var evicted = (await GetAsync("gd-evicted"))!;
        Assert.Equal(5, Grace(evicted));
        var condition = evicted["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "DisruptionTarget")!;
        Assert.Equal(("True", "EvictionByEvictionAPI", "Eviction API: evicting"),
            (condition["status"]!.GetValue<string>(), condition["reason"]!.GetValue<string>(), condition["message"]!.GetValue<string>()));
        await DeleteAsync("gd-evicted", "?gracePeriodSeconds=0");
    }
}
