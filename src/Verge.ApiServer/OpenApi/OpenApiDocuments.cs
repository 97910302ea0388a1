using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Nodes;
using Verge.Core.Meta;

namespace Verge.ApiServer.OpenApi;

/// <summary>
/// The OpenAPI documents of a catalog, built once and served as precomputed bytes: the <c>/openapi/v3</c> index,
/// one OpenAPI 3.0 document per group-version (<c>/openapi/v3/api/v1</c>, <c>/openapi/v3/apis/apps/v1</c>) and the
/// Swagger 2.0 document (<c>/openapi/v2</c>, JSON only). Output is canonical (keys sorted) so hashes are stable.
/// </summary>
internal sealed class OpenApiDocuments
{
    private const string Title = "Verge";
    private const string ApiVersion = "unversioned";

    private readonly Dictionary<string, OpenApiDocument> _groupVersions;

    private OpenApiDocuments(OpenApiDocument index, Dictionary<string, OpenApiDocument> groupVersions, OpenApiDocument v2)
    {
        Index = index;
        _groupVersions = groupVersions;
        V2 = v2;
    }

    /// <summary><c>/openapi/v3</c>: <c>{"paths":{"apis/apps/v1":{"serverRelativeURL":"/openapi/v3/apis/apps/v1?hash=..."}}}</c>.</summary>
    public OpenApiDocument Index { get; }

    /// <summary><c>/openapi/v2</c> as JSON.</summary>
    public OpenApiDocument V2 { get; }

    /// <summary>The group-version documents keyed by <c>api/v1</c>, <c>apis/apps/v1</c>, ...</summary>
    public IReadOnlyDictionary<string, OpenApiDocument> GroupVersions => _groupVersions;

    /// <summary>Finds the document for the path after <c>/openapi/v3/</c> (<c>api/v1</c>, <c>apis/apps/v1</c>).</summary>
    public bool TryGetGroupVersion(string path, [NotNullWhen(true)] out OpenApiDocument? document) =>
        _groupVersions.TryGetValue(path.Trim('/'), out document);

    public static OpenApiDocuments Build(IReadOnlyList<ResourceType> types)
    {
        var ordered = types
            .OrderBy(t => t.Group, StringComparer.Ordinal)
            .ThenBy(t => t.Version, StringComparer.Ordinal)
            .ThenBy(t => t.Kind, StringComparer.Ordinal)
            .ToList();

        var registry = new SchemaRegistry(ordered);
        var kinds = new List<(ResourceType Type, string Schema, string ListSchema)>();
        foreach (var type in ordered)
        {
            var schema = registry.AddKind(type);
            var listKind = new GroupVersionKind(type.Group, type.Version, type.Kind + "List");
            var listSchema = $"{SchemaNames.Prefix(type.Group, type.Version)}.{listKind.Kind}";
            registry.Add(listSchema, MetaSchemas.List(schema, listKind));
            kinds.Add((type, schema, listSchema));
        }

        registry.AddKindOf(registry.AddMetaType(typeof(Status)), new GroupVersionKind("", "v1", "Status"));
        registry.AddMetaType(typeof(ListMeta));
        registry.AddMetaType(typeof(ObjectMeta));
        registry.Add(SchemaNames.DeleteOptions, MetaSchemas.DeleteOptions(ordered.Select(t => (t.Group, t.Version))));
        registry.Add(SchemaNames.Preconditions, MetaSchemas.Preconditions());
        registry.Add(SchemaNames.Patch, MetaSchemas.Patch());
        if (ordered.Any(t => t.Scale is not null))
        {
            registry.Add(SchemaNames.Scale, MetaSchemas.Scale());
            registry.Add(SchemaNames.ScaleSpec, MetaSchemas.ScaleSpec());
            registry.Add(SchemaNames.ScaleStatus, MetaSchemas.ScaleStatus());
        }

        registry.Complete();
        var references = registry.Schemas.ToDictionary(
            s => s.Key, s => References(s.Value, SchemaNames.V3RefPrefix).ToList(), StringComparer.Ordinal);

        var groupVersions = new Dictionary<string, OpenApiDocument>(StringComparer.Ordinal);
        var index = new JsonObject();
        foreach (var group in kinds.GroupBy(k => SchemaNames.GroupVersionPath(k.Type.Group, k.Type.Version)))
        {
            var tag = group.First().Type.Group.Length == 0
                ? $"core_{group.First().Type.Version}"
                : $"{group.First().Type.Group.Replace('.', '_')}_{group.First().Type.Version}";
            var paths = new JsonObject();
            foreach (var (type, schema, listSchema) in group)
            {
                foreach (var path in ApiPaths.For(type, schema, listSchema))
                {
                    paths[path.Path] = ApiPaths.ToV3(path, tag);
                }
            }

            var schemas = new JsonObject();
            foreach (var name in Closure(group.Select(k => k.Schema).Concat(References(paths, SchemaNames.V3RefPrefix)), references))
            {
                schemas[name] = registry.Schemas[name].DeepClone();
            }

            var document = new JsonObject
            {
                ["components"] = new JsonObject { ["schemas"] = schemas },
                ["info"] = new JsonObject { ["title"] = Title, ["version"] = ApiVersion },
                ["openapi"] = "3.0.0",
                ["paths"] = paths,
            };
            var served = new OpenApiDocument(CanonicalJson.ToUtf8Bytes(document));
            groupVersions[group.Key] = served;
            index[group.Key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{group.Key}?hash={served.Hash}" };
        }

        var v2Paths = new JsonObject();
        foreach (var (type, schema, listSchema) in kinds)
        {
            var tag = type.Group.Length == 0 ? $"core_{type.Version}" : $"{type.Group.Replace('.', '_')}_{type.Version}";
            foreach (var path in ApiPaths.For(type, schema, listSchema))
            {
                v2Paths[path.Path] = ApiPaths.ToV2(path, tag);
            }
        }

        var definitions = new JsonObject();
        foreach (var (name, schema) in registry.Schemas)
        {
            definitions[name] = name switch
            {
                SchemaNames.Quantity => MetaSchemas.QuantityV2(),
                SchemaNames.IntOrString => MetaSchemas.IntOrStringV2(),
                _ => ToV2(schema),
            };
        }

        var swagger = new JsonObject
        {
            ["definitions"] = definitions,
            ["info"] = new JsonObject { ["title"] = Title, ["version"] = ApiVersion },
            ["paths"] = v2Paths,
            ["swagger"] = "2.0",
        };

        return new OpenApiDocuments(
            new OpenApiDocument(CanonicalJson.ToUtf8Bytes(new JsonObject { ["paths"] = index })),
            groupVersions,
            new OpenApiDocument(CanonicalJson.ToUtf8Bytes(swagger)));
    }

    /// <summary>Every schema name a JSON tree references with the given prefix.</summary>
    internal static IEnumerable<string> References(JsonNode? node, string prefix)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "$ref" && value is JsonValue reference && reference.TryGetValue<string>(out var text)
                        && text.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        yield return text[prefix.Length..];
                    }
                    else
                    {
                        foreach (var name in References(value, prefix))
                        {
                            yield return name;
                        }
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    foreach (var name in References(item, prefix))
                    {
                        yield return name;
                    }
                }

                break;
        }
    }

    private static SortedSet<string> Closure(IEnumerable<string> roots, Dictionary<string, List<string>> references)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(roots);
        while (pending.TryPop(out var name))
        {
            if (seen.Add(name))
            {
                foreach (var next in references[name])
                {
                    pending.Push(next);
                }
            }
        }

        return seen;
    }

    /// <summary>
    /// A v3 schema in Swagger 2.0 form: references point into <c>definitions</c>, and a described reference is a
    /// <c>$ref</c> with a sibling description (as Kubernetes publishes v2) rather than an <c>allOf</c>.
    /// </summary>
    private static JsonNode? ToV2(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (key == "allOf" && value is JsonArray { Count: 1 } allOf && allOf[0] is JsonObject { Count: 1 } only
                        && only["$ref"] is JsonValue)
                    {
                        result["$ref"] = ToV2(only["$ref"]);
                    }
                    else
                    {
                        result[key] = ToV2(value);
                    }
                }

                return result;
            case JsonArray array:
                return new JsonArray([.. array.Select(ToV2)]);
            case JsonValue value when value.TryGetValue<string>(out var text)
                && text.StartsWith(SchemaNames.V3RefPrefix, StringComparison.Ordinal):
                return SchemaNames.V2RefPrefix + text[SchemaNames.V3RefPrefix.Length..];
            default:
                return node?.DeepClone();
        }
    }
}
