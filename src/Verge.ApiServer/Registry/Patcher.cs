using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.ApiServer.Http;
using Verge.Core.Coordination;
using Verge.Core.Meta;
using Verge.Core.Patching;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Registry;

/// <summary>Applies the four PATCH media types to stored objects and keeps managedFields, mapping patch errors to Kubernetes' status codes.</summary>
internal static class Patcher
{
    private static readonly ConcurrentDictionary<ResourceType, IPatchSchema> Schemas = new();

    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<List<ManagedFieldsEntry>> ManagedFieldsInfo =
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<List<ManagedFieldsEntry>>)VergeJson.Options.GetTypeInfo(typeof(List<ManagedFieldsEntry>));

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

    /// <summary>
    /// Records in managedFields that <paramref name="manager"/> changed the fields it changed. A status write records
    /// nothing: it keeps the stored managedFields (<see cref="ResourceService.KeepsOnlyStatus"/>).
    /// </summary>
    public static KubeObject RecordManager(ResourceType type, KubeObject? before, KubeObject after, string manager, string operation, DateTimeOffset now, string? subresource = null)
    {
        if (before is not null && ResourceService.KeepsOnlyStatus(type, subresource))
        {
            return after;
        }

        if (before is Lease old && after is Lease renewed && TryRecordRenewal(type, old, renewed, manager, operation, now, subresource))
        {
            return after;
        }

        var beforeNode = before is null ? null : ObjectCodec.ToNode(type, before);
        var afterNode = ObjectCodec.ToNode(type, after);
        // Only metadata.managedFields changes: work out that list alone (no copy of the whole tree) and decode it.
        var recorded = ManagedFields.RecordUpdateEntries(beforeNode, afterNode, manager, operation, type.ApiVersion, SchemaOf(type), now, subresource);
        after.Metadata.ManagedFields = recorded is JsonArray entries
            ? entries.Deserialize(ManagedFieldsInfo)
            : null;
        return after;
    }

    /// <summary>
    /// The fast path of a Lease renewal, the most frequent write of a cluster (every node, every second or two): when
    /// only <c>spec.renewTime</c> changed and the writer's own managedFields entry already owns it (and no other entry
    /// does), the field sets stay as they are and only that entry's time moves: what <see cref="ManagedFields.RecordUpdate"/>
    /// would compute, without turning both objects into JSON trees and walking them.
    /// </summary>
    internal static bool TryRecordRenewal(ResourceType type, Lease before, Lease after, string manager, string operation, DateTimeOffset now, string? subresource)
    {
        var entries = before.Metadata.ManagedFields;
        if (entries is not { Count: > 0 } || before.Spec.RenewTime is null || after.Spec.RenewTime is null
            || before.Spec.HolderIdentity != after.Spec.HolderIdentity || before.Spec.LeaseDurationSeconds != after.Spec.LeaseDurationSeconds
            || before.Spec.AcquireTime != after.Spec.AcquireTime || before.Spec.LeaseTransitions != after.Spec.LeaseTransitions)
        {
            return false;
        }

        var own = -1;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var ownsRenewTime = entry.FieldsType == "FieldsV1" && entry.FieldsV1?["f:spec"] is JsonObject spec && spec.ContainsKey("f:renewTime");
            var mine = entry.Manager == manager && entry.Operation == operation && entry.ApiVersion == type.ApiVersion
                && (entry.Subresource ?? "") == (subresource ?? "");
            if (mine && ownsRenewTime)
            {
                own = i;
            }
            else if (ownsRenewTime || mine || entry.FieldsType != "FieldsV1")
            {
                return false;
            }
        }

        if (own < 0 || !SameMetadata(before.Metadata, after.Metadata))
        {
            return false;
        }

        var copy = new List<ManagedFieldsEntry>(entries.Count);
        foreach (var entry in entries)
        {
            copy.Add(new ManagedFieldsEntry
            {
                Manager = entry.Manager,
                Operation = entry.Operation,
                ApiVersion = entry.ApiVersion,
                Time = entry.Time,
                FieldsType = entry.FieldsType,
                FieldsV1 = entry.FieldsV1,
                Subresource = entry.Subresource,
            });
        }

        if (before.Spec.RenewTime != after.Spec.RenewTime)
        {
            var utc = now.UtcDateTime;
            copy[own].Time = new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        }

        after.Metadata.ManagedFields = copy;
        return true;
    }

    /// <summary>Whether two objects' metadata are the same apart from resourceVersion and managedFields (both request-local copies).</summary>
    private static bool SameMetadata(ObjectMeta a, ObjectMeta b)
    {
        var (aFields, aVersion, bFields, bVersion) = (a.ManagedFields, a.ResourceVersion, b.ManagedFields, b.ResourceVersion);
        try
        {
            a.ManagedFields = b.ManagedFields = null;
            a.ResourceVersion = b.ResourceVersion = null;
            return VergeJson.SameEncoding(a, b, VergeJsonContext.Default.ObjectMeta);
        }
        finally
        {
            (a.ManagedFields, a.ResourceVersion, b.ManagedFields, b.ResourceVersion) = (aFields, aVersion, bFields, bVersion);
        }
    }

    private static JsonObject AsObject(JsonNode patch) =>
        patch as JsonObject ?? throw new PatchException("the patch must be a JSON object");

    private static ApiException ToApiException(PatchException e) => e.Kind switch
    {
        PatchErrorKind.Malformed => ApiException.BadRequest(e.Message),
        _ => ApiException.Unprocessable(e.Message),
    };
}
