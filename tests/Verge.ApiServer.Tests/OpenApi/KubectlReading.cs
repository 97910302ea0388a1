using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.OpenApi;

/// <summary>
/// How kubectl v1.32 reads a group-version document, restated in C# so the tests check the documents the way
/// kubectl uses them: the fieldValidation check of cli-runtime's query_param_verifier_v3.go and the schema
/// lookup of kubectl explain's v2 template.
/// </summary>
internal static class KubectlReading
{
    /// <summary>
    /// query_param_verifier_v3.go: walks the paths (in Go's random map order), takes the first PATCH operation
    /// whose <c>x-kubernetes-group-version-kind</c> object equals the GVK, and answers whether that operation's
    /// own parameters (not the path's) name the query parameter. Because the order is random, every matching
    /// PATCH operation must carry it: this returns true only if all do.
    /// </summary>
    public static bool SupportsQueryParam(JsonNode document, string group, string version, string kind, string parameter)
    {
        var found = false;
        foreach (var (_, pathItem) in document["paths"]!.AsObject())
        {
            if (pathItem!["patch"] is not JsonObject patch || !IsGvk(patch["x-kubernetes-group-version-kind"], group, version, kind))
            {
                continue;
            }

            var parameters = patch["parameters"] as JsonArray ?? [];
            if (!parameters.Any(p => p!["name"]?.GetValue<string>() == parameter))
            {
                return false;
            }

            found = true;
        }

        return found;
    }

    /// <summary>
    /// kubectl explain: finds the GVK on an operation of the resource's list or item path (cluster or namespace
    /// scoped), then the component schema whose GVK list contains exactly that object, then follows the field
    /// path through properties, allOf, $ref, items and additionalProperties. Returns the schema of the last field.
    /// </summary>
    public static JsonNode? Explain(JsonNode document, string group, string version, string resource, params string[] fieldPath)
    {
        var prefix = group.Length == 0 ? "/api" : "/apis/" + group;
        string[] searchPaths =
        [
            $"{prefix}/{version}/{resource}",
            $"{prefix}/{version}/{resource}/{{name}}",
            $"{prefix}/{version}/namespaces/{{namespace}}/{resource}",
            $"{prefix}/{version}/namespaces/{{namespace}}/{resource}/{{name}}",
        ];
        JsonNode? gvk = null;
        foreach (var searchPath in searchPaths)
        {
            if (document["paths"]![searchPath] is not JsonObject item)
            {
                continue;
            }

            foreach (var method in new[] { "get", "post", "put", "patch", "delete" })
            {
                gvk ??= item[method]?["x-kubernetes-group-version-kind"];
            }
        }

        if (gvk is null)
        {
            return null;
        }

        var schema = document["components"]!["schemas"]!.AsObject()
            .Select(s => s.Value!)
            .FirstOrDefault(s => s["x-kubernetes-group-version-kind"] is JsonArray list && list.Any(e => JsonNode.DeepEquals(e, gvk)));
        foreach (var field in fieldPath)
        {
            schema = schema is null ? null : Field(document, schema, field);
        }

        return schema;
    }

    private static JsonNode? Field(JsonNode document, JsonNode schema, string field)
    {
        var resolved = Resolve(document, schema);
        if (resolved?["properties"]?[field] is { } property)
        {
            return property;
        }

        if (resolved?["items"] is { } items)
        {
            return Field(document, items, field);
        }

        if (resolved?["additionalProperties"] is JsonObject values)
        {
            return Field(document, values, field);
        }

        foreach (var sub in resolved?["allOf"] as JsonArray ?? [])
        {
            if (Field(document, sub!, field) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    public static JsonNode? Resolve(JsonNode document, JsonNode schema) =>
        schema["$ref"]?.GetValue<string>() is { } reference
            ? document["components"]!["schemas"]![reference["#/components/schemas/".Length..]]
            : schema;

    private static bool IsGvk(JsonNode? node, string group, string version, string kind) =>
        node is JsonObject o && o["group"]?.GetValue<string>() == group && o["version"]?.GetValue<string>() == version
        && o["kind"]?.GetValue<string>() == kind;
}
