using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Core.Meta;

namespace Verge.ApiServer.Http;

/// <summary>
/// Serves the resource URLs of every kind: routes a request by method, path and query to get, list, watch,
/// create, update, patch, delete or deletecollection, and renders objects, lists, Tables and watch streams.
/// </summary>
internal sealed partial class ResourceEndpoint(
    ResourceService service,
    WatchCache watchCache,
    ApiServerOptions serverOptions,
    NodeAuthorizer nodeAuthorizer,
    TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<ResourceEndpoint> logger,
    NodeChannel.PodLogRelay? logRelay = null,
    NodeChannel.PodExecRelay? execRelay = null)
{
    public async Task HandleAsync(HttpContext context, string group, string version, string[] segments)
    {
        var path = ResourcePath.Parse(group, version, segments);
        var request = context.Request;
        var ct = context.RequestAborted;
        await Authorization.RequireAsync(context, path, request.Method, nodeAuthorizer);
        switch (request.Method)
        {
            case "GET" or "POST" when path.IsItem && path.Subresource == "exec":
                await ExecAsync(context, path, ct);
                break;
            case "GET" when path.IsItem && path.Subresource == "log":
                await LogAsync(context, path, ct);
                break;
            case "GET" when path.IsItem && path.Subresource == "scale":
                await GetScaleAsync(context, path, ct);
                break;
            case "GET" when path.IsItem:
                await GetAsync(context, path, ct);
                break;
            case "GET" when IsWatch(request):
                await WatchAsync(context, path, ct);
                break;
            case "GET":
                await ListAsync(context, path, ct);
                break;
            case "POST" when !path.IsItem:
                await CreateAsync(context, path, ct);
                break;
            case "POST" when path.Subresource == "binding":
                await BindAsync(context, path, ct);
                break;
            case "POST" when path.Subresource == "eviction":
                await EvictAsync(context, path, ct);
                break;
            case "PUT" when path.IsItem:
                await ReplaceAsync(context, path, ct);
                break;
            case "PATCH" when path.IsItem:
                await PatchAsync(context, path, ct);
                break;
            case "DELETE" when path.IsItem && path.Subresource is null:
                await DeleteAsync(context, path, ct);
                break;
            case "DELETE" when !path.IsItem && path.Type.Namespaced && path.Namespace is null:
                // As in Kubernetes, a collection is deleted one namespace at a time.
                throw ApiException.MethodNotAllowed("DELETE");
            case "DELETE" when !path.IsItem && IsNamespaceKind(path.Type):
                throw ApiException.MethodNotAllowed("DELETE");
            case "DELETE" when !path.IsItem:
                await DeleteCollectionAsync(context, path, ct);
                break;
            default:
                throw ApiException.MethodNotAllowed(request.Method);
        }
    }

    internal static bool IsNamespaceKind(ResourceType type) => type.Kind == "Namespace" && type.Group.Length == 0;

    private static bool IsWatch(HttpRequest request) => request.Query["watch"].ToString() switch
    {
        "true" or "1" => true,
        "" or "false" or "0" => false,
        var other => throw ApiException.BadRequest($"invalid watch parameter \"{other}\": must be true or false"),
    };

    private async Task GetAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        // A get at a resourceVersion serves data at least that new: a version that is not one is a 400, one the store
        // has not reached the 504 kube-apiserver answers once its watch cache has waited for it in vain.
        if (context.Request.Query["resourceVersion"].ToString() is { Length: > 0 } requested && requested != "0"
            && ParseRevision(requested) is var wanted && await service.Store.GetCurrentRevisionAsync(ct) is var current && wanted > current)
        {
            throw ApiException.Timeout($"Too large resource version: {wanted}, current: {current}");
        }

        var kv = await service.GetRawAsync(path.Type, path.Namespace, path.Name!, ct) ?? throw ApiException.NotFound(path.Type, path.Name!);
        if (MediaTypes.Negotiate(context.Request) == ResponseShape.Table)
        {
            var obj = ObjectCodec.Decode(path.Type, kv.Value.Span, kv.ModRevision);
            await WriteTableAsync(context, path.Type, [obj], ResourceService.Rv(kv.ModRevision), null, null);
            return;
        }

        await WriteJsonAsync(context, 200, ObjectCodec.WithResourceVersion(kv.Value.Span, kv.ModRevision));
    }

    internal static async Task WriteJsonAsync(HttpContext context, int status, ReadOnlyMemory<byte> body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    internal static Task WriteObjectAsync(HttpContext context, int status, ResourceType type, KubeObject obj) =>
        WriteJsonAsync(context, status, ObjectCodec.Serialize(type, obj));

    private async Task WriteTableAsync(
        HttpContext context,
        ResourceType type,
        IEnumerable<KubeObject> objects,
        string resourceVersion,
        string? continueToken,
        long? remaining)
    {
        var include = context.Request.Query["includeObject"].ToString() switch
        {
            "None" => IncludeObject.None,
            "Object" => IncludeObject.Object,
            _ => IncludeObject.Metadata,
        };
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.BodyWriter);
        w.WriteStartObject();
        w.WriteString("kind", "Table");
        w.WriteString("apiVersion", "meta.k8s.io/v1");
        WriteListMeta(w, resourceVersion, continueToken, remaining);
        TableWriter.WriteColumns(w, type);
        w.WriteStartArray("rows");
        var now = time.GetUtcNow();
        foreach (var obj in objects)
        {
            TableWriter.WriteRow(w, type, obj, now, include);
            if (w.BytesPending > 32 * 1024)
            {
                await w.FlushAsync(context.RequestAborted);
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(context.RequestAborted);
    }

    private static void WriteListMeta(Utf8JsonWriter w, string resourceVersion, string? continueToken, long? remaining)
    {
        w.WriteStartObject("metadata");
        w.WriteString("resourceVersion", resourceVersion);
        if (continueToken is not null)
        {
            w.WriteString("continue", continueToken);
        }

        if (remaining is { } r)
        {
            w.WriteNumber("remainingItemCount", r);
        }

        w.WriteEndObject();
    }
}
