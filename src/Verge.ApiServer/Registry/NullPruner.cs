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

    private static void PruneObject(JsonObject node, JsonTypeInfo info, int depth)
    {
        if (depth > 100 || info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        foreach (var property in node.ToList())
        {
            var member = info.Properties.FirstOrDefault(p => p.Name == property.Key);
            if (member is null)
            {
                continue;
            }

            if (property.Value is null)
            {
                node.Remove(property.Key);
                continue;
            }

            PruneValue(property.Value, info.Options.GetTypeInfo(member.PropertyType), depth + 1);
        }
    }

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
                foreach (var entry in map.ToList())
                {
                    if (entry.Value is null)
                    {
                        if (element == typeof(string))
                        {
                            map[entry.Key] = "";
                        }
                        else
                        {
                            map.Remove(entry.Key);
                        }
                    }
                    else
                    {
                        PruneValue(entry.Value, info.Options.GetTypeInfo(element), depth + 1);
                    }
                }

                break;
        }
    }

    private static bool IsFreeForm(Type type) => typeof(JsonNode).IsAssignableFrom(type);
}
