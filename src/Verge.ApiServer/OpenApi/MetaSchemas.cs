using System.Text.Json.Nodes;

namespace Verge.ApiServer.OpenApi;

/// <summary>
/// The schemas Verge writes by hand because they have no Verge type of their own, or because Kubernetes publishes
/// them in a shape a JSON contract cannot show (Quantity, IntOrString).
/// </summary>
internal static class MetaSchemas
{
    /// <summary>As Kubernetes publishes it in v3: a string or a number.</summary>
    public static JsonObject Quantity() => new()
    {
        ["description"] = "Quantity is a fixed-point representation of a number, such as 100m, 1.5Gi or 2, " +
            "used for resource requests and limits.",
        ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
    };

    /// <summary>As Kubernetes publishes it in v3, with the structural-schema marker CRDs use.</summary>
    public static JsonObject IntOrString() => new()
    {
        ["description"] = "IntOrString is a type that can hold an int32 or a string, such as a port number or name.",
        ["format"] = "int-or-string",
        ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" }),
        ["x-kubernetes-int-or-string"] = true,
    };

    /// <summary>Quantity in Swagger 2.0, which has no oneOf.</summary>
    public static JsonObject QuantityV2() => new()
    {
        ["description"] = Quantity()["description"]!.GetValue<string>(),
        ["type"] = "string",
    };

    /// <summary>IntOrString in Swagger 2.0, which has no oneOf.</summary>
    public static JsonObject IntOrStringV2() => new()
    {
        ["description"] = IntOrString()["description"]!.GetValue<string>(),
        ["format"] = "int-or-string",
        ["type"] = "string",
    };

    public static JsonObject Patch() => new()
    {
        ["description"] = "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        ["type"] = "object",
    };

    public static JsonObject Preconditions() => Object(
        "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.",
        ("resourceVersion", String("Specifies the target ResourceVersion")),
        ("uid", String("Specifies the target UID.")));

    /// <summary>DeleteOptions, accepted by every group-version (one GVK entry each, as Kubernetes lists them).</summary>
    public static JsonObject DeleteOptions(IEnumerable<(string Group, string Version)> groupVersions)
    {
        var schema = Object(
            "DeleteOptions may be provided when deleting an API object.",
            ("apiVersion", String("APIVersion defines the versioned schema of this representation of an object.")),
            ("dryRun", new JsonObject
            {
                ["description"] = "When present, indicates that modifications should not be persisted. Valid value: All.",
                ["items"] = new JsonObject { ["type"] = "string" },
                ["type"] = "array",
                ["x-kubernetes-list-type"] = "atomic",
            }),
            ("gracePeriodSeconds", Integer("The duration in seconds before the object should be deleted.", "int64")),
            ("kind", String("Kind is a string value representing the REST resource this object represents.")),
            ("orphanDependents", new JsonObject
            {
                ["description"] = "Deprecated: use propagationPolicy. Whether dependents are orphaned.",
                ["type"] = "boolean",
            }),
            ("preconditions", new JsonObject
            {
                ["allOf"] = new JsonArray(new JsonObject { ["$ref"] = SchemaNames.V3RefPrefix + SchemaNames.Preconditions }),
                ["description"] = "Must be fulfilled before a deletion is carried out.",
            }),
            ("propagationPolicy", String("Whether and how garbage collection is performed: Orphan, Background or Foreground.")));
        var kinds = new JsonArray();
        foreach (var (group, version) in groupVersions.Append(("", "v1")).Distinct()
                     .OrderBy(gv => gv.Item1, StringComparer.Ordinal).ThenBy(gv => gv.Item2, StringComparer.Ordinal))
        {
            kinds.Add(new GroupVersionKind(group, version, "DeleteOptions").ToJson());
        }

        schema["x-kubernetes-group-version-kind"] = kinds;
        return schema;
    }

    public static JsonObject Scale()
    {
        var schema = Object(
            "Scale represents a scaling request for a resource.",
            ("apiVersion", String("APIVersion defines the versioned schema of this representation of an object.")),
            ("kind", String("Kind is a string value representing the REST resource this object represents.")),
            ("metadata", Ref(SchemaNames.ObjectMeta, "Standard object metadata.")),
            ("spec", Ref(SchemaNames.ScaleSpec, "Defines the behavior of the scale.")),
            ("status", Ref(SchemaNames.ScaleStatus, "The current status of the scale. Read-only.")));
        schema["x-kubernetes-group-version-kind"] = new JsonArray(new GroupVersionKind("autoscaling", "v1", "Scale").ToJson());
        return schema;
    }

    public static JsonObject ScaleSpec() => Object(
        "ScaleSpec describes the attributes of a scale subresource.",
        ("replicas", Integer("The desired number of instances for the scaled object.", "int32")));

    public static JsonObject ScaleStatus()
    {
        var schema = Object(
            "ScaleStatus represents the current status of a scale subresource.",
            ("replicas", Integer("The actual number of observed instances of the scaled object.", "int32")),
            ("selector", String("The label query over pods that should match the replicas count, in text form.")));
        schema["required"] = new JsonArray("replicas");
        return schema;
    }

    /// <summary>The list kind of a kind (<c>DeploymentList</c>), which Verge serves but does not model as a type.</summary>
    public static JsonObject List(string itemSchema, GroupVersionKind listKind)
    {
        var schema = Object(
            $"{listKind.Kind} is a list of {listKind.Kind[..^4]} objects.",
            ("apiVersion", String("APIVersion defines the versioned schema of this representation of an object.")),
            ("items", new JsonObject
            {
                ["description"] = "The items of the list.",
                ["items"] = new JsonObject { ["$ref"] = SchemaNames.V3RefPrefix + itemSchema },
                ["type"] = "array",
            }),
            ("kind", String("Kind is a string value representing the REST resource this object represents.")),
            ("metadata", Ref(SchemaNames.ListMeta, "Standard list metadata.")));
        schema["required"] = new JsonArray("items");
        schema["x-kubernetes-group-version-kind"] = new JsonArray(listKind.ToJson());
        return schema;
    }

    private static JsonObject Object(string description, params (string Name, JsonObject Schema)[] properties)
    {
        var props = new JsonObject();
        foreach (var (name, schema) in properties)
        {
            props[name] = schema;
        }

        return new JsonObject { ["description"] = description, ["properties"] = props, ["type"] = "object" };
    }

    private static JsonObject String(string description) => new() { ["description"] = description, ["type"] = "string" };

    private static JsonObject Integer(string description, string format) =>
        new() { ["description"] = description, ["format"] = format, ["type"] = "integer" };

    private static JsonObject Ref(string name, string description) => new()
    {
        ["allOf"] = new JsonArray(new JsonObject { ["$ref"] = SchemaNames.V3RefPrefix + name }),
        ["description"] = description,
    };
}
