using System.Globalization;
using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>
/// <c>metadata.managedFields</c>: which manager owns which fields. Each entry is
/// <c>{manager, operation, apiVersion, time, fieldsType: "FieldsV1", fieldsV1}</c>, with fieldsV1 in Kubernetes'
/// encoding. Server-side apply (<see cref="ServerSideApply"/>) writes "Apply" entries; every other write (create,
/// update, patch) is recorded here as an "Update" entry.
/// </summary>
public static class ManagedFields
{
    /// <summary>
    /// Records an ordinary write: the fields that changed from <paramref name="before"/> (null on create) to
    /// <paramref name="after"/> become owned by <paramref name="manager"/> and are taken from every other manager.
    /// The managed fields of <paramref name="before"/> are the starting point; any in <paramref name="after"/> are
    /// ignored. Returns a copy of <paramref name="after"/> with <c>metadata.managedFields</c> set; when nothing
    /// changed, the entries of <paramref name="before"/> are kept as they were, times included.
    /// </summary>
    public static JsonObject RecordUpdate(
        JsonObject? before,
        JsonObject after,
        string manager,
        string operation,
        string apiVersion,
        IPatchSchema schema,
        DateTimeOffset now,
        string? subresource = null)
    {
        ArgumentNullException.ThrowIfNull(after);
        var result = after.DeepClone().AsObject();
        RecordInto(before, after, manager, operation, apiVersion, schema, now, subresource, result);
        return result;
    }

    /// <summary>
    /// What <see cref="RecordUpdate"/> would set as <c>metadata.managedFields</c> (null when it would have none),
    /// without copying <paramref name="after"/>: for a caller that keeps its object typed and takes only this list.
    /// </summary>
    public static JsonNode? RecordUpdateEntries(
        JsonObject? before,
        JsonObject after,
        string manager,
        string operation,
        string apiVersion,
        IPatchSchema schema,
        DateTimeOffset now,
        string? subresource = null)
    {
        var holder = new JsonObject { ["metadata"] = new JsonObject() };
        RecordInto(before, after, manager, operation, apiVersion, schema, now, subresource, holder);
        return holder["metadata"]?["managedFields"];
    }

    /// <summary>Works out the entries and writes them into <paramref name="result"/>'s <c>metadata.managedFields</c>.</summary>
    private static void RecordInto(
        JsonObject? before,
        JsonObject after,
        string manager,
        string operation,
        string apiVersion,
        IPatchSchema schema,
        DateTimeOffset now,
        string? subresource,
        JsonObject result)
    {
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(schema);
        var walker = new FieldWalker(schema, subresource);
        var entries = Read(before);
        var comparison = walker.Compare(before, after);
        var identity = new ManagerIdentity(manager, operation, operation == "Apply" ? "" : apiVersion, subresource ?? "");
        if (!comparison.IsEmpty)
        {
            var changed = comparison.AddedOrModified;
            foreach (var entry in entries)
            {
                if (entry.Identity != identity)
                {
                    entry.Fields.ExceptWith(changed);
                    entry.Fields.ExceptWith(comparison.Removed);
                }
            }

            var own = entries.Find(e => e.Identity == identity);
            if (own is null)
            {
                own = new ManagerEntry(identity, apiVersion, null, []);
                entries.Add(own);
            }

            own.Fields.ExceptWith(comparison.Removed);
            own.Fields.UnionWith(changed);
            own.ApiVersion = apiVersion;
            own.Time = FormatTime(now);
            entries.RemoveAll(e => e.Fields.Count == 0);
        }

        if (comparison.IsEmpty)
        {
            KeepEntries(before, result);
        }
        else
        {
            Write(result, entries);
        }
    }

    /// <summary>Copies the managed fields of <paramref name="from"/> into <paramref name="to"/> unchanged.</summary>
    internal static void KeepEntries(JsonObject? from, JsonObject to)
    {
        var kept = (from?["metadata"] as JsonObject)?["managedFields"]?.DeepClone();
        if (to["metadata"] is JsonObject metadata)
        {
            if (kept is null)
            {
                metadata.Remove("managedFields");
            }
            else
            {
                metadata["managedFields"] = kept;
            }
        }
        else if (kept is not null)
        {
            to["metadata"] = new JsonObject { ["managedFields"] = kept };
        }
    }

    internal static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads the entries of an object; entries of another fields type are skipped, repeated managers merged.</summary>
    internal static List<ManagerEntry> Read(JsonObject? obj)
    {
        var entries = new List<ManagerEntry>();
        if (obj?["metadata"] is not JsonObject metadata || metadata["managedFields"] is not JsonArray array)
        {
            return entries;
        }

        foreach (var node in array)
        {
            if (node is not JsonObject item || (Text(item, "fieldsType") ?? "FieldsV1") != "FieldsV1")
            {
                continue;
            }

            var operation = Text(item, "operation") ?? "Update";
            var apiVersion = Text(item, "apiVersion") ?? "";
            var identity = new ManagerIdentity(
                Text(item, "manager") ?? "",
                operation,
                operation == "Apply" ? "" : apiVersion,
                Text(item, "subresource") ?? "");
            var fields = FieldPath.FromFieldsV1(item["fieldsV1"] as JsonObject);
            var existing = entries.Find(e => e.Identity == identity);
            if (existing is null)
            {
                entries.Add(new ManagerEntry(identity, apiVersion, Text(item, "time"), fields));
            }
            else
            {
                existing.Fields.UnionWith(fields);
            }
        }

        return entries;
    }

    /// <summary>Writes the entries into <c>metadata.managedFields</c>, sorted as Kubernetes sorts them.</summary>
    internal static void Write(JsonObject obj, List<ManagerEntry> entries)
    {
        if (obj["metadata"] is not JsonObject metadata)
        {
            if (entries.Count == 0)
            {
                return;
            }

            metadata = [];
            obj["metadata"] = metadata;
        }

        if (entries.Count == 0)
        {
            metadata.Remove("managedFields");
            return;
        }

        var sorted = entries
            .OrderBy(e => e.Identity.Operation, StringComparer.Ordinal)
            .ThenBy(e => e.Time ?? "", StringComparer.Ordinal)
            .ThenBy(e => e.Identity.Manager, StringComparer.Ordinal)
            .ThenBy(e => e.ApiVersion, StringComparer.Ordinal)
            .ThenBy(e => e.Identity.Subresource, StringComparer.Ordinal);
        var array = new JsonArray();
        foreach (var entry in sorted)
        {
            var item = new JsonObject
            {
                ["manager"] = entry.Identity.Manager,
                ["operation"] = entry.Identity.Operation,
                ["apiVersion"] = entry.ApiVersion,
            };
            if (entry.Time is not null)
            {
                item["time"] = entry.Time;
            }

            item["fieldsType"] = "FieldsV1";
            item["fieldsV1"] = FieldPath.ToFieldsV1(entry.Fields);
            if (entry.Identity.Subresource.Length > 0)
            {
                item["subresource"] = entry.Identity.Subresource;
            }

            array.Add((JsonNode)item);
        }

        metadata["managedFields"] = array;
    }

    private static string? Text(JsonObject item, string field) =>
        item[field] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
}

/// <summary>
/// Who a managed fields entry belongs to. As in Kubernetes, an applier is one manager whatever apiVersion it used,
/// while an updater is a different manager per apiVersion.
/// </summary>
internal readonly record struct ManagerIdentity(string Manager, string Operation, string ApiVersion, string Subresource);

/// <summary>One entry of <c>metadata.managedFields</c>, decoded.</summary>
internal sealed class ManagerEntry(ManagerIdentity identity, string apiVersion, string? time, HashSet<FieldPath> fields)
{
    public ManagerIdentity Identity { get; } = identity;

    public string ApiVersion { get; set; } = apiVersion;

    public string? Time { get; set; } = time;

    public HashSet<FieldPath> Fields { get; } = fields;
}
