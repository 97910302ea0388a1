using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Verge.ApiServer.Http;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Serialization;
using Verge.Core.Meta;

namespace Verge.ApiServer.Security;

/// <summary>
/// The two review kinds that let a client ask about itself: authorization.k8s.io/v1 SelfSubjectAccessReview
/// (<c>kubectl auth can-i</c>) and authentication.k8s.io/v1 SelfSubjectReview (<c>kubectl auth whoami</c>). They
/// are create-only and never stored: the answer is computed from the caller's identity and returned.
/// </summary>
internal static class AccessReviews
{
    /// <summary>The review kinds as discovery lists them (create only, cluster-scoped).</summary>
    public static IReadOnlyList<ResourceType> Types { get; } =
    [
        new()
        {
            Group = "authorization.k8s.io", Version = "v1", Kind = "SelfSubjectAccessReview", Plural = "selfsubjectaccessreviews",
            Singular = "selfsubjectaccessreview", Namespaced = false, TypeInfo = ApiServerJsonContext.Default.JsonObject,
        },
        new()
        {
            Group = "authentication.k8s.io", Version = "v1", Kind = "SelfSubjectReview", Plural = "selfsubjectreviews",
            Singular = "selfsubjectreview", Namespaced = false, TypeInfo = ApiServerJsonContext.Default.JsonObject,
        },
    ];

    public static bool IsReview(ResourceType type) => Types.Contains(type);

    /// <summary>What the node authorizer says about the attributes of a review a node sends about itself.</summary>
    private static async Task<JsonObject> ReviewForNodeAsync(HttpContext context, string node, JsonObject attributes)
    {
        string? Text(string field) => attributes[field] is JsonValue v && v.TryGetValue<string>(out var t) && t.Length > 0 ? t : null;
        var verb = Text("verb") ?? "";
        var group = Text("group") ?? "";
        var version = Text("version");
        var resource = Text("resource");
        var type = ResourceCatalog.All.FirstOrDefault(t =>
            t.Group == group && t.Plural == resource && (version is null or "*" || t.Version == version));
        if (type is null)
        {
            return new JsonObject { ["allowed"] = false, ["reason"] = $"node \"{node}\" may not use {resource ?? "this resource"}" };
        }

        var name = Text("name");
        var path = new ResourcePath(type, type.Namespaced ? Text("namespace") : null, verb == "create" ? null : name, Text("subresource"));
        var query = new QueryCollection(new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>
        {
            ["fieldSelector"] = (attributes["fieldSelector"] as JsonObject)?["rawSelector"]?.GetValue<string>() ?? "",
        });
        var decision = await context.RequestServices.GetRequiredService<NodeAuthorizer>()
            .AuthorizeAsync(node, verb, path, query, context.RequestAborted);
        var allowed = decision.Allowed && (decision.RequiredCreateName is null || name is null || name == decision.RequiredCreateName);
        return allowed
            ? new JsonObject { ["allowed"] = true, ["reason"] = "allowed by the node authorizer" }
            : new JsonObject { ["allowed"] = false, ["reason"] = decision.Reason ?? $"a node may only create the {type.Kind} named \"{decision.RequiredCreateName}\"" };
    }

    private static readonly string[] ResourceAttributeTexts = ["namespace", "verb", "group", "version", "resource", "subresource", "name"];

    /// <summary>
    /// The spec of a SelfSubjectAccessReview, checked as Kubernetes decodes it (a member of the wrong JSON type is a
    /// 400) and then validates it (ValidateSelfSubjectAccessReviewSpec: exactly one of resourceAttributes and
    /// nonResourceAttributes, else a 422).
    /// </summary>
    private static JsonObject ReadSpec(ResourceType type, JsonObject review)
    {
        var spec = Member(type, review, "spec", "spec") ?? new JsonObject();
        var resource = Member(type, spec, "resourceAttributes", "spec.resourceAttributes");
        var nonResource = Member(type, spec, "nonResourceAttributes", "spec.nonResourceAttributes");
        if (resource is not null)
        {
            foreach (var field in ResourceAttributeTexts)
            {
                Text(type, resource, field, $"spec.resourceAttributes.{field}");
            }

            foreach (var field in new[] { "fieldSelector", "labelSelector" })
            {
                if (Member(type, resource, field, $"spec.resourceAttributes.{field}") is { } selector)
                {
                    Text(type, selector, "rawSelector", $"spec.resourceAttributes.{field}.rawSelector");
                }
            }
        }

        var path = nonResource is null ? null : Text(type, nonResource, "path", "spec.nonResourceAttributes.path");
        var verb = nonResource is null ? null : Text(type, nonResource, "verb", "spec.nonResourceAttributes.verb");
        if (resource is not null && nonResource is not null)
        {
            // Kubernetes shows the attributes as Go prints the struct.
            var shown = $"authorization.NonResourceAttributes{{Path:{GoQuote(path)}, Verb:{GoQuote(verb)}}}";
            throw ApiException.Invalid(type, "",
                [new FieldError("spec.nonResourceAttributes", FieldErrorType.Invalid, "cannot be specified in combination with resourceAttributes", shown)]);
        }

        if (resource is null && nonResource is null)
        {
            // The bad value is the missing nonResourceAttributes, which Kubernetes prints as "null".
            throw ApiException.Invalid(type, "",
                [FieldError.Invalid("spec.resourceAttributes", "null", "exactly one of nonResourceAttributes or resourceAttributes must be specified")]);
        }

        return spec;
    }

    /// <summary>A member that must be an object when present (null when absent or null), else a 400 naming it.</summary>
    private static JsonObject? Member(ResourceType type, JsonObject parent, string field, string path) => parent[field] switch
    {
        null => null,
        JsonObject value => value,
        var other => throw CannotDecode(type, path, "an object", other),
    };

    /// <summary>A member that must be a string when present (null when absent or null), else a 400 naming it.</summary>
    private static string? Text(ResourceType type, JsonObject parent, string field, string path) => parent[field] switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String => value.GetValue<string>(),
        var other => throw CannotDecode(type, path, "a string", other),
    };

    /// <summary>Empty as Kubernetes compares object metadata: every member null, zero, false, or an empty string, list or object.</summary>
    private static bool IsEmpty(JsonNode? node) => node switch
    {
        null => true,
        JsonObject members => members.All(m => IsEmpty(m.Value)),
        JsonArray items => items.Count == 0,
        JsonValue value => value.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => value.GetValue<string>().Length == 0,
            System.Text.Json.JsonValueKind.Number => value.ToJsonString() is "0" or "0.0",
            System.Text.Json.JsonValueKind.False or System.Text.Json.JsonValueKind.Null => true,
            _ => false,
        },
        _ => false,
    };

    private static ApiException CannotDecode(ResourceType type, string path, string expected, JsonNode other) =>
        ApiException.BadRequest(
            $"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: {path} must be {expected}, not {other.GetValueKind().ToString().ToLowerInvariant()}");

    private static string GoQuote(string? text) =>
        "\"" + (text ?? "").Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>Answers a review POSTed to <c>/apis/{group}/v1/{plural}</c>; returns false when the path is not a review.</summary>
    public static async Task<bool> TryHandleAsync(HttpContext context, string group, string version, string[] rest, long bodyLimit)
    {
        var type = Types.FirstOrDefault(t => t.Group == group && t.Version == version && rest is [var plural] && plural == t.Plural);
        if (type is null)
        {
            return false;
        }

        if (context.Request.Method != "POST")
        {
            throw ApiException.MethodNotAllowed(context.Request.Method);
        }

        var user = Authentication.UserOf(context) ?? throw ApiException.Unauthorized();
        var body = await RequestBody.ReadAsync(context.Request, bodyLimit, context.RequestAborted);
        var format = RequestBody.FormatOf(context.Request, patch: false);

        // kubectl sends reviews as protobuf. Verge's answer depends only on who asks, so a protobuf review is
        // answered without decoding its attributes (the echoed spec is then empty).
        var review = format == BodyFormat.Protobuf
            ? new JsonObject { ["spec"] = new JsonObject { ["resourceAttributes"] = new JsonObject() } }
            : RequestBody.Parse(body, format) as JsonObject ?? throw ApiException.BadRequest($"a {type.Kind} object is required");
        RequestBody.RequireKind(review, type);
        var answer = new JsonObject
        {
            ["kind"] = type.Kind,
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = new JsonObject { ["creationTimestamp"] = null },
        };
        if (type.Kind == "SelfSubjectAccessReview")
        {
            var spec = ReadSpec(type, review);
            if (review["metadata"] is { } metadata && !IsEmpty(metadata))
            {
                // ValidateSelfSubjectAccessReview: a review is no stored object, and names nothing.
                throw ApiException.Invalid(type, "", [FieldError.Invalid("metadata", metadata.ToJsonString(), "must be empty")]);
            }

            answer["spec"] = spec.DeepClone();
            answer["status"] = user.IsAdmin
                ? new JsonObject { ["allowed"] = true, ["reason"] = $"{UserInfo.MastersGroup} may do everything" }
                : NodeIdentityNames.NodeNameOf(user) is { } node && spec["resourceAttributes"] is JsonObject attributes
                    ? await ReviewForNodeAsync(context, node, attributes)
                    : new JsonObject { ["allowed"] = false, ["reason"] = "only members of system:masters and nodes are authorized" };
        }
        else
        {
            answer["status"] = new JsonObject
            {
                ["userInfo"] = new JsonObject
                {
                    ["username"] = user.Name,
                    ["groups"] = new JsonArray([.. user.Groups.Select(g => (JsonNode?)JsonValue.Create(g))]),
                },
            };
        }

        await ResourceEndpoint.WriteJsonAsync(context, 201,
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(answer, ApiServerJsonContext.Default.JsonObject));
        return true;
    }
}
