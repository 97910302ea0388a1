using System.Text.Json.Nodes;
using CsCheck;

namespace Verge.Core.Tests.Patching;

/// <summary>Generators of JSON documents without nulls, for property tests.</summary>
internal static class JsonGen
{
    public static Gen<string> Key { get; } = Gen.String[Gen.Char["abcde"], 1, 3];

    public static Gen<JsonNode> Scalar { get; } = Gen.OneOf(
        Gen.Int[-5, 5].Select(i => (JsonNode)JsonValue.Create(i)),
        Gen.String[Gen.Char["xyz"], 0, 3].Select(s => (JsonNode)JsonValue.Create(s)),
        Gen.Bool.Select(b => (JsonNode)JsonValue.Create(b)));

    public static Gen<JsonObject> Object { get; } = ObjectOf(2);

    public static Gen<JsonObject> ObjectOf(int depth) =>
        Gen.Select(Key.Array[0, 4], Node(depth).Array[4], (keys, values) =>
        {
            var obj = new JsonObject();
            for (var i = 0; i < keys.Length; i++)
            {
                obj[keys[i]] = values[i].DeepClone();
            }

            return obj;
        });

    private static Gen<JsonNode> Node(int depth) => depth == 0
        ? Scalar
        : Gen.OneOf(
            Scalar,
            ObjectOf(depth - 1).Select(o => (JsonNode)o),
            Node(depth - 1).Array[0, 3].Select(items => (JsonNode)new JsonArray([.. items.Select(i => i.DeepClone())])));
}
