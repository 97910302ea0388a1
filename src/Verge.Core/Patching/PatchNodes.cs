using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>Small helpers over JSON nodes shared by the patch algorithms.</summary>
internal static class PatchNodes
{
    /// <summary>Compact JSON without HTML escaping, so keys such as <c>k:{"name":"a"}</c> read as Kubernetes writes them.</summary>
    public static JsonSerializerOptions Compact { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ToJson(JsonNode? node) => node is null ? "null" : node.ToJsonString(Compact);

    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a value",
        },
    };

    public static bool IsScalar(JsonNode? node) => node is not JsonObject and not JsonArray;

    /// <summary>Renders a path of field names as <c>spec.template.spec.containers</c>, or <c>&lt;root&gt;</c>.</summary>
    public static string Dotted(IReadOnlyList<string> path) => path.Count == 0 ? "<root>" : string.Join('.', path);
}
