using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Security;

namespace Verge.ApiServer.Http;

/// <summary>
/// Decides whether the authenticated user may do what the request asks. Members of <c>system:masters</c> may do
/// everything; other identities are refused with 403 until node authorization arrives with the agent.
/// </summary>
internal static class Authorization
{
    public static void Require(HttpContext context, ResourcePath path, string method)
    {
        var user = Authentication.UserOf(context) ?? throw ApiException.Unauthorized();
        if (user.IsAdmin)
        {
            return;
        }

        var verb = method switch
        {
            "GET" when context.Request.Query["watch"].ToString() is "true" or "1" => "watch",
            "GET" => path.IsItem ? "get" : "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => path.IsItem ? "delete" : "deletecollection",
            _ => method.ToLowerInvariant(),
        };
        throw ApiException.Forbidden(user.Name, verb, path.Type, path.Namespace, path.Name);
    }
}
