using System.Net;

namespace Verge.ApiServer.Tests.Security;

/// <summary>
/// Malformed SelfSubjectAccessReviews and SelfSubjectReviews are refused as Kubernetes refuses them: a body that
/// does not decode is a 400, a review that asks nothing or two things at once a 422, never an answer or a 500.
/// </summary>
public sealed class AccessReviewsTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private const string AccessReviews = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    private const string Reviews = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

    private readonly HttpClient _client = server.AdminClient();

    private static string Review(string spec) =>
        """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":""" + spec + "}";

    [Theory]
    [InlineData("not json at all", "application/json")]
    [InlineData("{\"spec\": {", "application/json")]
    [InlineData("[1, 2]", "application/json")]
    [InlineData("", "application/json")]
    [InlineData("spec: [unclosed", "application/yaml")]
    public async Task AccessReview_WhoseBodyIsNoObject_Is400(string body, string mediaType)
    {
        await Api.StatusOf(await _client.PostAsync(AccessReviews, Api.Json(body, mediaType)), 400);
    }

    [Theory]
    [InlineData("""{"apiVersion":"v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"get"}}}""",
        "the API version in the data (v1) does not match the expected API version (authorization.k8s.io/v1)")]
    [InlineData("""{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"resourceAttributes":{"verb":"get"}}}""",
        "the kind in the data (SubjectAccessReview) does not match the expected kind (SelfSubjectAccessReview)")]
    [InlineData("""{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":"everything"}""",
        "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: spec must be an object, not string")]
    [InlineData("""{"spec":{"resourceAttributes":{"verb":["get"]}}}""",
        "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: spec.resourceAttributes.verb must be a string, not array")]
    [InlineData("""{"spec":{"resourceAttributes":{"verb":"list","fieldSelector":{"rawSelector":7}}}}""",
        "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: spec.resourceAttributes.fieldSelector.rawSelector must be a string, not number")]
    [InlineData("""{"spec":{"nonResourceAttributes":true}}""",
        "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: spec.nonResourceAttributes must be an object, not true")]
    public async Task AccessReview_OfTheWrongKindOrWithAMemberOfTheWrongType_Is400NamingIt(string body, string message)
    {
        var status = await Api.StatusOf(await _client.PostAsync(AccessReviews, Api.Json(body)), 400);

        Assert.Equal("BadRequest", status["reason"]!.GetValue<string>());
        Assert.Equal(message, status["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"resourceAttributes":null,"nonResourceAttributes":null}""")]
    public async Task AccessReview_AskingNeitherAboutAResourceNorAPath_Is422AsKubernetesWordsIt(string spec)
    {
        var status = await Api.StatusOf(await _client.PostAsync(AccessReviews, Api.Json(Review(spec))), 422);

        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Equal(
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
            status["message"]!.GetValue<string>());
        var cause = Assert.Single(status["details"]!["causes"]!.AsArray())!;
        Assert.Equal(("FieldValueInvalid", "spec.resourceAttributes"), (cause["reason"]!.GetValue<string>(), cause["field"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AccessReview_AskingAboutAResourceAndAPathAtOnce_Is422()
    {
        var body = Review("""{"resourceAttributes":{"verb":"get","resource":"pods"},"nonResourceAttributes":{"path":"/healthz","verb":"get"}}""");

        var status = await Api.StatusOf(await _client.PostAsync(AccessReviews, Api.Json(body)), 422);

        Assert.Equal(
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:\"/healthz\", Verb:\"get\"}: cannot be specified in combination with resourceAttributes",
            status["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"name":"mine"}""")]
    [InlineData("""{"labels":{"a":"b"}}""")]
    [InlineData("""{"namespace":"default","generation":2}""")]
    public async Task AccessReview_WithMetadata_Is422_AsAReviewNamesNothing(string metadata)
    {
        var body = """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":""" + metadata
            + ""","spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}""";

        var status = await Api.StatusOf(await _client.PostAsync(AccessReviews, Api.Json(body)), 422);

        Assert.StartsWith("SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: metadata: Invalid value: ", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.EndsWith(": must be empty", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"creationTimestamp":null}""")]
    [InlineData("""{"name":"","labels":{},"finalizers":[]}""")]
    [InlineData("null")]
    public async Task AccessReview_WithEmptyMetadata_AsClientsSendIt_IsAnswered(string metadata)
    {
        var body = """{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":""" + metadata
            + ""","spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}""";

        using var response = await _client.PostAsync(AccessReviews, Api.Json(body));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task AccessReview_AboutAPath_IsAnswered()
    {
        var response = await _client.PostAsync(AccessReviews, Api.Json(Review("""{"nonResourceAttributes":{"path":"/healthz","verb":"get"}}""")));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True((await response.ReadObjectAsync())["status"]!["allowed"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("not json at all", "the request body is not valid JSON")]
    [InlineData("""{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview"}""", "the kind in the data (TokenReview) does not match the expected kind (SelfSubjectReview)")]
    [InlineData("""{"apiVersion":"authentication.k8s.io/v1beta1","kind":"SelfSubjectReview"}""", "the API version in the data (authentication.k8s.io/v1beta1) does not match the expected API version (authentication.k8s.io/v1)")]
    public async Task SelfSubjectReview_ThatIsMalformedOrOfAnotherKind_Is400(string body, string message)
    {
        var status = await Api.StatusOf(await _client.PostAsync(Reviews, Api.Json(body)), 400);

        Assert.StartsWith(message, status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
