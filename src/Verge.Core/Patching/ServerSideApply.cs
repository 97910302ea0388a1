using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>
/// The outcome of a server-side apply: the object to store, and whether anything changed. When nothing changed
/// (not even ownership) <see cref="Result"/> equals the live object, managed field times included, so the server
/// can skip the write as Kubernetes does.
/// </summary>
public sealed record ApplyResult(JsonObject Result, bool Changed);

/// <summary>
/// Server-side apply (<c>application/apply-patch+yaml</c>, already turned into JSON by the API server): merges an
/// applied configuration into the live object and tracks, in <c>metadata.managedFields</c>, which manager owns which
/// fields. Lists merged by key merge item by item, sets take the union, other lists are replaced. Fields this
/// manager applied before and omits now are removed unless another manager owns them. Changing a field another
/// manager owns is a conflict unless forced, in which case the field changes hands.
/// </summary>
public static class ServerSideApply
{
    /// <summary>Applies <paramref name="applied"/> to <paramref name="live"/> (null to create) for <paramref name="manager"/>.</summary>
    /// <exception cref="ApplyConflictException">Fields owned by other managers would change and <paramref name="force"/> is false.</exception>
    /// <exception cref="PatchException">The configuration does not fit the schema (a list item without its merge key, ...).</exception>
    public static ApplyResult Apply(
        JsonObject? live,
        JsonObject applied,
        string manager,
        bool force,
        IPatchSchema schema,
        DateTimeOffset now,
        string? subresource = null)
    {
        ArgumentNullException.ThrowIfNull(applied);
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(schema);
        var walker = new FieldWalker(schema, subresource);
        var config = InScope(applied, subresource);
        var configSet = walker.Walk(config, strict: true).Keys.ToHashSet();
        var apiVersion = Text(applied, "apiVersion") ?? Text(live, "apiVersion") ?? "";
        var identity = new ManagerIdentity(manager, "Apply", "", subresource ?? "");

        var original = ManagedFields.Read(live);
        var entries = ManagedFields.Read(live);
        var own = entries.Find(e => e.Identity == identity);
        var lastSet = own?.Fields ?? [];

        var merged = (JsonObject)Merge(live, config, [], schema)!;
        Prune(merged, lastSet, configSet, entries.Where(e => e.Identity != identity));

        var comparison = walker.Compare(live, merged);
        var changed = comparison.AddedOrModified;
        var conflicts = new List<ApplyConflict>();
        foreach (var entry in entries.Where(e => e.Identity != identity))
        {
            foreach (var path in entry.Fields.Where(changed.Contains).OrderBy(p => p.ToString(), StringComparer.Ordinal))
            {
                conflicts.Add(new ApplyConflict(
                    entry.Identity.Manager,
                    entry.Identity.Operation,
                    entry.ApiVersion,
                    entry.Identity.Subresource.Length == 0 ? null : entry.Identity.Subresource,
                    path.ToString()));
            }
        }

        if (conflicts.Count > 0 && !force)
        {
            throw new ApplyConflictException(conflicts);
        }

        foreach (var entry in entries.Where(e => e.Identity != identity))
        {
            entry.Fields.ExceptWith(changed);
            entry.Fields.ExceptWith(comparison.Removed);
        }

        if (own is null)
        {
            own = new ManagerEntry(identity, apiVersion, null, []);
            entries.Add(own);
        }

        own.Fields.Clear();
        own.Fields.UnionWith(configSet);
        own.ApiVersion = apiVersion;
        entries.RemoveAll(e => e.Fields.Count == 0);

        if (live is not null && comparison.IsEmpty && SameOwnership(original, entries))
        {
            return new ApplyResult(live.DeepClone().AsObject(), Changed: false);
        }

        own.Time = ManagedFields.FormatTime(now);
        ManagedFields.Write(merged, entries);
        return new ApplyResult(merged, Changed: true);
    }

    /// <summary>The applied configuration without what apply does not set: status (or, for the status subresource, all but status) and managedFields.</summary>
    private static JsonObject InScope(JsonObject applied, string? subresource)
    {
        var result = new JsonObject();
        foreach (var (key, value) in applied)
        {
            var keep = subresource == "status"
                ? key is "status" or "apiVersion" or "kind" or "metadata"
                : key != "status";
            if (!keep)
            {
                continue;
            }

            if (key == "metadata" && value is JsonObject metadata)
            {
                var copy = new JsonObject();
                foreach (var (field, fieldValue) in metadata)
                {
                    var keepField = subresource == "status" ? field is "name" or "namespace" : field != "managedFields";
                    if (keepField)
                    {
                        copy[field] = fieldValue?.DeepClone();
                    }
                }

                result[key] = copy;
            }
            else
            {
                result[key] = value?.DeepClone();
            }
        }

        return result;
    }

    /// <summary>Merges the configuration into the live value: objects field by field, lists by their schema, the rest replaced. Nulls in the configuration are ignored.</summary>
    private static JsonNode? Merge(JsonNode? live, JsonNode? config, List<string> path, IPatchSchema schema)
    {
        switch (config)
        {
            case JsonObject configObject:
                var liveObject = live as JsonObject;
                var result = new JsonObject();
                if (liveObject is not null)
                {
                    foreach (var (key, value) in liveObject)
                    {
                        result[key] = configObject[key] is { } configValue
                            ? Merge(value, configValue, [.. path, key], schema)
                            : value?.DeepClone();
                    }
                }

                foreach (var (key, value) in configObject)
                {
                    if (value is not null && !(liveObject?.ContainsKey(key) ?? false))
                    {
                        result[key] = Merge(null, value, [.. path, key], schema);
                    }
                }

                return result;
            case JsonArray configArray:
                var list = schema.GetList(path);
                var liveArray = live as JsonArray;
                return list.Strategy switch
                {
                    ListMergeStrategy.MergeByKey => Interleave(
                        liveArray,
                        configArray,
                        (l, c) => l is JsonObject lo && c is JsonObject co && lo[list.MergeKey!] is { } key && JsonNode.DeepEquals(key, co[list.MergeKey!]),
                        (l, c) => Merge(l, c, path, schema)),
                    ListMergeStrategy.Set => Interleave(liveArray, configArray, JsonNode.DeepEquals, (_, c) => c?.DeepClone()),
                    _ => [.. configArray.Select(item => Merge(null, item, path, schema))],
                };
            default:
                return config?.DeepClone();
        }
    }

    /// <summary>
    /// Merges two lists keeping the live order: items only in the live list stay where they are, shared items are
    /// merged in place, and items only in the configuration are placed before the next shared item that follows
    /// them in the configuration (or at the end).
    /// </summary>
    private static JsonArray Interleave(
        JsonArray? live,
        JsonArray config,
        Func<JsonNode?, JsonNode?, bool> same,
        Func<JsonNode?, JsonNode?, JsonNode?> merge)
    {
        var result = new JsonArray();
        var used = new bool[config.Count];
        var next = 0;
        foreach (var item in live ?? [])
        {
            var index = -1;
            for (var j = 0; j < config.Count && index < 0; j++)
            {
                index = !used[j] && same(item, config[j]) ? j : -1;
            }

            if (index < 0)
            {
                result.Add(item?.DeepClone());
                continue;
            }

            for (var j = next; j < index; j++)
            {
                if (!used[j] && !(live ?? []).Any(l => same(l, config[j])))
                {
                    result.Add(merge(null, config[j]));
                    used[j] = true;
                }
            }

            next = Math.Max(next, index + 1);
            result.Add(merge(item, config[index]));
            used[index] = true;
        }

        for (var j = 0; j < config.Count; j++)
        {
            if (!used[j])
            {
                result.Add(merge(null, config[j]));
            }
        }

        return result;
    }

    /// <summary>
    /// Removes the fields this manager applied before and omits now, unless some manager (this one included) still
    /// owns the field or something beneath it. Objects and lists left empty by a removal go too, unless owned.
    /// </summary>
    private static void Prune(JsonObject merged, HashSet<FieldPath> lastSet, HashSet<FieldPath> configSet, IEnumerable<ManagerEntry> others)
    {
        var owned = new HashSet<FieldPath>(configSet);
        foreach (var entry in others)
        {
            owned.UnionWith(entry.Fields);
        }

        var ownedOrAbove = owned.SelectMany(p => p.Prefixes()).ToHashSet();
        foreach (var path in lastSet.Where(p => !ownedOrAbove.Contains(p)).OrderBy(p => p.Length))
        {
            Remove(merged, path, owned);
        }
    }

    private static void Remove(JsonObject root, FieldPath path, HashSet<FieldPath> owned)
    {
        var chain = new List<(JsonNode Container, int Index, string? Name)>();
        JsonNode? current = root;
        foreach (var element in path.Elements)
        {
            if (current is null || !TryLocate(current, element, out var index, out var name))
            {
                return;
            }

            chain.Add((current, index, name));
            current = name is null ? current.AsArray()[index] : current.AsObject()[name];
        }

        for (var depth = chain.Count - 1; depth >= 0; depth--)
        {
            var (container, index, name) = chain[depth];
            if (name is null)
            {
                container.AsArray().RemoveAt(index);
            }
            else
            {
                container.AsObject().Remove(name);
            }

            var emptied = container is JsonObject { Count: 0 } or JsonArray { Count: 0 };
            var containerPath = new FieldPath(path.Elements.Take(depth));
            if (depth == 0 || !emptied || owned.Contains(containerPath))
            {
                return;
            }
        }
    }

    private static bool TryLocate(JsonNode container, string element, out int index, out string? name)
    {
        index = -1;
        name = null;
        var body = element.Length > 2 ? element[2..] : "";
        switch (element[..Math.Min(2, element.Length)])
        {
            case "f:" when container is JsonObject obj && obj.ContainsKey(body):
                name = body;
                return true;
            case "k:" when container is JsonArray array && JsonNode.Parse(body) is JsonObject key:
                index = array.Select((item, i) => (item, i))
                    .FirstOrDefault(p => p.item is JsonObject o && key.All(k => JsonNode.DeepEquals(o[k.Key], k.Value)), (null, -1)).Item2;
                return index >= 0;
            case "v:" when container is JsonArray array:
                var value = JsonNode.Parse(body);
                index = array.Select((item, i) => (item, i)).FirstOrDefault(p => JsonNode.DeepEquals(p.item, value), (null, -1)).Item2;
                return index >= 0;
            default:
                return false;
        }
    }

    private static bool SameOwnership(List<ManagerEntry> before, List<ManagerEntry> after) =>
        before.Count == after.Count
        && before.All(b => after.Find(a => a.Identity == b.Identity) is { } a && a.ApiVersion == b.ApiVersion && a.Fields.SetEquals(b.Fields));

    private static string? Text(JsonObject? obj, string field) =>
        obj?[field] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
}
