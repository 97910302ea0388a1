using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>The value found at one owned path: a leaf (scalar, atomic list, empty object, set item) or an item with children.</summary>
internal readonly record struct FieldValue(JsonNode? Value, bool IsLeaf);

/// <summary>The differences between two objects, as field paths.</summary>
internal sealed record FieldComparison(HashSet<FieldPath> Added, HashSet<FieldPath> Modified, HashSet<FieldPath> Removed)
{
    public bool IsEmpty => Added.Count == 0 && Modified.Count == 0 && Removed.Count == 0;

    public HashSet<FieldPath> AddedOrModified => [.. Added, .. Modified];
}

/// <summary>
/// Turns an object into the set of field paths that server-side apply can own: scalars, atomic lists and empty
/// objects are leaves, items of lists merged by key are members with children, items of sets are leaves. Only the
/// fields of the given scope are walked: for the main resource everything but <c>apiVersion</c>, <c>kind</c>,
/// <c>status</c> and the server-set metadata; for the <c>status</c> subresource only <c>status</c>.
/// </summary>
internal sealed class FieldWalker(IPatchSchema schema, string? subresource)
{
    private static readonly HashSet<string> OwnedMetadata = new(StringComparer.Ordinal)
    {
        "labels", "annotations", "finalizers", "ownerReferences",
    };

    /// <summary>Whether a top-level field (and, under metadata, a metadata field) takes part in ownership.</summary>
    public bool InScope(string topLevel, string? metadataField)
    {
        if (subresource == "status")
        {
            return topLevel == "status";
        }

        return topLevel switch
        {
            "apiVersion" or "kind" or "status" => false,
            "metadata" => metadataField is null || OwnedMetadata.Contains(metadataField),
            _ => true,
        };
    }

    /// <summary>
    /// Every owned path of <paramref name="root"/> with its value. When <paramref name="strict"/>, a list item
    /// without its merge key (or a duplicate key) is an error, as it is in an applied configuration; otherwise such
    /// a list is treated as atomic.
    /// </summary>
    public Dictionary<FieldPath, FieldValue> Walk(JsonObject? root, bool strict)
    {
        var result = new Dictionary<FieldPath, FieldValue>();
        if (root is null)
        {
            return result;
        }

        foreach (var (key, value) in root)
        {
            if (!InScope(key, null))
            {
                continue;
            }

            if (key == "metadata" && subresource != "status")
            {
                if (value is JsonObject metadata)
                {
                    foreach (var (field, fieldValue) in metadata)
                    {
                        if (InScope(key, field))
                        {
                            WalkValue(fieldValue, FieldPath.Root.Field(key).Field(field), [key, field], result, strict);
                        }
                    }
                }

                continue;
            }

            WalkValue(value, FieldPath.Root.Field(key), [key], result, strict);
        }

        return result;
    }

    public FieldComparison Compare(JsonObject? before, JsonObject after)
    {
        var old = Walk(before, strict: false);
        var now = Walk(after, strict: false);
        var added = new HashSet<FieldPath>();
        var modified = new HashSet<FieldPath>();
        var removed = new HashSet<FieldPath>();
        foreach (var (path, value) in now)
        {
            if (!old.TryGetValue(path, out var previous))
            {
                added.Add(path);
            }
            else if (previous.IsLeaf != value.IsLeaf || (value.IsLeaf && !JsonNode.DeepEquals(previous.Value, value.Value)))
            {
                modified.Add(path);
            }
        }

        foreach (var path in old.Keys)
        {
            if (!now.ContainsKey(path))
            {
                removed.Add(path);
            }
        }

        return new FieldComparison(added, modified, removed);
    }

    private void WalkValue(JsonNode? value, FieldPath path, List<string> schemaPath, Dictionary<FieldPath, FieldValue> result, bool strict)
    {
        switch (value)
        {
            case JsonObject { Count: 0 }:
                result[path] = new FieldValue(value, IsLeaf: true);
                break;
            case JsonObject obj:
                foreach (var (key, child) in obj)
                {
                    WalkValue(child, path.Field(key), [.. schemaPath, key], result, strict);
                }

                break;
            case JsonArray array:
                WalkList(array, path, schemaPath, result, strict);
                break;
            default:
                result[path] = new FieldValue(value, IsLeaf: true);
                break;
        }
    }

    private void WalkList(JsonArray array, FieldPath path, List<string> schemaPath, Dictionary<FieldPath, FieldValue> result, bool strict)
    {
        var list = schema.GetList(schemaPath);
        switch (list.Strategy)
        {
            case ListMergeStrategy.MergeByKey when KeyedItems(array, list.MergeKey!, schemaPath, strict) is { } items:
                foreach (var (key, item) in items)
                {
                    var itemPath = path.Key(list.MergeKey!, key);
                    result[itemPath] = new FieldValue(item, IsLeaf: false);
                    foreach (var (field, child) in item)
                    {
                        WalkValue(child, itemPath.Field(field), [.. schemaPath, field], result, strict);
                    }
                }

                break;
            case ListMergeStrategy.Set when array.All(PatchNodes.IsScalar):
                foreach (var item in array)
                {
                    result[path.Value(item)] = new FieldValue(item, IsLeaf: true);
                }

                break;
            case ListMergeStrategy.Set when strict:
                throw new PatchException(
                    $"apply at {PatchNodes.Dotted(schemaPath)}: a list merged as a set holds only scalars", PatchErrorKind.CannotApply);
            default:
                result[path] = new FieldValue(array, IsLeaf: true);
                break;
        }
    }

    private static List<(JsonNode Key, JsonObject Item)>? KeyedItems(JsonArray array, string mergeKey, List<string> schemaPath, bool strict)
    {
        var items = new List<(JsonNode Key, JsonObject Item)>(array.Count);
        foreach (var node in array)
        {
            string? problem = null;
            if (node is not JsonObject item || !item.TryGetPropertyValue(mergeKey, out var key) || key is null)
            {
                problem = $"item {PatchNodes.ToJson(node)} has no merge key \"{mergeKey}\"";
            }
            else if (items.Any(existing => JsonNode.DeepEquals(existing.Key, key)))
            {
                problem = $"duplicate entries for key [{mergeKey}={PatchNodes.ToJson(key)}]";
            }
            else
            {
                items.Add((key, item));
                continue;
            }

            return strict
                ? throw new PatchException($"apply at {PatchNodes.Dotted(schemaPath)}: {problem}", PatchErrorKind.CannotApply)
                : null;
        }

        return items;
    }
}
