using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Verge.ApiServer.Registry;

/// <summary>
/// Removes JSON nulls from a request object the way Kubernetes' decoding treats them: a null field is an unset
/// field, a null list item is dropped, and a null value in a map of strings is the empty string. The walk follows
/// the kind's typed contract, so free-form parts (a Device's twin, typed as JsonObject) keep their nulls, and fields
/// the contract does not know are left for strict field validation to report.
/// </summary>
internal static class NullPruner
{
    public static void Prune(JsonObject node, JsonTypeInfo info) => PruneObject(node, info, 0);

    private static readonly ConditionalWeakTable<JsonTypeInfo, Dictionary<string, JsonPropertyInfo>> Members = new();

    /// <summary>
    /// The properties of <paramref name="info"/>'s contract by JSON name (the first of a name wins), built once per
    /// contract: a linear search with a closure per field was a large share of every decode's allocations. The typed
    /// merge patch finds its fields here too.
    /// </summary>
    public static IReadOnlyDictionary<string, JsonPropertyInfo> MembersOf(JsonTypeInfo info) =>
        Members.GetValue(info, static i =>
        {
            var byName = new Dictionary<string, JsonPropertyInfo>(StringComparer.Ordinal);
            foreach (var p in i.Properties)
            {
                byName.TryAdd(p.Name, p);
            }

            return byName;
        });

    private static void PruneObject(JsonObject node, JsonTypeInfo info, int depth)
    {
        if (depth > 100 || info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        var members = MembersOf(info);
        List<string>? nulls = null;
        foreach (var property in node)
        {
            if (!members.TryGetValue(property.Key, out var member))
            {
                continue;
            }

            if (property.Value is null)
            {
                (nulls ??= []).Add(property.Key);
                continue;
            }

            PruneValue(property.Value, info.Options.GetTypeInfo(member.PropertyType), depth + 1);
        }

        if (nulls is not null)
        {
            foreach (var key in nulls)
            {
                node.Remove(key);
            }
        }
    }

    /// <summary>Prunes a value of the type <paramref name="info"/> describes (a field's value rather than a whole object).</summary>
    public static void PruneValue(JsonNode value, JsonTypeInfo info) => PruneValue(value, info, 0);

    private static void PruneValue(JsonNode value, JsonTypeInfo info, int depth)
    {
        if (IsFreeForm(info.Type))
        {
            return;
        }

        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when value is JsonObject obj:
                PruneObject(obj, info, depth);
                break;
            case JsonTypeInfoKind.Enumerable when value is JsonArray array && info.ElementType is { } element:
                for (var i = array.Count - 1; i >= 0; i--)
                {
                    if (array[i] is null)
                    {
                        array.RemoveAt(i);
                    }
                    else
                    {
                        PruneValue(array[i]!, info.Options.GetTypeInfo(element), depth + 1);
                    }
                }

                break;
            case JsonTypeInfoKind.Dictionary when value is JsonObject map && info.ElementType is { } element:
                List<string>? nullKeys = null;
                var elementInfo = element == typeof(string) ? null : info.Options.GetTypeInfo(element);
                foreach (var entry in map)
                {
                    if (entry.Value is null)
                    {
                        (nullKeys ??= []).Add(entry.Key);
                    }
                    else if (elementInfo is not null)
                    {
                        PruneValue(entry.Value, elementInfo, depth + 1);
                    }
                }

                foreach (var key in nullKeys ?? [])
                {
                    if (element == typeof(string))
                    {
                        map[key] = "";
                    }
                    else
                    {
                        map.Remove(key);
                    }
                }

                break;
        }
    }

    private static bool IsFreeForm(Type type) => typeof(JsonNode).IsAssignableFrom(type);
}
