using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Security;
using Verge.Core.Meta;

namespace Verge.ApiServer.Http;

/// <summary>
/// Decides whether the authenticated user may do what the request asks. Members of <c>system:masters</c> may do
/// everything; nodes (<c>system:node:NAME</c> in <c>system:nodes</c>) may do what <see cref="NodeAuthorizer"/>
/// allows; everything else is refused with 403, worded as Kubernetes words it.
/// </summary>
internal static class Authorization
{
    private const string CreateNameKey = "verge.create-name";

    public static async Task RequireAsync(HttpContext context, ResourcePath path, string method, NodeAuthorizer nodes)
    {
        var user = Authentication.UserOf(context) ?? throw ApiException.Unauthorized();
        if (user.IsAdmin)
        {
            return;
        }

        var verb = method switch
        {
            // Opening a stream into a container is a create, whichever method the client's upgrade uses (Kubernetes
            // checks create on pods/exec for WebSocket GETs too).
            "GET" or "POST" when path.Subresource == "exec" => "create",
            "GET" when context.Request.Query["watch"].ToString() is "true" or "1" => "watch",
            "GET" => path.IsItem ? "get" : "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => path.IsItem ? "delete" : "deletecollection",
            _ => method.ToLowerInvariant(),
        };
        string? reason = null;
        if (NodeIdentityNames.NodeNameOf(user) is { } node)
        {
            var decision = await nodes.AuthorizeAsync(node, verb, path, context.Request.Query, context.RequestAborted);
            if (decision.Allowed)
            {
                if (decision.RequiredCreateName is { } name)
                {
                    context.Items[CreateNameKey] = name;
                }

                return;
            }

            reason = decision.Reason;
        }

        throw ApiException.Forbidden(user.Name, verb, path.Type, path.Namespace, path.Name, path.Subresource, reason);
    }

    /// <summary>
    /// Refuses a create whose object is not named as the authorizer required (a node may create only its own Node
    /// and Lease: Kubernetes' NodeRestriction admission).
    /// </summary>
    public static void CheckCreate(HttpContext context, ResourceType type, string? ns, KubeObject obj)
    {
        if (context.Items[CreateNameKey] is string required && obj.Metadata.Name != required)
        {
            var user = Authentication.UserOf(context)!;
            throw ApiException.Forbidden(user.Name, "create", type, ns, obj.Metadata.Name, null,
                $"a node may only create the {type.Kind} named \"{required}\"");
        }
    }
}
