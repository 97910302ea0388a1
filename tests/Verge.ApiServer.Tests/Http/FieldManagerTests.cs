using System.Net;

namespace Verge.ApiServer.Tests.Http;

/// <summary>
/// A write's <c>fieldManager</c> is checked as Kubernetes' ValidateFieldManager checks it: at most 128 bytes, all
/// printable; a 422 for the write's options kind otherwise, before anything is stored.
/// </summary>
public sealed class FieldManagerTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    // 129 ASCII characters; 65 characters of 2 bytes each (fewer than 128 characters, more than 128 bytes).
    public static TheoryData<string> TooLong => [new string('m', 129), string.Concat(Enumerable.Repeat("é", 65))];

    [Theory]
    [MemberData(nameof(TooLong))]
    public async Task LongerThan128Bytes_Is422_ForTheWritesOptions(string manager)
    {
        var query = "?fieldManager=" + Uri.EscapeDataString(manager);

        var create = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/configmaps" + query, Api.Json(Api.ConfigMap("fm-long"))), 422);
        var patch = await Api.StatusOf(await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/fm-long" + query)
        {
            Content = Api.Json("""{"data":{"k":"v"}}""", "application/merge-patch+json"),
        }), 422);

        Assert.Equal("CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes", create["message"]!.GetValue<string>());
        Assert.Equal("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes", patch["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/v1/namespaces/default/configmaps/fm-long")).StatusCode);
    }

    [Fact]
    public async Task ExactlyOneHundredTwentyEightBytes_OfAnyScript_AreTaken()
    {
        var manager = string.Concat(Enumerable.Repeat("é", 64));

        using var response = await _client.PostAsync("/api/v1/namespaces/default/configmaps?fieldManager=" + Uri.EscapeDataString(manager), Api.Json(Api.ConfigMap("fm-128")));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var stored = await response.ReadObjectAsync();
        Assert.Equal(manager, stored["metadata"]!["managedFields"]![0]!["manager"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("tool\tname", 4)]
    [InlineData("tool\u00a0name", 4)]
    [InlineData("ünicode\u200bname", 8)]
    public async Task UnprintableCharacters_Are422_AtTheirByteOffset(string manager, int offset)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/namespaces/default/configmaps/fm-print?fieldManager=" + Uri.EscapeDataString(manager))
        {
            Content = Api.Json(Api.ConfigMap("fm-print")),
        };

        var status = await Api.StatusOf(await _client.SendAsync(request), 422);

        Assert.StartsWith("UpdateOptions.meta.k8s.io \"\" is invalid: fieldManager: Invalid value: ", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.EndsWith($"invalid characters at offset {offset}", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
