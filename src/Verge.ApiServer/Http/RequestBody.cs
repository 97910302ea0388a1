using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Verge.ApiServer.Serialization;
using Verge.ApiServer.Serialization.Protobuf;
using Verge.Core.Meta;

namespace Verge.ApiServer.Http;

/// <summary>The media types a body may come in.</summary>
internal enum BodyFormat
{
    Json,
    Yaml,
    MergePatch,
    StrategicMergePatch,
    JsonPatch,
    ApplyPatch,
    Protobuf,
}

/// <summary>Reads request bodies with a size limit and turns them into JSON trees.</summary>
internal static class RequestBody
{
    public static BodyFormat FormatOf(HttpRequest request, bool patch)
    {
        var contentType = request.ContentType;
        var media = contentType?.Split(';', 2)[0].Trim().ToLowerInvariant();
        return media switch
        {
            "application/merge-patch+json" when patch => BodyFormat.MergePatch,
            "application/strategic-merge-patch+json" when patch => BodyFormat.StrategicMergePatch,
            "application/json-patch+json" when patch => BodyFormat.JsonPatch,
            "application/apply-patch+yaml" or "application/apply-patch+json" when patch => BodyFormat.ApplyPatch,
            "application/json" or null or "" when !patch => BodyFormat.Json,
            "application/yaml" or "application/x-yaml" or "text/yaml" when !patch => BodyFormat.Yaml,
            KubernetesProtobuf.MediaType when !patch => BodyFormat.Protobuf,
            _ => throw ApiException.UnsupportedMediaType(contentType, patch),
        };
    }

    /// <summary>How far past the limit a refused body is still read (and discarded) so the client sees the 413.</summary>
    public const int DrainFactor = 4;

    /// <summary>
    /// The whole body, or a 413 when it is larger than <paramref name="limit"/> bytes. A body up to
    /// <see cref="DrainFactor"/> times the limit is read to its end before the 413 is sent, so that an HTTP/1.1
    /// client that is still sending receives the answer instead of a reset connection; larger ones are cut off.
    /// </summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            if (request.ContentLength <= limit * DrainFactor)
            {
                await DrainAsync(request, cancellationToken);
            }

            throw ApiException.TooLarge(limit);
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 4096);
        // Rented: a fresh 16 KiB chunk for every request (a lease renewal's body is about 100 bytes) was a large share
        // of the server's allocations at thousands of writes a second.
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    await DrainAsync(request, cancellationToken);
                    throw ApiException.TooLarge(limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw ApiException.TooLarge(limit);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        // With a Content-Length the stream's array is exactly the body: hand it over instead of copying it.
        return buffer.TryGetBuffer(out var written) && written.Offset == 0 && written.Count == written.Array!.Length
            ? written.Array
            : buffer.ToArray();
    }

    private static async Task DrainAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var chunk = new byte[16 * 1024];
        try
        {
            while (await request.Body.ReadAsync(chunk, cancellationToken) > 0)
            {
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            // Past Kestrel's hard limit (DrainFactor times ours): the connection is closed after the 413.
        }
    }

    /// <summary>Parses a body as JSON or YAML into a tree (null for an empty body).</summary>
    public static JsonNode? Parse(byte[] body, BodyFormat format)
    {
        if (body.Length == 0)
        {
            return null;
        }

        if (format == BodyFormat.Protobuf)
        {
            // Only object bodies of the kinds kubectl sends as protobuf are decoded (ReadObjectAsync).
            throw ApiException.UnsupportedMediaType(KubernetesProtobuf.MediaType);
        }

        if (format is BodyFormat.Yaml or BodyFormat.ApplyPatch && !LooksLikeJson(body))
        {
            try
            {
                return YamlReader.ReadSingle(Encoding.UTF8.GetString(body));
            }
            catch (YamlFormatException e)
            {
                throw ApiException.BadRequest(e.Message);
            }
        }

        try
        {
            return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = YamlReader.MaxDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, column {e.BytePositionInLine + 1}" : "";
            var reason = e.Message;
            var cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0)
            {
                reason = reason[..cut];
            }

            throw ApiException.BadRequest($"the request body is not valid JSON{where}: {reason.TrimEnd('.', ' ')}");
        }
    }

    /// <summary>
    /// Refuses (400) a body whose <c>apiVersion</c> or <c>kind</c>, when given, is not <paramref name="type"/>'s:
    /// a body that leaves them out is taken for the kind of its URL, as Kubernetes takes it.
    /// </summary>
    public static void RequireKind(JsonObject obj, ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(type);
        var apiVersion = obj["apiVersion"] is JsonValue av && av.TryGetValue<string>(out var a) ? a : null;
        var kind = obj["kind"] is JsonValue kv && kv.TryGetValue<string>(out var k) ? k : null;
        if (apiVersion is not null && apiVersion != type.ApiVersion)
        {
            throw ApiException.BadRequest(
                $"the API version in the data ({apiVersion}) does not match the expected API version ({type.ApiVersion})");
        }

        if (kind is not null && kind != type.Kind)
        {
            throw ApiException.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({type.Kind})");
        }
    }

    private static bool LooksLikeJson(byte[] body)
    {
        foreach (var b in body)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                continue;
            }

            return b is (byte)'{' or (byte)'[';
        }

        return false;
    }
}
