using System.Net;
using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.Http;

public sealed class DiscoveryTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    [Fact]
    public async Task Apis_ListsGroups_AndEachGroupHasItsDocument()
    {
        var groups = await (await _client.GetAsync("/apis")).ReadObjectAsync();
        var names = groups["groups"]!.AsArray().Select(g => g!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("apps", names);
        Assert.Contains("edge.verge.dev", names);
        var apps = await (await _client.GetAsync("/apis/apps")).ReadObjectAsync();
        Assert.Equal("APIGroup", apps["kind"]!.GetValue<string>());
        Assert.Equal("apps/v1", apps["preferredVersion"]!["groupVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task Aggregated_IsServedWhenAsked()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/apis");
        request.Headers.Accept.Clear();
        request.Headers.Accept.ParseAdd("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
        request.Headers.Accept.ParseAdd("application/json");
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("as=APIGroupDiscoveryList", response.Content.Headers.ContentType!.ToString());
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var deployments = body["items"]!.AsArray().Single(i => i!["metadata"]!["name"]?.GetValue<string>() == "apps")!
            ["versions"]![0]!["resources"]!.AsArray().Single(r => r!["resource"]!.GetValue<string>() == "deployments")!;
        Assert.Contains(deployments["subresources"]!.AsArray(), s => s!["subresource"]!.GetValue<string>() == "scale");
    }

    [Fact]
    public async Task ResourceList_DoesNotOfferDeleteCollectionOfNamespaces()
    {
        var core = await (await _client.GetAsync("/api/v1")).ReadObjectAsync();
        var namespaces = core["resources"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "namespaces")!;
        Assert.DoesNotContain(namespaces["verbs"]!.AsArray(), v => v!.GetValue<string>() == "deletecollection");
        var pods = core["resources"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "pods")!;
        Assert.Contains(pods["verbs"]!.AsArray(), v => v!.GetValue<string>() == "deletecollection");
    }

    [Fact]
    public async Task SelfSubjectAccessReview_AnswersForTheCaller()
    {
        const string review = """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"secrets"}}}""";
        var admin = await (await _client.PostAsync("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Api.Json(review))).ReadObjectAsync();
        Assert.True(admin["status"]!["allowed"]!.GetValue<bool>());
        var other = server.UserClient("device-7", "edge-devices");
        var refused = await (await other.PostAsync("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Api.Json(review))).ReadObjectAsync();
        Assert.False(refused["status"]!["allowed"]!.GetValue<bool>());
        await Api.StatusOf(await _client.PostAsync("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Api.Json("""{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{}}""")), 422);
        await Api.StatusOf(await _client.GetAsync("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"), 405);
    }
}
