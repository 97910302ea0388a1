using System.Net;
using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.Http;

/// <summary>
/// The eviction subresource against PodDisruptionBudgets, as Kubernetes' eviction REST answers: the budget's status
/// is written here as the disruption controller would write it, so each case is set up exactly.
/// </summary>
public sealed class EvictionBudgetTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    [Fact]
    public async Task Eviction_WhenTheBudgetAllowsNoDisruption_Is429WithTheBudgetsCause_AndKeepsThePod()
    {
        var ns = await NamespaceAsync("ev-none");
        await ReadyPodAsync(ns, "web-0");
        await BudgetAsync(ns, "web", allowed: 0, current: 1, desired: 1);

        var response = await EvictAsync(ns, "web-0");

        var status = await Api.StatusOf(response, 429);
        Assert.Equal("TooManyRequests", status["reason"]!.GetValue<string>());
        Assert.Equal("Cannot evict pod as it would violate the pod's disruption budget.", status["message"]!.GetValue<string>());
        var cause = Assert.Single(status["details"]!["causes"]!.AsArray())!;
        Assert.Equal("DisruptionBudget", cause["reason"]!.GetValue<string>());
        Assert.Equal("The disruption budget web needs 1 healthy pods and has 1 currently", cause["message"]!.GetValue<string>());
        Assert.False(response.Headers.Contains("Retry-After"));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
    }

    [Fact]
    public async Task Eviction_WhenTheBudgetAllowsOne_TakesTheDisruption_RecordsThePod_AndDeletesIt()
    {
        var ns = await NamespaceAsync("ev-one");
        await ReadyPodAsync(ns, "web-0");
        await ReadyPodAsync(ns, "web-1");
        await BudgetAsync(ns, "web", allowed: 1, current: 2, desired: 1);

        Assert.Equal(HttpStatusCode.Created, (await EvictAsync(ns, "web-0")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
        var budget = await GetBudgetAsync(ns, "web");
        Assert.Equal(0, budget["status"]!["disruptionsAllowed"]!.GetValue<int>());
        Assert.NotNull(budget["status"]!["disruptedPods"]!["web-0"]);
        var condition = budget["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "DisruptionAllowed")!;
        Assert.Equal(("False", "InsufficientPods"), (condition["status"]!.GetValue<string>(), condition["reason"]!.GetValue<string>()));

        // The one disruption is taken: the next eviction waits.
        await Api.StatusOf(await EvictAsync(ns, "web-1"), 429);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(PodPath(ns, "web-1"))).StatusCode);
    }

    [Fact]
    public async Task Eviction_DryRun_ChecksTheBudget_ButWritesNothing()
    {
        var ns = await NamespaceAsync("ev-dry");
        await ReadyPodAsync(ns, "web-0");
        await BudgetAsync(ns, "web", allowed: 1, current: 2, desired: 1);
        var before = await GetBudgetAsync(ns, "web");

        Assert.Equal(HttpStatusCode.Created, (await EvictAsync(ns, "web-0", "?dryRun=All")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
        var after = await GetBudgetAsync(ns, "web");
        Assert.Equal(before["metadata"]!["resourceVersion"]!.GetValue<string>(), after["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal(1, after["status"]!["disruptionsAllowed"]!.GetValue<int>());

        await SetBudgetStatusAsync(ns, "web", allowed: 0, current: 1, desired: 1);
        await Api.StatusOf(await EvictAsync(ns, "web-0", "?dryRun=All"), 429);
    }

    [Fact]
    public async Task Eviction_OfAPodCoveredByTwoBudgets_Is500()
    {
        var ns = await NamespaceAsync("ev-two");
        await ReadyPodAsync(ns, "web-0");
        await BudgetAsync(ns, "web", allowed: 1, current: 1, desired: 0);
        await BudgetAsync(ns, "all", allowed: 1, current: 1, desired: 0, selector: "{}");

        var status = await Api.StatusOf(await EvictAsync(ns, "web-0"), 500);

        Assert.Equal("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.", status["message"]!.GetValue<string>());
        Assert.Null(status["reason"]);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
    }

    [Theory]
    [InlineData("Pending")]
    [InlineData("Succeeded")]
    [InlineData("Failed")]
    public async Task Eviction_OfAPodThatIsNotRunning_IgnoresTheBudget(string phase)
    {
        var ns = await NamespaceAsync("ev-" + phase.ToLowerInvariant());
        await PodAsync(ns, "web-0");
        if (phase != "Pending")
        {
            await PatchStatusAsync(PodPath(ns, "web-0"), $$$"""{"status":{"phase":"{{{phase}}}"}}""");
        }

        await BudgetAsync(ns, "web", allowed: 0, current: 0, desired: 1);

        Assert.Equal(HttpStatusCode.Created, (await EvictAsync(ns, "web-0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
        Assert.Equal(0, (await GetBudgetAsync(ns, "web"))["status"]!["disruptionsAllowed"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(null, 2, 2, true)]
    [InlineData("IfHealthyBudget", 2, 2, true)]
    [InlineData("IfHealthyBudget", 1, 2, false)]
    [InlineData("AlwaysAllow", 1, 2, true)]
    public async Task Eviction_OfARunningPodThatIsNotReady_FollowsTheUnhealthyPodEvictionPolicy(string? policy, int current, int desired, bool evicted)
    {
        var ns = await NamespaceAsync($"ev-unready-{(policy ?? "none").ToLowerInvariant()}-{current}");
        await PodAsync(ns, "web-0");
        await PatchStatusAsync(PodPath(ns, "web-0"), """{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}]}}""");
        await BudgetAsync(ns, "web", allowed: 0, current: current, desired: desired, policy: policy);

        var response = await EvictAsync(ns, "web-0");

        if (evicted)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
            Assert.Null((await GetBudgetAsync(ns, "web"))["status"]!["disruptedPods"]);
        }
        else
        {
            await Api.StatusOf(response, 429);
            Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
        }
    }

    [Fact]
    public async Task Eviction_BeforeTheControllerObservedTheBudgetsGeneration_Is429_RetryAfter10()
    {
        var ns = await NamespaceAsync("ev-gen");
        await ReadyPodAsync(ns, "web-0");
        await BudgetAsync(ns, "web", allowed: 1, current: 2, desired: 1);
        var patch = new HttpRequestMessage(HttpMethod.Patch, BudgetPath(ns, "web")) { Content = Api.Json("""{"spec":{"minAvailable":2}}""", "application/merge-patch+json") };
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(patch)).StatusCode);

        var response = await EvictAsync(ns, "web-0");

        var status = await Api.StatusOf(response, 429);
        Assert.Equal("The disruption budget web is still being processed by the server.", status["details"]!["causes"]![0]!["message"]!.GetValue<string>());
        Assert.Equal("10", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(PodPath(ns, "web-0"))).StatusCode);
    }

    [Fact]
    public async Task Eviction_OfAPodNoBudgetCovers_DeletesIt()
    {
        var ns = await NamespaceAsync("ev-other");
        await ReadyPodAsync(ns, "db-0", app: "db");
        await BudgetAsync(ns, "web", allowed: 0, current: 0, desired: 1);

        Assert.Equal(HttpStatusCode.Created, (await EvictAsync(ns, "db-0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(PodPath(ns, "db-0"))).StatusCode);
    }

    private static string PodPath(string ns, string name) => $"/api/v1/namespaces/{ns}/pods/{name}";

    private static string BudgetPath(string ns, string name) => $"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/{name}";

    private async Task<string> NamespaceAsync(string name)
    {
        var response = await _client.PostAsync("/api/v1/namespaces", Api.Json($$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{name}}}"}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    private async Task PodAsync(string ns, string name, string app = "web")
    {
        var pod = $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","labels":{"app":"{{{app}}}"}},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync($"/api/v1/namespaces/{ns}/pods", Api.Json(pod))).StatusCode);
    }

    private async Task ReadyPodAsync(string ns, string name, string app = "web")
    {
        await PodAsync(ns, name, app);
        await PatchStatusAsync(PodPath(ns, name), """{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}""");
    }

    private async Task BudgetAsync(string ns, string name, int allowed, int current, int desired, string selector = """{"matchLabels":{"app":"web"}}""", string? policy = null)
    {
        var policyField = policy is null ? "" : $",\"unhealthyPodEvictionPolicy\":\"{policy}\"";
        var pdb = $$$"""{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"{{{name}}}"},"spec":{"minAvailable":{{{desired}}},"selector":{{{selector}}}{{{policyField}}}}}""";
        var response = await _client.PostAsync($"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", Api.Json(pdb));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        await SetBudgetStatusAsync(ns, name, allowed, current, desired);
    }

    /// <summary>The status the disruption controller would write for generation 1.</summary>
    private Task SetBudgetStatusAsync(string ns, string name, int allowed, int current, int desired) =>
        PatchStatusAsync(BudgetPath(ns, name), $$$"""{"status":{"observedGeneration":1,"disruptionsAllowed":{{{allowed}}},"currentHealthy":{{{current}}},"desiredHealthy":{{{desired}}},"expectedPods":{{{current}}}}}""");

    private async Task PatchStatusAsync(string path, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, path + "/status") { Content = Api.Json(body, "application/merge-patch+json") };
        var response = await _client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonObject> GetBudgetAsync(string ns, string name) =>
        JsonNode.Parse(await _client.GetStringAsync(BudgetPath(ns, name)))!.AsObject();

    private Task<HttpResponseMessage> EvictAsync(string ns, string name, string query = "") =>
        _client.PostAsync(PodPath(ns, name) + "/eviction" + query,
            Api.Json($$$"""{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"{{{name}}}","namespace":"{{{ns}}}"}}"""));
}
