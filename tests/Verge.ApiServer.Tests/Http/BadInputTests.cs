using System.Net;
using System.Text;

namespace Verge.ApiServer.Tests.Http;

public sealed class BadInputTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    [Fact]
    public async Task Request_WithoutCredentials_IsUnauthorized()
    {
        var anonymous = server.AnonymousClient();
        var status = await Api.StatusOf(await anonymous.GetAsync("/api/v1/namespaces"), 401);
        Assert.Equal("Unauthorized", status["reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/livez")]
    public async Task HealthEndpoints_AnswerWithoutCredentials(string path)
    {
        var response = await server.AnonymousClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Request_FromUserOutsideMasters_IsForbidden()
    {
        var user = server.UserClient("alice-device", "edge-operators");
        var status = await Api.StatusOf(await user.GetAsync("/api/v1/namespaces/default/secrets"), 403);
        Assert.Contains("cannot list resource \"secrets\"", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task MalformedJson_IsBadRequest()
    {
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json("{\"metadata\": {")), 400);
        Assert.Contains("not valid JSON", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task MalformedYaml_IsBadRequest()
    {
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps",
            Api.Json("metadata:\n  name: [unclosed\n", "application/yaml")), 400);
        Assert.StartsWith("yaml:", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task TruncatedYaml_IsBadRequest()
    {
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps",
            Api.Json("a: [1, 2\nb: {", "application/yaml")), 400);
        Assert.StartsWith("yaml:", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task YamlAliasBomb_IsRefused()
    {
        var bomb = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var i = 1; i < 9; i++)
        {
            var prev = (char)('a' + i - 1);
            var cur = (char)('a' + i);
            bomb.Append($"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n");
        }

        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps",
            Api.Json(bomb.ToString(), "application/yaml")), 400);
        Assert.Contains("excessive aliasing", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeeplyNestedYaml_IsRefused()
    {
        var deep = new string('[', 500) + new string(']', 500);
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps",
            Api.Json("data: " + deep + "\n", "application/yaml")), 400);
        Assert.Contains("depth", status["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/api/v1/namespaces/default/configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n1","labels":{"a":null}},"data":{"a":null}}""")]
    [InlineData("/api/v1/namespaces/default/configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n2","finalizers":[null],"ownerReferences":[null]}}""")]
    [InlineData("/api/v1/namespaces/default/configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":null}""")]
    [InlineData("/api/v1/namespaces/default/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"n3"},"spec":{"containers":[null],"tolerations":[null],"nodeSelector":{"a":null}}}""")]
    [InlineData("/api/v1/namespaces/default/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"n4"},"spec":{"containers":[{"name":"c","image":"i","env":[null],"ports":[null],"args":[null]}],"volumes":[null]}}""")]
    [InlineData("/apis/apps/v1/namespaces/default/deployments", """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"n5"},"spec":{"selector":{"matchLabels":{"a":null},"matchExpressions":[null]},"template":null}}""")]
    [InlineData("/apis/coordination.k8s.io/v1/namespaces/default/leases", """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n6"},"spec":null}""")]
    [InlineData("/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"n7"},"spec":{"taints":[null]},"status":{"conditions":[null]}}""")]
    public async Task NullsInBody_AreUnsetFields_NeverAServerError(string path, string body)
    {
        var response = await _client.PostAsync(path, Api.Json(body));
        Assert.True((int)response.StatusCode is 201 or 422, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task DuplicateJsonKeys_AreBadRequest()
    {
        var body = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup-keys"},"data":{},"data":{}}""";
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(body)), 400);
        Assert.Contains("not valid JSON", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownKind_IsNotFound()
    {
        await Api.StatusOf(await _client.GetAsync("/api/v1/namespaces/default/widgets"), 404);
        await Api.StatusOf(await _client.GetAsync("/apis/nothing.example/v1/things"), 404);
        await Api.StatusOf(await _client.GetAsync("/apis/nothing.example"), 404);
    }

    [Fact]
    public async Task WrongApiVersionInBody_IsBadRequest()
    {
        var body = """{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"wrong-av"}}""";
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(body)), 400);
        Assert.Contains("does not match the expected API version", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task InvalidName_IsUnprocessableWithFieldCause()
    {
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("Not_Valid"))), 422);
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal("metadata.name", cause["field"]!.GetValue<string>());
        Assert.Equal("FieldValueInvalid", cause["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task InvalidQuantity_IsUnprocessableWithFieldPath()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad-qty"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"memory":"12x"}}}]}}""";
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod)), 422);
        Assert.Contains("spec.containers[0].resources.limits[memory]", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task WrongFieldType_IsBadRequest()
    {
        var body = """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"wrong-type"},"spec":{"replicas":"two"}}""";
        var status = await Api.StatusOf(await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments", Api.Json(body)), 400);
        Assert.Contains("spec.replicas: the value must be an int32", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownField_WithStrictValidation_IsBadRequest_WithWarnIsAWarning()
    {
        var body = Api.ConfigMap("strict-1").Replace("\"data\"", "\"bogus\":1,\"data\"", StringComparison.Ordinal);
        var strict = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", Api.Json(body)), 400);
        Assert.Contains("unknown field \"bogus\"", strict["message"]!.GetValue<string>());

        var warn = await _client.PostAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Warn", Api.Json(body));
        Assert.Equal(HttpStatusCode.Created, warn.StatusCode);
        Assert.Contains(warn.Headers.GetValues("Warning"), w => w.Contains("unknown field", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownFields_AreAllNamed_WithTheirPaths_AsKubernetesStrictDecodingDoes()
    {
        var body = """
            {"apiVersion":"apps/v1","bar":1,"kind":"Deployment","metadata":{"name":"strict-all","foo":2},
             "spec":{"selector":{"matchLabels":{"app":"s"}},"template":{"metadata":{"labels":{"app":"s"}},
             "spec":{"containers":[{"name":"c","image":"i","imagePullPolcy":"Always","resources":{"requests":{"cpu":"1"}}}]}}}}
            """;
        var strict = await Api.StatusOf(await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", Api.Json(body)), 400);
        Assert.Equal(
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"bar\", unknown field \"metadata.foo\", unknown field \"spec.template.spec.containers[0].imagePullPolcy\"",
            strict["message"]!.GetValue<string>());

        var warn = await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn", Api.Json(body));
        Assert.Equal(HttpStatusCode.Created, warn.StatusCode);
        Assert.Equal(3, warn.Headers.GetValues("Warning").Count(w => w.Contains("unknown field", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task OversizedBody_IsRequestEntityTooLarge()
    {
        var big = Api.ConfigMap("big", data: "{\"k\":\"" + new string('x', 300 * 1024) + "\"}");
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(big)), 413);
        Assert.Equal("RequestEntityTooLarge", status["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnsupportedContentType_IsUnsupportedMediaType()
    {
        await Api.StatusOf(await _client.PostAsync("/apis/coordination.k8s.io/v1/namespaces/default/leases",
            Api.Json(Api.ConfigMap("proto"), "application/vnd.kubernetes.protobuf")), 415);
        await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("proto"), "text/plain")), 415);
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/any") { Content = Api.Json("{}", "text/plain") };
        await Api.StatusOf(await _client.SendAsync(patch), 415);
    }

    [Fact]
    public async Task BadQueryParameters_AreBadRequest()
    {
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?limit=abc"), 400);
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?continue=not-a-token"), 400);
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?labelSelector=a%20in%20(b"), 400);
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?fieldSelector=spec.bogus%3Dx"), 400);
        await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Loud", Api.Json(Api.ConfigMap("q"))), 400);
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?resourceVersionMatch=Bogus&resourceVersion=1"), 400);
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?resourceVersionMatch=Exact"), 400);
        await Api.StatusOf(await _client.GetAsync("/api/v1/pods?watch=maybe"), 400);
        var force = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/q?fieldManager=t&force=maybe")
        {
            Content = Api.Json(Api.ConfigMap("q"), "application/apply-patch+yaml"),
        };
        await Api.StatusOf(await _client.SendAsync(force), 400);
    }

    [Fact]
    public async Task Get_AtAResourceVersion_ThatIsNotOne_Is400_AndOneNotYetReached_Is504()
    {
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("rv-get")))).ReadObjectAsync();
        var rv = created["metadata"]!["resourceVersion"]!.GetValue<string>();
        const string path = "/api/v1/namespaces/default/configmaps/rv-get";

        var bad = await Api.StatusOf(await _client.GetAsync(path + "?resourceVersion=abc"), 400);
        Assert.Equal("invalid resource version: \"abc\"", bad["message"]!.GetValue<string>());
        var future = await Api.StatusOf(await _client.GetAsync(path + "?resourceVersion=999999999"), 504);
        Assert.StartsWith("Too large resource version: 999999999, current: ", future["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(path + "?resourceVersion=" + rv)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(path + "?resourceVersion=0")).StatusCode);
    }

    [Fact]
    public async Task JsonPatch_FailedTest_IsUnprocessable_BadOperation_IsBadRequest()
    {
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("jp")));
        var test = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/jp")
        {
            Content = Api.Json("""[{"op":"test","path":"/data/k","value":"nope"}]""", "application/json-patch+json"),
        };
        await Api.StatusOf(await _client.SendAsync(test), 422);
        var bad = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/jp")
        {
            Content = Api.Json("""[{"op":"frobnicate","path":"/data/k"}]""", "application/json-patch+json"),
        };
        await Api.StatusOf(await _client.SendAsync(bad), 400);
    }

    [Fact]
    public async Task Apply_WithAnotherNameOrKind_IsBadRequest()
    {
        var otherName = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/applied?fieldManager=t")
        {
            Content = Api.Json(Api.ConfigMap("other"), "application/apply-patch+yaml"),
        };
        await Api.StatusOf(await _client.SendAsync(otherName), 400);
        var otherKind = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/applied?fieldManager=t")
        {
            Content = Api.Json("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"applied"}}""", "application/apply-patch+yaml"),
        };
        await Api.StatusOf(await _client.SendAsync(otherKind), 400);
    }

    [Fact]
    public async Task Update_WithAnotherUid_IsConflict()
    {
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("uid-check")))).ReadObjectAsync();
        created["metadata"]!["uid"] = "not-the-uid";
        created["metadata"]!.AsObject().Remove("resourceVersion");
        var status = await Api.StatusOf(await _client.PutAsync("/api/v1/namespaces/default/configmaps/uid-check", Api.Json(created.ToJsonString())), 409);
        Assert.Contains("Precondition failed: UID", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task LongLabelSelector_IsServed()
    {
        var selector = string.Join(",", Enumerable.Range(0, 900).Select(i => $"k{i}=v"));
        var response = await _client.GetAsync("/api/v1/namespaces/default/configmaps?labelSelector=" + Uri.EscapeDataString(selector));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task MalformedProtobuf_IsBadRequest()
    {
        var body = new ByteArrayContent([0x6b, 0x38, 0x73, 0x00, 0x0a, 0xff]);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.kubernetes.protobuf");
        await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps", body), 400);
    }

    [Fact]
    public async Task Patch_OfMissingObject_IsNotFound()
    {
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/absent")
        {
            Content = Api.Json("""{"data":{"a":"b"}}""", "application/merge-patch+json"),
        };
        await Api.StatusOf(await _client.SendAsync(patch), 404);
    }
}
