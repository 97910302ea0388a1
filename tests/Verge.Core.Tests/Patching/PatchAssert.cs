using System.Text.Json.Nodes;
using Verge.Core.Patching;

namespace Verge.Core.Tests.Patching;

internal static class PatchAssert
{
    public static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    public static JsonArray Arr(string json) => JsonNode.Parse(json)!.AsArray();

    /// <summary>Asserts structural equality (object member order ignored, array order significant).</summary>
    public static void Json(string expected, JsonNode? actual)
    {
        var expectedNode = JsonNode.Parse(expected);
        Assert.True(
            JsonNode.DeepEquals(expectedNode, actual),
            $"expected {expectedNode?.ToJsonString()}\n  actual {actual?.ToJsonString()}");
    }
}

/// <summary>A hand-written schema shaped like Deployment's, for the algorithm tests.</summary>
internal sealed class DeploymentLikeSchema : IPatchSchema
{
    public static DeploymentLikeSchema Instance { get; } = new();

    private static readonly Dictionary<string, ListSchema> Lists = new()
    {
        ["metadata.finalizers"] = ListSchema.Set,
        ["metadata.ownerReferences"] = ListSchema.ByKey("uid"),
        ["spec.template.spec.containers"] = ListSchema.ByKey("name"),
        ["spec.template.spec.containers.env"] = ListSchema.ByKey("name"),
        ["spec.template.spec.containers.ports"] = ListSchema.ByKey("containerPort"),
        ["spec.template.spec.volumes"] = ListSchema.ByKey("name"),
        ["spec.template.metadata.finalizers"] = ListSchema.Set,
    };

    public ListSchema GetList(IReadOnlyList<string> path) =>
        Lists.GetValueOrDefault(string.Join('.', path), ListSchema.Atomic);
}
