using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>
/// Strategic merge patch (<c>application/strategic-merge-patch+json</c>), as Kubernetes applies it to built-in
/// types: maps merge recursively and <c>null</c> deletes a field; lists with a merge key merge item by item; lists
/// merged as sets take the union; other lists are replaced. The directives <c>$patch</c> (replace, delete, merge),
/// <c>$retainKeys</c>, <c>$deleteFromPrimitiveList/&lt;field&gt;</c> and <c>$setElementOrder/&lt;field&gt;</c> are
/// honoured and never stored as data.
/// </summary>
public static class StrategicMergePatch
{
    private const string PatchDirective = "$patch";
    private const string RetainKeysDirective = "$retainKeys";
    private const string DeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";
    private const string SetElementOrderPrefix = "$setElementOrder/";

    /// <summary>Returns <paramref name="target"/> with <paramref name="patch"/> merged in; neither input is changed.</summary>
    /// <exception cref="PatchException">The patch is malformed or does not fit the object.</exception>
    public static JsonObject Apply(JsonObject target, JsonObject patch, IPatchSchema schema)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(patch);
        ArgumentNullException.ThrowIfNull(schema);
        return new Merger(schema).MergeMap(target, patch, []);
    }

    private static bool IsDirective(string key) =>
        key == PatchDirective || key == RetainKeysDirective
        || key.StartsWith(DeleteFromPrimitiveListPrefix, StringComparison.Ordinal)
        || key.StartsWith(SetElementOrderPrefix, StringComparison.Ordinal);

    private static PatchException Fail(IReadOnlyList<string> path, string problem, PatchErrorKind kind = PatchErrorKind.Malformed) =>
        new($"strategic merge patch at {PatchNodes.Dotted(path)}: {problem}", kind);

    private sealed class Merger(IPatchSchema schema)
    {
        public JsonObject MergeMap(JsonObject? original, JsonObject patch, List<string> path)
        {
            if (patch.TryGetPropertyValue(PatchDirective, out var directiveNode))
            {
                var directive = directiveNode is JsonValue v && v.TryGetValue(out string? s) ? s : null;
                switch (directive)
                {
                    case "replace":
                        return MergeMap(null, Without(patch, PatchDirective), path);
                    case "delete":
                        return [];
                    case "merge":
                        break;
                    default:
                        throw Fail(path, $"unknown {PatchDirective} directive {PatchNodes.ToJson(directiveNode)}");
                }
            }

            var retain = RetainKeys(patch, path);
            var deletions = new Dictionary<string, JsonArray>(StringComparer.Ordinal);
            var orders = new Dictionary<string, JsonArray>(StringComparer.Ordinal);
            foreach (var (key, value) in patch)
            {
                if (key.StartsWith(DeleteFromPrimitiveListPrefix, StringComparison.Ordinal))
                {
                    deletions[key[DeleteFromPrimitiveListPrefix.Length..]] = value as JsonArray
                        ?? throw Fail(path, $"{key} must be a list");
                }
                else if (key.StartsWith(SetElementOrderPrefix, StringComparison.Ordinal))
                {
                    orders[key[SetElementOrderPrefix.Length..]] = value as JsonArray
                        ?? throw Fail(path, $"{key} must be a list");
                }
            }

            var result = new JsonObject();
            if (original is not null)
            {
                foreach (var (key, value) in original)
                {
                    if (retain is not null && !retain.Contains(key))
                    {
                        continue;
                    }

                    var inPatch = patch.TryGetPropertyValue(key, out var patchValue) && !IsDirective(key);
                    if (inPatch && patchValue is null)
                    {
                        continue;
                    }

                    if (inPatch || deletions.ContainsKey(key) || orders.ContainsKey(key))
                    {
                        result[key] = MergeValue(value, inPatch ? patchValue : null, Child(path, key), orders.GetValueOrDefault(key), deletions.GetValueOrDefault(key));
                    }
                    else
                    {
                        result[key] = value?.DeepClone();
                    }
                }
            }

            foreach (var (key, patchValue) in patch)
            {
                if (patchValue is null || IsDirective(key) || (original?.ContainsKey(key) ?? false))
                {
                    continue;
                }

                result[key] = MergeValue(null, patchValue, Child(path, key), orders.GetValueOrDefault(key), null);
            }

            return result;
        }

        private static HashSet<string>? RetainKeys(JsonObject patch, List<string> path)
        {
            if (!patch.TryGetPropertyValue(RetainKeysDirective, out var node))
            {
                return null;
            }

            if (node is not JsonArray array)
            {
                throw Fail(path, $"{RetainKeysDirective} must be a list of field names");
            }

            var retain = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in array)
            {
                if (item is not JsonValue value || !value.TryGetValue(out string? name))
                {
                    throw Fail(path, $"{RetainKeysDirective} must be a list of field names");
                }

                retain.Add(name);
            }

            foreach (var (key, value) in patch)
            {
                if (value is not null && !IsDirective(key) && !retain.Contains(key))
                {
                    throw Fail(path, $"field \"{key}\" is in the patch but not in {RetainKeysDirective}", PatchErrorKind.CannotApply);
                }
            }

            return retain;
        }

        private JsonNode? MergeValue(JsonNode? original, JsonNode? patch, List<string> path, JsonArray? order, JsonArray? deletions)
        {
            switch (patch)
            {
                case JsonObject patchObject:
                    return MergeMap(original as JsonObject, patchObject, path);
                case JsonArray patchArray:
                    return MergeList(original as JsonArray, patchArray, path, order, deletions);
                case null when original is JsonArray originalArray:
                    return MergeList(originalArray, null, path, order, deletions);
                case null:
                    return original?.DeepClone();
                default:
                    return patch.DeepClone();
            }
        }

        private JsonArray MergeList(JsonArray? original, JsonArray? patch, List<string> path, JsonArray? order, JsonArray? deletions)
        {
            var list = schema.GetList(path);
            var items = (original ?? []).Select(item => item?.DeepClone()).ToList();
            if (deletions is not null)
            {
                items.RemoveAll(item => deletions.Any(d => JsonNode.DeepEquals(d, item)));
            }

            if (patch is null)
            {
                return order is null || list.Strategy == ListMergeStrategy.Atomic
                    ? [.. items]
                    : Ordered(items, [], order, original, list.MergeKey, path);
            }

            return list.Strategy switch
            {
                ListMergeStrategy.MergeByKey => MergeByKey(items, original, patch, path, list.MergeKey!, order),
                ListMergeStrategy.Set => MergeSet(items, original, patch, path, order),
                _ => [.. patch.Where(item => !IsListDirective(item)).Select(item => item?.DeepClone())],
            };
        }

        private static JsonArray MergeSet(List<JsonNode?> items, JsonArray? original, JsonArray patch, List<string> path, JsonArray? order)
        {
            var patchItems = new List<JsonNode?>();
            var replace = false;
            foreach (var item in patch)
            {
                if (item is JsonObject directive && directive.ContainsKey(PatchDirective))
                {
                    replace = ReadListDirective(directive, path) == "replace" || replace;
                    continue;
                }

                if (!PatchNodes.IsScalar(item))
                {
                    throw Fail(path, $"a list merged as a set holds only scalars, not {PatchNodes.Describe(item)}");
                }

                patchItems.Add(item);
            }

            var merged = replace ? [] : items;
            foreach (var item in patchItems)
            {
                if (!merged.Any(existing => JsonNode.DeepEquals(existing, item)))
                {
                    merged.Add(item?.DeepClone());
                }
            }

            return Ordered(merged, patchItems, order, replace ? null : original, null, path);
        }

        private JsonArray MergeByKey(List<JsonNode?> items, JsonArray? original, JsonArray patch, List<string> path, string key, JsonArray? order)
        {
            var patchItems = new List<JsonObject>();
            var replace = false;
            foreach (var item in patch)
            {
                if (item is not JsonObject obj)
                {
                    throw Fail(path, $"items of a list merged by \"{key}\" must be objects, not {PatchNodes.Describe(item)}");
                }

                if (!obj.ContainsKey(PatchDirective))
                {
                    patchItems.Add(obj);
                    continue;
                }

                switch (ReadListDirective(obj, path))
                {
                    case "delete":
                        var keyValue = KeyOf(obj, key, path);
                        items.RemoveAll(existing => existing is JsonObject e && JsonNode.DeepEquals(e[key], keyValue));
                        break;
                    case "replace":
                        replace = true;
                        break;
                    default:
                        throw Fail(path, $"{PatchDirective}: merge is not supported inside a list");
                }
            }

            var merged = replace ? [] : items;
            foreach (var item in patchItems)
            {
                var keyValue = KeyOf(item, key, path);
                var index = merged.FindIndex(existing => existing is JsonObject e && JsonNode.DeepEquals(e[key], keyValue));
                if (index >= 0)
                {
                    merged[index] = MergeMap((JsonObject)merged[index]!, item, path);
                }
                else
                {
                    merged.Add(MergeMap(null, item, path));
                }
            }

            return Ordered(merged, [.. patchItems], order, replace ? null : original, key, path);
        }

        private static JsonNode KeyOf(JsonObject item, string key, List<string> path) =>
            item.TryGetPropertyValue(key, out var value) && value is not null
                ? value
                : throw Fail(path, $"item {PatchNodes.ToJson(item)} has no merge key \"{key}\"");

        private static string? ReadListDirective(JsonObject item, List<string> path)
        {
            var directive = item[PatchDirective] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            return directive is "delete" or "replace" or "merge"
                ? directive
                : throw Fail(path, $"unknown {PatchDirective} directive {PatchNodes.ToJson(item[PatchDirective])}");
        }

        private static bool IsListDirective(JsonNode? item) =>
            item is JsonObject obj && obj.Count == 1 && obj.ContainsKey(PatchDirective);

        /// <summary>
        /// Orders a merged list as Kubernetes does: the items named by the order (<c>$setElementOrder</c>, or else the
        /// patch list) in that order, with the items only the server had interleaved at their places in the original.
        /// </summary>
        private static JsonArray Ordered(List<JsonNode?> merged, List<JsonNode?> patchItems, JsonArray? order, JsonArray? original, string? key, List<string> path)
        {
            IReadOnlyList<JsonNode?> orderList = order is null ? patchItems : [.. order];
            IReadOnlyList<JsonNode?>? originalList = original is null ? null : [.. original];
            if (key is not null)
            {
                foreach (var item in orderList)
                {
                    if (item is not JsonObject obj || !obj.ContainsKey(key))
                    {
                        throw Fail(path, $"{SetElementOrderPrefix}{path[^1]} item {PatchNodes.ToJson(item)} has no merge key \"{key}\"");
                    }
                }
            }

            int IndexIn(IReadOnlyList<JsonNode?>? list, JsonNode? item)
            {
                if (list is null)
                {
                    return -1;
                }

                for (var i = 0; i < list.Count; i++)
                {
                    var same = key is null
                        ? JsonNode.DeepEquals(list[i], item)
                        : list[i] is JsonObject l && item is JsonObject r && l.ContainsKey(key) && JsonNode.DeepEquals(l[key], r[key]);
                    if (same)
                    {
                        return i;
                    }
                }

                return -1;
            }

            var fromPatch = merged.Where(item => IndexIn(orderList, item) >= 0)
                .OrderBy(item => IndexIn(orderList, item)).ToList();
            var serverOnly = merged.Where(item => IndexIn(orderList, item) < 0)
                .Select((item, position) => (item, position))
                .OrderBy(pair => IndexIn(originalList, pair.item) is var i && i >= 0 ? i : int.MaxValue)
                .ThenBy(pair => pair.position)
                .Select(pair => pair.item).ToList();

            // Insert each server-only item before the first patch item that follows it in the original list.
            var result = new JsonArray();
            int left = 0, right = 0;
            while (left < serverOnly.Count || right < fromPatch.Count)
            {
                if (left >= serverOnly.Count)
                {
                    result.Add(fromPatch[right++]);
                }
                else if (right >= fromPatch.Count)
                {
                    result.Add(serverOnly[left++]);
                }
                else
                {
                    var l = IndexIn(originalList, serverOnly[left]);
                    var r = IndexIn(originalList, fromPatch[right]);
                    result.Add(l >= 0 && r >= 0 && l < r ? serverOnly[left++] : fromPatch[right++]);
                }
            }

            return result;
        }

        private static JsonObject Without(JsonObject patch, string name)
        {
            var copy = new JsonObject();
            foreach (var (key, value) in patch)
            {
                if (key != name)
                {
                    copy[key] = value?.DeepClone();
                }
            }

            return copy;
        }

        private static List<string> Child(List<string> path, string key) => [.. path, key];
    }
}
