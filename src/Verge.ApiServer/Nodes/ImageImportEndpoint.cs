using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.ApiServer.NodeChannel;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Security;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Nodes;

/// <summary>
/// <c>POST /verge/v1/nodes/{name}/images</c> (admins only): the body, an OCI image archive or docker-archive
/// (<c>application/x-tar</c>, gzip allowed), is streamed to the node's agent over its node channel session and
/// imported into its image cache. The answer is <c>{"node": NAME, "references": [...]}</c>; an archive the agent
/// refuses is a 400 carrying its reason, an unknown node a 404, a node without a session a 503.
/// </summary>
internal sealed partial class ImageImportEndpoint(
    ResourceService service,
    ImageImportRelay relay,
    ApiServerOptions options,
    ILogger<ImageImportEndpoint> logger)
{
    public const string ContentType = "application/x-tar";

    private static readonly ResourceType NodeType = ResourceCatalog.For<Node>();
    private static readonly string[] AcceptedTypes = [ContentType, "application/gzip", "application/octet-stream"];

    public async Task HandleAsync(HttpContext context, string node)
    {
        var ct = context.RequestAborted;
        if (context.Request.Method != "POST")
        {
            throw ApiException.MethodNotAllowed(context.Request.Method);
        }

        var user = Authentication.UserOf(context)!;
        if (!user.IsAdmin)
        {
            throw ApiException.Forbidden(user.Name, "import images to", NodeType, null, node, "images");
        }

        var mediaType = context.Request.ContentType?.Split(';')[0].Trim() ?? "";
        if (!AcceptedTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            throw new ApiException(415, "UnsupportedMediaType",
                $"an image archive must be sent as {ContentType} (an OCI image layout or docker-archive tar), got \"{mediaType}\"");
        }

        if (context.Request.ContentLength > options.MaxImageArchiveBytes)
        {
            throw TooLarge();
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.MaxImageArchiveBytes;
        }

        try
        {
            await service.GetAsync(NodeType, null, node, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            throw ApiException.NotFound(NodeType, node);
        }

        ImageImportResult? result;
        try
        {
            result = await relay.ImportAsync(node, context.Request.Body, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
        catch (IOException e) when (!ct.IsCancellationRequested && e is not BadHttpRequestException)
        {
            throw new ApiException(503, "ServiceUnavailable", e.Message);
        }

        if (result is null)
        {
            throw new ApiException(503, "ServiceUnavailable",
                $"node \"{node}\" is not connected to the control plane: images can be imported only to a connected node");
        }

        if (result.Error.Length > 0)
        {
            LogRefused(logger, node, result.Error);
            throw ApiException.BadRequest($"node \"{node}\" could not import the archive: {result.Error}");
        }

        LogImported(logger, node, string.Join(", ", result.References));
        using var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("node", node);
            json.WriteStartArray("references");
            foreach (var reference in result.References)
            {
                json.WriteStringValue(reference);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await ResourceEndpoint.WriteJsonAsync(context, 200, body.ToArray());
    }

    private ApiException TooLarge() =>
        new(413, "RequestEntityTooLarge", $"the image archive is larger than the limit of {options.MaxImageArchiveBytes} bytes");

    [LoggerMessage(EventId = 3140, Level = LogLevel.Information, Message = "Node {Node} imported images {References}")]
    private static partial void LogImported(ILogger logger, string node, string references);

    [LoggerMessage(EventId = 3141, Level = LogLevel.Warning, Message = "Node {Node} refused an image archive: {Reason}")]
    private static partial void LogRefused(ILogger logger, string node, string reason);
}
