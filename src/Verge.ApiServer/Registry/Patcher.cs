using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.ApiServer.Http;
using Verge.Core.Meta;
using Verge.Core.Patching;

namespace Verge.ApiServer.Registry;

/// <summary>Applies the four PATCH media types to stored objects and keeps managedFields, mapping patch errors to Kubernetes' status codes.</summary>
internal static class Patcher
{
    private static readonly ConcurrentDictionary<ResourceType, IPatchSchema> Schemas = new();

    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<List<ManagedFieldsEntry>> ManagedFieldsInfo =
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<List<ManagedFieldsEntry>>)Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(List<ManagedFieldsEntry>));

    public static IPatchSchema SchemaOf(ResourceType type) => Schemas.GetOrAdd(type, static t => TypePatchSchema.For(t.TypeInfo));

    /// <summary>Applies a merge, strategic merge or JSON patch to <paramref name="target"/>.</summary>
    public static JsonNode Apply(BodyFormat format, JsonObject target, JsonNode patch, ResourceType? type)
    {
        try
        {
            return format switch
            {
                BodyFormat.MergePatch => JsonMergePatch.Apply(target, patch),
                BodyFormat.StrategicMergePatch => StrategicMergePatch.Apply(target, AsObject(patch),
                    type is null ? PatchSchema.Empty : SchemaOf(type)),
                BodyFormat.JsonPatch => JsonPatch.Apply(target, patch as JsonArray
                    ?? throw new PatchException("a JSON patch must be an array of operations")),
                _ => throw ApiException.UnsupportedMediaType(format.ToString()),
            };
        }
        catch (PatchException e)
        {
            throw ToApiException(e);
        }
    }

    /// <summary>Server-side apply of <paramref name="applied"/> onto <paramref name="live"/> (null when creating).</summary>
    public static JsonNode ServerSideApply(ResourceType type, JsonObject? live, JsonNode applied, string manager, bool force, DateTimeOffset now, string? subresource)
    {
        try
        {
            var result = Core.Patching.ServerSideApply.Apply(live, AsObject(applied), manager, force, SchemaOf(type), now, subresource);
            return result.Result;
        }
        catch (ApplyConflictException e)
        {
            throw new ApiException(409, "Conflict", e.Message, new StatusDetails
            {
                Causes = e.Conflicts.Select(c => new StatusCause
                {
                    Reason = "FieldManagerConflict",
                    Message = $"conflict with \"{c.Manager}\"",
                    Field = c.Field,
                }).ToList(),
            });
        }
        catch (PatchException e)
        {
            throw ToApiException(e);
        }
    }

    /// <summary>Records in managedFields that <paramref name="manager"/> changed the fields it changed.</summary>
    public static KubeObject RecordManager(ResourceType type, KubeObject? before, KubeObject after, string manager, string operation, DateTimeOffset now, string? subresource = null)
    {
        var beforeNode = before is null ? null : ObjectCodec.ToNode(type, before);
        var afterNode = ObjectCodec.ToNode(type, after);
        var recorded = ManagedFields.RecordUpdate(beforeNode, afterNode, manager, operation, type.ApiVersion, SchemaOf(type), now, subresource);
        // Only metadata.managedFields changes: decode that list alone rather than the whole object.
        after.Metadata.ManagedFields = recorded["metadata"]?["managedFields"] is JsonArray entries
            ? entries.Deserialize(ManagedFieldsInfo)
            : null;
        return after;
    }

    private static JsonObject AsObject(JsonNode patch) =>
        patch as JsonObject ?? throw new PatchException("the patch must be a JSON object");

    private static ApiException ToApiException(PatchException e) => e.Kind switch
    {
        PatchErrorKind.Malformed => ApiException.BadRequest(e.Message),
        _ => ApiException.Unprocessable(e.Message),
    };
}
