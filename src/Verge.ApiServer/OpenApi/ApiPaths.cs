using System.Text.Json.Nodes;
using Verge.Core.Meta;

namespace Verge.ApiServer.OpenApi;

/// <summary>One query or path parameter. <paramref name="Type"/> is an OpenAPI primitive type name.</summary>
internal sealed record ApiParameter(string Name, string In, string Type, string Description, bool Required = false);

/// <summary>One response of an operation; <paramref name="Schema"/> is a schema name or null for none.</summary>
internal sealed record ApiResponse(string Code, string Description, string? Schema);

/// <summary>One operation, described once and rendered as OpenAPI v3 or Swagger 2.0.</summary>
internal sealed record ApiOperation(
    string Method,
    string Action,
    string OperationId,
    string Description,
    GroupVersionKind Kind,
    IReadOnlyList<ApiParameter> Parameters,
    string? BodySchema,
    IReadOnlyList<string> BodyContentTypes,
    IReadOnlyList<ApiResponse> Responses,
    IReadOnlyList<string> ResponseContentTypes);

/// <summary>A URL template with its shared parameters and its operations.</summary>
internal sealed record ApiPath(string Path, IReadOnlyList<ApiParameter> Parameters, IReadOnlyList<ApiOperation> Operations);

/// <summary>
/// The REST paths of a kind, as the API server serves them and Kubernetes documents them: collection, item,
/// <c>/status</c>, <c>/scale</c> and, for namespaced kinds, the list across all namespaces.
/// </summary>
internal static class ApiPaths
{
    private static readonly string[] ObjectContentTypes = ["application/json", "application/yaml"];
    private static readonly string[] ListContentTypes = ["application/json", "application/json;stream=watch", "application/yaml"];
    private static readonly string[] AnyContentType = ["*/*"];

    private static readonly string[] PatchContentTypes =
    [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ];

    private static readonly ApiParameter Pretty = Query("pretty", "string", "If 'true', then the output is pretty printed.");
    private static readonly ApiParameter Namespace = new("namespace", "path", "string", "object name and auth scope, such as for teams and projects", Required: true);

    private static readonly ApiParameter DryRun = Query(
        "dryRun", "string",
        "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed");

    private static readonly ApiParameter FieldManager = Query(
        "fieldManager", "string",
        "fieldManager is a name associated with the actor or entity that is making these changes. It is required for apply requests (application/apply-patch) and optional otherwise.");

    private static readonly ApiParameter FieldValidation = Query(
        "fieldValidation", "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: unknown fields are silently dropped. - Warn: a warning header is sent for each unknown or duplicate field. - Strict: the request fails with a BadRequest error listing every unknown and duplicate field.");

    private static readonly ApiParameter Force = Query(
        "force", "boolean",
        "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.");

    private static readonly ApiParameter[] WriteParameters = [DryRun, FieldManager, FieldValidation];
    private static readonly ApiParameter[] PatchParameters = [DryRun, FieldManager, FieldValidation, Force];

    private static readonly ApiParameter[] ListParameters =
    [
        Query("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers may ignore it."),
        Query("continue", "string", "The continue option should be set when retrieving more results from the server, with the value of metadata.continue of the previous page."),
        Query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
        Query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
        Query("limit", "integer", "limit is a maximum number of responses to return for a list call. If more items exist, the server sets the continue field on the list metadata."),
        Query("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset."),
        Query("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls: Exact or NotOlderThan."),
        Query("sendInitialEvents", "boolean", "With watch=true, begin the watch stream with synthetic events of the current state of all objects."),
        Query("timeoutSeconds", "integer", "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity."),
        Query("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
    ];

    private static readonly ApiParameter[] DeleteParameters =
    [
        DryRun,
        Query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted. Zero means delete immediately."),
        Query("orphanDependents", "boolean", "Deprecated: use propagationPolicy. Whether the dependent objects should be orphaned."),
        Query("propagationPolicy", "string", "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
    ];

    private static readonly ApiResponse Unauthorized = new("401", "Unauthorized", null);

    /// <summary>Every path of one kind.</summary>
    public static IEnumerable<ApiPath> For(ResourceType type, string schema, string listSchema)
    {
        var prefix = type.Group.Length == 0 ? $"/api/{type.Version}" : $"/apis/{type.Group}/{type.Version}";
        var gvk = new GroupVersionKind(type.Group, type.Version, type.Kind);
        var ids = SchemaNames.OperationGroup(type.Group, type.Version);
        var scope = type.Namespaced ? "Namespaced" : "";
        var collection = type.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{type.Plural}" : $"{prefix}/{type.Plural}";
        ApiParameter[] scopeParameters = type.Namespaced ? [Namespace, Pretty] : [Pretty];
        var name = new ApiParameter("name", "path", "string", $"name of the {type.Kind}", Required: true);
        ApiParameter[] itemParameters = [name, .. scopeParameters];

        yield return new ApiPath(collection, scopeParameters,
        [
            new("get", "list", $"list{ids}{scope}{type.Kind}", $"list or watch objects of kind {type.Kind}", gvk,
                ListParameters, null, [], [Ok(listSchema), Unauthorized], ListContentTypes),
            new("post", "post", $"create{ids}{scope}{type.Kind}", $"create a {type.Kind}", gvk,
                WriteParameters, schema, AnyContentType, [Ok(schema), new("201", "Created", schema), new("202", "Accepted", schema), Unauthorized], ObjectContentTypes),
            new("delete", "deletecollection", $"delete{ids}Collection{scope}{type.Kind}", $"delete collection of {type.Kind}", gvk,
                [.. ListParameters, .. DeleteParameters], SchemaNames.DeleteOptions, AnyContentType, [Ok(SchemaNames.Status), Unauthorized], ObjectContentTypes),
        ]);

        yield return new ApiPath($"{collection}/{{name}}", itemParameters,
        [
            new("get", "get", $"read{ids}{scope}{type.Kind}", $"read the specified {type.Kind}", gvk,
                [], null, [], [Ok(schema), Unauthorized], ObjectContentTypes),
            new("put", "put", $"replace{ids}{scope}{type.Kind}", $"replace the specified {type.Kind}", gvk,
                WriteParameters, schema, AnyContentType, [Ok(schema), new("201", "Created", schema), Unauthorized], ObjectContentTypes),
            new("patch", "patch", $"patch{ids}{scope}{type.Kind}", $"partially update the specified {type.Kind}", gvk,
                PatchParameters, SchemaNames.Patch, PatchContentTypes, [Ok(schema), new("201", "Created", schema), Unauthorized], ObjectContentTypes),
            new("delete", "delete", $"delete{ids}{scope}{type.Kind}", $"delete a {type.Kind}", gvk,
                DeleteParameters, SchemaNames.DeleteOptions, AnyContentType, [Ok(SchemaNames.Status), new("202", "Accepted", SchemaNames.Status), Unauthorized], ObjectContentTypes),
        ]);

        if (type.HasStatus)
        {
            yield return Subresource($"{collection}/{{name}}/status", itemParameters, ids, scope, type.Kind, "Status", "status of", gvk, schema);
        }

        if (type.Scale is not null)
        {
            yield return Subresource($"{collection}/{{name}}/scale", itemParameters, ids, scope, type.Kind, "Scale", "scale of",
                new GroupVersionKind("autoscaling", "v1", "Scale"), SchemaNames.Scale);
        }

        if (type.Namespaced)
        {
            yield return new ApiPath($"{prefix}/{type.Plural}", [Pretty],
            [
                new("get", "list", $"list{ids}{type.Kind}ForAllNamespaces", $"list or watch objects of kind {type.Kind} in every namespace", gvk,
                    ListParameters, null, [], [Ok(listSchema), Unauthorized], ListContentTypes),
            ]);
        }
    }

    /// <summary>The path in OpenAPI v3 form.</summary>
    public static JsonObject ToV3(ApiPath path, string tag)
    {
        var item = new JsonObject { ["parameters"] = V3Parameters(path.Parameters) };
        foreach (var operation in path.Operations)
        {
            var op = Common(operation, tag);
            if (operation.Parameters.Count > 0)
            {
                op["parameters"] = V3Parameters(operation.Parameters);
            }

            if (operation.BodySchema is { } body)
            {
                op["requestBody"] = new JsonObject
                {
                    ["content"] = Content(operation.BodyContentTypes, body),
                    ["required"] = operation.Method != "delete",
                };
            }

            var responses = new JsonObject();
            foreach (var response in operation.Responses)
            {
                var r = new JsonObject { ["description"] = response.Description };
                if (response.Schema is { } schema)
                {
                    r["content"] = Content(operation.ResponseContentTypes, schema);
                }

                responses[response.Code] = r;
            }

            op["responses"] = responses;
            item[operation.Method] = op;
        }

        return item;
    }

    /// <summary>The path in Swagger 2.0 form.</summary>
    public static JsonObject ToV2(ApiPath path, string tag)
    {
        var item = new JsonObject { ["parameters"] = V2Parameters(path.Parameters) };
        foreach (var operation in path.Operations)
        {
            var op = Common(operation, tag);
            var parameters = V2Parameters(operation.Parameters);
            if (operation.BodySchema is { } body)
            {
                parameters.Add(new JsonObject
                {
                    ["in"] = "body",
                    ["name"] = "body",
                    ["required"] = operation.Method != "delete",
                    ["schema"] = new JsonObject { ["$ref"] = SchemaNames.V2RefPrefix + body },
                });
                op["consumes"] = new JsonArray([.. operation.BodyContentTypes.Select(c => (JsonNode)c)]);
            }

            if (parameters.Count > 0)
            {
                op["parameters"] = parameters;
            }

            op["produces"] = new JsonArray([.. operation.ResponseContentTypes.Select(c => (JsonNode)c)]);
            op["schemes"] = new JsonArray("https");
            var responses = new JsonObject();
            foreach (var response in operation.Responses)
            {
                var r = new JsonObject { ["description"] = response.Description };
                if (response.Schema is { } schema)
                {
                    r["schema"] = new JsonObject { ["$ref"] = SchemaNames.V2RefPrefix + schema };
                }

                responses[response.Code] = r;
            }

            op["responses"] = responses;
            item[operation.Method] = op;
        }

        return item;
    }

    private static ApiPath Subresource(
        string path, ApiParameter[] parameters, string ids, string scope, string kind, string suffix, string what,
        GroupVersionKind gvk, string schema) =>
        new(path, parameters,
        [
            new("get", "get", $"read{ids}{scope}{kind}{suffix}", $"read {what} the specified {kind}", gvk,
                [], null, [], [Ok(schema), Unauthorized], ObjectContentTypes),
            new("put", "put", $"replace{ids}{scope}{kind}{suffix}", $"replace {what} the specified {kind}", gvk,
                WriteParameters, schema, AnyContentType, [Ok(schema), new("201", "Created", schema), Unauthorized], ObjectContentTypes),
            new("patch", "patch", $"patch{ids}{scope}{kind}{suffix}", $"partially update {what} the specified {kind}", gvk,
                PatchParameters, SchemaNames.Patch, PatchContentTypes, [Ok(schema), new("201", "Created", schema), Unauthorized], ObjectContentTypes),
        ]);

    private static JsonObject Common(ApiOperation operation, string tag) => new()
    {
        ["description"] = operation.Description,
        ["operationId"] = operation.OperationId,
        ["tags"] = new JsonArray(tag),
        ["x-kubernetes-action"] = operation.Action,

        // An object on operations (a list on schemas): kubectl reads it with this shape.
        ["x-kubernetes-group-version-kind"] = operation.Kind.ToJson(),
    };

    private static JsonArray V3Parameters(IEnumerable<ApiParameter> parameters)
    {
        var array = new JsonArray();
        foreach (var p in parameters)
        {
            var parameter = new JsonObject
            {
                ["description"] = p.Description,
                ["in"] = p.In,
                ["name"] = p.Name,
                ["schema"] = new JsonObject { ["type"] = p.Type, ["uniqueItems"] = true },
            };
            if (p.Required)
            {
                parameter["required"] = true;
            }

            array.Add(parameter);
        }

        return array;
    }

    private static JsonArray V2Parameters(IEnumerable<ApiParameter> parameters)
    {
        var array = new JsonArray();
        foreach (var p in parameters)
        {
            var parameter = new JsonObject
            {
                ["description"] = p.Description,
                ["in"] = p.In,
                ["name"] = p.Name,
                ["type"] = p.Type,
                ["uniqueItems"] = true,
            };
            if (p.Required)
            {
                parameter["required"] = true;
            }

            array.Add(parameter);
        }

        return array;
    }

    private static JsonObject Content(IEnumerable<string> contentTypes, string schema)
    {
        var content = new JsonObject();
        foreach (var contentType in contentTypes)
        {
            content[contentType] = new JsonObject
            {
                ["schema"] = new JsonObject { ["$ref"] = SchemaNames.V3RefPrefix + schema },
            };
        }

        return content;
    }

    private static ApiResponse Ok(string schema) => new("200", "OK", schema);

    private static ApiParameter Query(string name, string type, string description) => new(name, "query", type, description);
}
