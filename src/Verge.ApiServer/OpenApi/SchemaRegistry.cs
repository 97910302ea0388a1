using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Verge.Core.Meta;

namespace Verge.ApiServer.OpenApi;

/// <summary>
/// Turns the JSON contracts of the catalog's kinds into named OpenAPI v3 schemas. Types are walked through
/// <see cref="JsonTypeInfo"/> (so source-generated contexts work) and every object type becomes one named schema
/// referenced by <c>$ref</c>, which also ends cycles: a type is named before its properties are walked.
/// </summary>
internal sealed class SchemaRegistry
{
    private static readonly string? MetaNamespace = typeof(ObjectMeta).Namespace;

    private readonly Dictionary<Type, string> _names = [];
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, JsonObject> _schemas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _impliedRequired = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<GroupVersionKind>> _kinds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Group, string Version)?> _namespaceOwners = new(StringComparer.Ordinal);
    private readonly JsonSerializerOptions _metaOptions = OpenApiMetaJsonContext.Default.Options;
    private JsonSerializerOptions _options;
    private (string Group, string Version) _current = ("", "v1");

    public SchemaRegistry(IEnumerable<ResourceType> types)
    {
        _options = _metaOptions;
        foreach (var type in types)
        {
            var ns = type.TypeInfo.Type.Namespace ?? "";
            if (_namespaceOwners.TryGetValue(ns, out var owner))
            {
                if (owner != (type.Group, type.Version))
                {
                    _namespaceOwners[ns] = null;
                }
            }
            else
            {
                _namespaceOwners[ns] = (type.Group, type.Version);
            }
        }
    }

    public IReadOnlyDictionary<string, JsonObject> Schemas => _schemas;

    /// <summary>Registers a kind and everything it reaches; returns the kind's schema name.</summary>
    public string AddKind(ResourceType type)
    {
        _options = type.TypeInfo.Options;
        _current = (type.Group, type.Version);
        var clr = type.TypeInfo.Type;
        if (!_names.TryGetValue(clr, out var name))
        {
            name = Claim($"{SchemaNames.Prefix(type.Group, type.Version)}.{type.Kind}", clr);
            _names[clr] = name;
            _schemas[name] = ObjectSchema(clr, type.TypeInfo);
        }

        AddKindOf(name, new GroupVersionKind(type.Group, type.Version, type.Kind));
        return name;
    }

    /// <summary>Registers a meta type (Status, ListMeta) through the kinds' contracts or Verge's own.</summary>
    public string AddMetaType(Type clr)
    {
        _options = _metaOptions;
        return NamedSchema(clr);
    }

    /// <summary>Marks a schema as the schema of a kind (Status is <c>v1 Status</c> for every group).</summary>
    public void AddKindOf(string name, GroupVersionKind kind)
    {
        if (!_kinds.TryGetValue(name, out var kinds))
        {
            _kinds[name] = kinds = [];
        }

        kinds.Add(kind);
    }

    /// <summary>Adds a hand-written schema (DeleteOptions, Patch, Scale, a kind's list).</summary>
    public void Add(string name, JsonObject schema) => _schemas.TryAdd(name, schema);

    /// <summary>Writes what is known only after every kind was walked: GVK lists and required map keys.</summary>
    public void Complete()
    {
        foreach (var (name, kinds) in _kinds)
        {
            var list = new JsonArray();
            foreach (var gvk in kinds.OrderBy(k => k.Group, StringComparer.Ordinal)
                         .ThenBy(k => k.Version, StringComparer.Ordinal).ThenBy(k => k.Kind, StringComparer.Ordinal))
            {
                list.Add(gvk.ToJson());
            }

            _schemas[name]["x-kubernetes-group-version-kind"] = list;
        }

        foreach (var (name, keys) in _impliedRequired)
        {
            if (!_schemas.TryGetValue(name, out var schema) || schema["properties"] is not JsonObject properties)
            {
                continue;
            }

            var required = new SortedSet<string>(
                (schema["required"] as JsonArray ?? []).Select(n => n!.GetValue<string>()), StringComparer.Ordinal);
            required.UnionWith(keys.Where(properties.ContainsKey));
            schema["required"] = new JsonArray([.. required.Select(r => (JsonNode)r)]);
        }
    }

    private string Claim(string name, Type clr)
    {
        var candidate = name;
        for (var i = 2; !_taken.Add(candidate); i++)
        {
            // Two CLR types that would share a name: keep both, the later one distinguished by its namespace.
            var ns = clr.Namespace?.Split('.')[^1] ?? "";
            candidate = i == 2 ? $"{name[..(name.LastIndexOf('.') + 1)]}{ns}{clr.Name}" : $"{name}{i}";
        }

        return candidate;
    }

    private string NamedSchema(Type clr)
    {
        if (_names.TryGetValue(clr, out var name))
        {
            return name;
        }

        string prefix;
        if (clr.Namespace == MetaNamespace || clr.Name.StartsWith("LabelSelector", StringComparison.Ordinal))
        {
            // metav1 in Kubernetes, wherever Verge keeps them.
            prefix = SchemaNames.Meta;
        }
        else if (_namespaceOwners.TryGetValue(clr.Namespace ?? "", out var owner) && owner is { } gv)
        {
            prefix = SchemaNames.Prefix(gv.Group, gv.Version);
        }
        else
        {
            prefix = SchemaNames.Prefix(_current.Group, _current.Version);
        }

        name = Claim($"{prefix}.{clr.Name}", clr);
        _names[clr] = name;
        _schemas[name] = new JsonObject(); // placeholder: ends cycles while the properties are walked
        _schemas[name] = ObjectSchema(clr, Resolve(clr));
        return name;
    }

    private JsonTypeInfo Resolve(Type clr)
    {
        if (_options.TryGetTypeInfo(clr, out var info) || _metaOptions.TryGetTypeInfo(clr, out info))
        {
            return info;
        }

        throw new InvalidOperationException(
            $"No JSON contract for {clr.FullName}: add it to the source-generated context of the kinds that use it.");
    }

    private JsonObject ObjectSchema(Type clr, JsonTypeInfo info)
    {
        var schema = new JsonObject { ["type"] = "object" };
        if (clr.GetCustomAttribute<DescriptionAttribute>() is { } description)
        {
            schema["description"] = description.Description;
        }

        var properties = new JsonObject();
        var required = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var property in info.Properties.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (property.IsExtensionData)
            {
                schema["x-kubernetes-preserve-unknown-fields"] = true;
                continue;
            }

            properties[property.Name] = PropertySchema(property);
            if (property.IsRequired)
            {
                required.Add(property.Name);
            }
        }

        if (properties.Count > 0)
        {
            schema["properties"] = properties;
        }

        if (required.Count > 0)
        {
            schema["required"] = new JsonArray([.. required.Select(r => (JsonNode)r)]);
        }

        return schema;
    }

    private JsonObject PropertySchema(JsonPropertyInfo property)
    {
        var provider = property.AttributeProvider;
        var schema = TypeSchema(property.PropertyType);
        var description = Attribute<DescriptionAttribute>(provider)?.Description
            ?? (property.DeclaringType == typeof(KubeObject) ? WellKnownDescription(property.Name) : null);

        if (schema["type"]?.GetValue<string>() == "array")
        {
            if (Attribute<MergeKeyAttribute>(provider) is { } mergeKey)
            {
                schema["x-kubernetes-list-map-keys"] = new JsonArray(mergeKey.Key);
                schema["x-kubernetes-list-type"] = "map";
                schema["x-kubernetes-patch-merge-key"] = mergeKey.Key;
                schema["x-kubernetes-patch-strategy"] = "merge";
                if (RefName(schema["items"]) is { } itemName)
                {
                    if (!_impliedRequired.TryGetValue(itemName, out var keys))
                    {
                        _impliedRequired[itemName] = keys = new SortedSet<string>(StringComparer.Ordinal);
                    }

                    keys.Add(mergeKey.Key);
                }
            }
            else if (Attribute<MergeSetAttribute>(provider) is not null)
            {
                schema["x-kubernetes-list-type"] = "set";
                schema["x-kubernetes-patch-strategy"] = "merge";
            }
            else
            {
                schema["x-kubernetes-list-type"] = "atomic";
            }
        }

        if (Attribute<RetainKeysAttribute>(provider) is not null)
        {
            schema = schema.Count == 1 && schema.ContainsKey("$ref") ? new JsonObject { ["allOf"] = new JsonArray(schema) } : schema;
            schema["x-kubernetes-patch-strategy"] = "retainKeys";
        }

        if (description is null)
        {
            return schema;
        }

        if (schema.Count == 1 && schema.ContainsKey("$ref"))
        {
            // A $ref cannot carry siblings in OpenAPI 3.0: Kubernetes wraps it in allOf to describe the field.
            schema = new JsonObject { ["allOf"] = new JsonArray(schema) };
        }

        schema["description"] = description;
        return schema;
    }

    private JsonObject TypeSchema(Type clr)
    {
        clr = Nullable.GetUnderlyingType(clr) ?? clr;
        if (Primitive(clr) is { } primitive)
        {
            return primitive;
        }

        if (clr.Name == "Quantity")
        {
            return Ref(SchemaNames.Quantity, MetaSchemas.Quantity);
        }

        if (clr.Name == "IntOrString")
        {
            return Ref(SchemaNames.IntOrString, MetaSchemas.IntOrString);
        }

        if (clr == typeof(JsonArray))
        {
            return new JsonObject { ["type"] = "array", ["items"] = FreeForm() };
        }

        if (clr == typeof(object) || clr == typeof(JsonElement) || typeof(JsonNode).IsAssignableFrom(clr))
        {
            return FreeForm();
        }

        var info = Resolve(clr);
        if (clr.IsEnum)
        {
            return EnumSchema(clr, info);
        }

        return info.Kind switch
        {
            JsonTypeInfoKind.Enumerable => new JsonObject { ["type"] = "array", ["items"] = TypeSchema(info.ElementType!) },
            JsonTypeInfoKind.Dictionary => new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = TypeSchema(info.ElementType!),
            },
            JsonTypeInfoKind.Object => new JsonObject { ["$ref"] = SchemaNames.V3RefPrefix + NamedSchema(clr) },

            // A type with its own converter: its JSON shape is not visible in the contract; Kubernetes' such
            // types (Time, Quantity, selectors in text form) are strings.
            _ => new JsonObject { ["type"] = "string" },
        };
    }

    private JsonObject Ref(string name, Func<JsonObject> create)
    {
        if (!_schemas.ContainsKey(name))
        {
            _schemas[name] = create();
        }

        return new JsonObject { ["$ref"] = SchemaNames.V3RefPrefix + name };
    }

    private static JsonObject EnumSchema(Type clr, JsonTypeInfo info)
    {
        var values = new JsonArray();
        var isString = false;
        foreach (var raw in Enum.GetValuesAsUnderlyingType(clr))
        {
            var node = JsonSerializer.SerializeToNode(Enum.ToObject(clr, raw), info);
            if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String)
            {
                isString = true;
                values.Add(value.GetValue<string>());
            }
        }

        if (!isString)
        {
            return new JsonObject { ["type"] = "integer", ["format"] = "int32" };
        }

        return new JsonObject { ["type"] = "string", ["enum"] = values };
    }

    private static JsonObject? Primitive(Type clr) => clr switch
    {
        _ when clr == typeof(string) || clr == typeof(char) || clr == typeof(Uri) || clr == typeof(TimeSpan) => Simple("string"),
        _ when clr == typeof(bool) => Simple("boolean"),
        _ when clr == typeof(int) || clr == typeof(short) || clr == typeof(ushort) || clr == typeof(byte) || clr == typeof(sbyte) => Simple("integer", "int32"),
        _ when clr == typeof(long) || clr == typeof(uint) || clr == typeof(ulong) => Simple("integer", "int64"),
        _ when clr == typeof(double) || clr == typeof(decimal) => Simple("number", "double"),
        _ when clr == typeof(float) => Simple("number", "float"),
        _ when clr == typeof(DateTimeOffset) || clr == typeof(DateTime) => Simple("string", "date-time"),
        _ when clr == typeof(DateOnly) => Simple("string", "date"),
        _ when clr == typeof(Guid) => Simple("string", "uuid"),
        _ when clr == typeof(byte[]) => Simple("string", "byte"),
        _ => null,
    };

    private static JsonObject Simple(string type, string? format = null)
    {
        var schema = new JsonObject { ["type"] = type };
        if (format is not null)
        {
            schema["format"] = format;
        }

        return schema;
    }

    private static JsonObject FreeForm() => new() { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };

    private static string? RefName(JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } reference && reference.StartsWith(SchemaNames.V3RefPrefix, StringComparison.Ordinal)
            ? reference[SchemaNames.V3RefPrefix.Length..]
            : null;

    private static T? Attribute<T>(ICustomAttributeProvider? provider)
        where T : Attribute =>
        provider?.GetCustomAttributes(typeof(T), inherit: true).OfType<T>().FirstOrDefault();

    private static string? WellKnownDescription(string jsonName) => jsonName switch
    {
        "apiVersion" => "APIVersion defines the versioned schema of this representation of an object.",
        "kind" => "Kind is a string value representing the REST resource this object represents. In CamelCase.",
        "metadata" => "Standard object's metadata.",
        _ => null,
    };
}
