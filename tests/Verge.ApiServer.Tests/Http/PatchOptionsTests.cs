using System.Net;

namespace Verge.ApiServer.Tests.Http;

/// <summary>
/// The query parameters of a PATCH are checked against its type as Kubernetes' ValidatePatchOptions checks them:
/// <c>force</c> only on apply patches, <c>fieldManager</c> required on them; a 422 for PatchOptions otherwise.
/// </summary>
public sealed class PatchOptionsTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    private Task<HttpResponseMessage> PatchAsync(string query, string body, string mediaType) =>
        _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/po" + query)
        {
            Content = Api.Json(body, mediaType),
        });

    [Theory]
    [InlineData("application/merge-patch+json", """{"data":{"k":"v"}}""", "true")]
    [InlineData("application/strategic-merge-patch+json", """{"data":{"k":"v"}}""", "true")]
    [InlineData("application/json-patch+json", """[{"op":"add","path":"/data","value":{"k":"v"}}]""", "true")]
    [InlineData("application/merge-patch+json", """{"data":{"k":"v"}}""", "false")]
    [InlineData("application/merge-patch+json", """{"data":{"k":"v"}}""", "maybe")]
    public async Task NonApplyPatch_WithForce_Is422ForbiddenAndChangesNothing(string mediaType, string body, string force)
    {
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("po", data: """{"k":"before"}""")));

        var status = await Api.StatusOf(await PatchAsync("?force=" + force, body, mediaType), 422);

        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Equal("PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
            status["message"]!.GetValue<string>());
        Assert.Equal(("meta.k8s.io", "PatchOptions"), (status["details"]!["group"]!.GetValue<string>(), status["details"]!["kind"]!.GetValue<string>()));
        var cause = Assert.Single(status["details"]!["causes"]!.AsArray())!;
        Assert.Equal(("FieldValueForbidden", "force"), (cause["reason"]!.GetValue<string>(), cause["field"]!.GetValue<string>()));
        var stored = await (await _client.GetAsync("/api/v1/namespaces/default/configmaps/po")).ReadObjectAsync();
        Assert.Equal("before", stored["data"]!["k"]!.GetValue<string>());
    }

    [Fact]
    public async Task ApplyPatch_WithoutFieldManager_Is422Required()
    {
        var status = await Api.StatusOf(await PatchAsync("?force=true", Api.ConfigMap("po"), "application/apply-patch+yaml"), 422);

        Assert.Equal("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            status["message"]!.GetValue<string>());
        var cause = Assert.Single(status["details"]!["causes"]!.AsArray())!;
        Assert.Equal(("FieldValueRequired", "fieldManager"), (cause["reason"]!.GetValue<string>(), cause["field"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("True")]
    [InlineData("FALSE")]
    [InlineData("1")]
    public async Task ApplyPatch_TakesForceInAnyCase(string force)
    {
        var name = "po-case-" + force.ToLowerInvariant();
        var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/namespaces/default/configmaps/{name}?fieldManager=t&force={force}")
        {
            Content = Api.Json(Api.ConfigMap(name), "application/apply-patch+yaml"),
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
