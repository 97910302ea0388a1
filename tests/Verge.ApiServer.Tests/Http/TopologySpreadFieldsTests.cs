using System.Net;
using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization.Protobuf;
using Verge.ApiServer.Tests.Protobuf;
using Verge.Core.Meta;

namespace Verge.ApiServer.Tests.Http;

/// <summary>The Kubernetes v1.32 topology spread fields as a manifest carries them: accepted, kept, checked and published.</summary>
public sealed class TopologySpreadFieldsTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    private const string Constraint =
        """{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"web"}},"minDomains":2,"nodeAffinityPolicy":"Ignore","nodeTaintsPolicy":"Honor","matchLabelKeys":["pod-template-hash"]}""";

    private static string Pod(string name, string constraint) =>
        """{"apiVersion":"v1","kind":"Pod","metadata":{"name":""" + $"\"{name}\"" +
        ""","labels":{"app":"web","pod-template-hash":"abc"}},"spec":{"containers":[{"name":"c","image":"img:1"}],"topologySpreadConstraints":[""" +
        constraint + "]}}";

    [Fact]
    public async Task Pod_WithNodeInclusionPoliciesAndMatchLabelKeys_IsCreatedUnderStrictValidation_AndReadBackAsSent()
    {
        var created = await _client.PostAsync("/api/v1/namespaces/default/pods?fieldValidation=Strict", Api.Json(Pod("spread-fields", Constraint)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.False(created.Headers.Contains("Warning"));

        var stored = await (await _client.GetAsync("/api/v1/namespaces/default/pods/spread-fields")).ReadObjectAsync();

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Constraint), stored["spec"]!["topologySpreadConstraints"]![0]),
            stored["spec"]!["topologySpreadConstraints"]!.ToJsonString());
    }

    [Fact]
    public async Task Pod_WithAnUnknownPolicy_OrMatchLabelKeysNamingTheSelectorsKey_Is422WithKubernetesCauses()
    {
        const string bad =
            """{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"web"}},"nodeTaintsPolicy":"Always","matchLabelKeys":["app"]}""";

        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(Pod("spread-bad", bad))), 422);

        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        var causes = status["details"]!["causes"]!.AsArray()
            .Select(c => $"{c!["reason"]!.GetValue<string>()} {c["field"]!.GetValue<string>()}: {c["message"]!.GetValue<string>()}").ToList();
        Assert.Equal(
        [
            "FieldValueNotSupported spec.topologySpreadConstraints[0].nodeTaintsPolicy: Unsupported value: \"Always\": supported values: \"Honor\", \"Ignore\"",
            "FieldValueInvalid spec.topologySpreadConstraints[0].matchLabelKeys[0]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector",
        ], causes);
    }

    [Fact]
    public async Task OpenApi_PublishesTheFields_ForKubectlExplainAndApply()
    {
        var document = JsonNode.Parse(await _client.GetStringAsync("/openapi/v3/api/v1"))!;

        var properties = document["components"]!["schemas"]!["io.k8s.api.core.v1.TopologySpreadConstraint"]!["properties"]!.AsObject();

        Assert.Equal("string", properties["nodeAffinityPolicy"]!["type"]!.GetValue<string>());
        Assert.Equal("string", properties["nodeTaintsPolicy"]!["type"]!.GetValue<string>());
        Assert.Equal("string", properties["matchLabelKeys"]!["items"]!["type"]!.GetValue<string>());
        Assert.StartsWith("NodeTaintsPolicy indicates how we will treat node taints", properties["nodeTaintsPolicy"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Protobuf_CarriesTheFieldsUnderKubernetesNumbers()
    {
        var body = ProtoWriter.Body("v1", "Pod", p => p
            .Message(1, m => m.String(1, "spread-proto"))
            .Message(2, s => s.Message(33, c => c
                .Int(1, 1).String(2, "zone").String(3, "DoNotSchedule")
                .String(6, "Ignore").String(7, "Honor").String(8, "pod-template-hash").String(8, "rev"))));
        var ignored = new List<string>();

        var json = KubernetesProtobuf.Decode(body, ResourceCatalog.FindByKind("v1", "Pod")!, ignored);

        Assert.Empty(ignored);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","nodeAffinityPolicy":"Ignore","nodeTaintsPolicy":"Honor","matchLabelKeys":["pod-template-hash","rev"]}"""),
            json["spec"]!["topologySpreadConstraints"]![0]), json.ToJsonString());
    }
}
