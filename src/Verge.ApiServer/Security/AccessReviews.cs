using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Http;
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
        var answer = new JsonObject
        {
            ["kind"] = type.Kind,
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = new JsonObject { ["creationTimestamp"] = null },
        };
        if (type.Kind == "SelfSubjectAccessReview")
        {
            if (review["spec"] is not JsonObject spec
                || (spec["resourceAttributes"] is null && spec["nonResourceAttributes"] is null))
            {
                throw ApiException.Invalid(type, "",
                    [FieldError.Required("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified")]);
            }

            answer["spec"] = spec.DeepClone();
            answer["status"] = user.IsAdmin
                ? new JsonObject { ["allowed"] = true, ["reason"] = $"{UserInfo.MastersGroup} may do everything" }
                : new JsonObject { ["allowed"] = false, ["reason"] = "only members of system:masters are authorized" };
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
