using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Verge.ApiServer.OpenApi;

/// <summary>
/// Serves <see cref="OpenApiDocuments"/> the way kube-openapi's handlers do: JSON only (protobuf is answered with
/// 406), an ETag on every document with 304 for a matching <c>If-None-Match</c>, and for group-version documents
/// fetched with <c>?hash=</c> either a long-lived immutable response (hash current) or a 301 to the current hash.
/// </summary>
internal static class OpenApiEndpoints
{
    private const string Json = "application/json";

    /// <summary>Maps <c>GET /openapi/v3</c>, <c>GET /openapi/v3/{group-version path}</c> and <c>GET /openapi/v2</c>.</summary>
    public static IEndpointRouteBuilder MapVergeOpenApi(this IEndpointRouteBuilder endpoints, OpenApiDocuments documents)
    {
        endpoints.MapGet("/openapi/v3", context => WriteIndexAsync(context, documents));
        endpoints.MapGet("/openapi/v3/{**path}", context =>
            WriteGroupVersionAsync(context, documents, context.Request.RouteValues["path"] as string ?? ""));
        endpoints.MapGet("/openapi/v2", context => WriteV2Async(context, documents));
        return endpoints;
    }

    public static Task WriteIndexAsync(HttpContext context, OpenApiDocuments documents) =>
        WriteAsync(context, documents.Index);

    public static Task WriteV2Async(HttpContext context, OpenApiDocuments documents)
    {
        context.Response.Headers.Vary = HeaderNames.Accept;
        if (!AcceptsJson(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status406NotAcceptable;
            return Task.CompletedTask;
        }

        return WriteAsync(context, documents.V2);
    }

    /// <param name="path">The part after <c>/openapi/v3/</c>: <c>api/v1</c>, <c>apis/apps/v1</c>.</param>
    public static Task WriteGroupVersionAsync(HttpContext context, OpenApiDocuments documents, string path)
    {
        if (!documents.TryGetGroupVersion(path, out var document))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        context.Response.Headers.Vary = HeaderNames.Accept;
        if (!AcceptsJson(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status406NotAcceptable;
            return Task.CompletedTask;
        }

        var hash = context.Request.Query["hash"].ToString();
        if (hash.Length > 0)
        {
            if (!string.Equals(hash, document.Hash, StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status301MovedPermanently;
                context.Response.Headers.Location = $"{context.Request.PathBase}/openapi/v3/{path.Trim('/')}?hash={document.Hash}";
                return Task.CompletedTask;
            }

            // The URL names the content: clients may keep it for as long as they like.
            context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        }

        return WriteAsync(context, document);
    }

    private static Task WriteAsync(HttpContext context, OpenApiDocument document)
    {
        context.Response.Headers.ETag = document.ETag;
        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0 && (ifNoneMatch.Trim() == "*" || ifNoneMatch.Split(',').Any(t => t.Trim() == document.ETag)))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = Json;
        context.Response.ContentLength = document.Utf8Json.Length;
        return context.Response.Body.WriteAsync(document.Utf8Json, context.RequestAborted).AsTask();
    }

    /// <summary>Whether the Accept header allows JSON (absent, <c>*/*</c>, <c>application/*</c> or <c>application/json</c>).</summary>
    private static bool AcceptsJson(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        if (accept.Length == 0)
        {
            return true;
        }

        foreach (var clause in accept.Split(','))
        {
            var mediaType = clause.Split(';')[0].Trim();
            if (mediaType is "*/*" or "application/*" or Json)
            {
                return true;
            }
        }

        return false;
    }
}
