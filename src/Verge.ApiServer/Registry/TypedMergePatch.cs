using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Registry;

/// <summary>
/// A JSON merge patch (RFC 7386) applied straight to the typed object, for the patches that are most of a busy
/// cluster's writes: lease renewals and status reports. The general path turns the stored object into a JSON tree,
/// merges, prunes nulls and decodes the tree again; here the patch's fields are set on the object's properties.
/// Only patches whose meaning is plain on the typed object are taken: objects merge into typed objects field by
/// field, scalars and arrays replace (arrays are replaced whole by a merge patch), null clears a nullable field.
/// Anything else (metadata, maps, free-form JSON, unknown fields, a value that does not decode strictly) leaves the
/// object untouched and returns false, and the caller takes the general path, which also reports the errors.
/// </summary>
internal static class TypedMergePatch
{
    /// <summary>
    /// Applies <paramref name="patch"/> to <paramref name="target"/> in place and returns true, or returns false with
    /// <paramref name="target"/> unchanged when the patch is not one this path takes.
    /// </summary>
    public static bool TryApply(ResourceType type, KubeObject target, JsonNode patch)
    {
        var assignments = TryPlan(type, target, patch);
        assignments?.Apply();
        return assignments is not null;
    }

    /// <summary>
    /// What <paramref name="patch"/> would set on <paramref name="target"/>, worked out without changing it (so a
    /// caller can keep a copy of the object as it was only when the patch is taken), or null when the patch is not
    /// one this path takes.
    /// </summary>
    public static Assignments? TryPlan(ResourceType type, KubeObject target, JsonNode patch)
    {
        if (patch is not JsonObject fields || fields.Count == 0
            || fields.ContainsKey("metadata") || fields.ContainsKey("apiVersion") || fields.ContainsKey("kind"))
        {
            return null;
        }

        var strict = VergeJson.StrictOptions.GetTypeInfo(type.TypeInfo.Type);
        var plan = new List<(JsonPropertyInfo Property, object Owner, object? Value)>();
        return Plan(strict, target, fields, plan, 0) ? new Assignments(plan) : null;
    }

    /// <summary>A patch's assignments, every one worked out before any is made.</summary>
    internal sealed class Assignments(List<(JsonPropertyInfo Property, object Owner, object? Value)> plan)
    {
        /// <summary>Sets the patch's fields on the object it was planned for.</summary>
        public void Apply()
        {
            foreach (var (property, owner, value) in plan)
            {
                property.Set!(owner, value);
            }
        }
    }

    /// <summary>Works out every assignment first, so a patch that cannot be taken changes nothing.</summary>
    private static bool Plan(JsonTypeInfo info, object target, JsonObject patch, List<(JsonPropertyInfo, object, object?)> plan, int depth)
    {
        if (depth > 32 || info.Kind != JsonTypeInfoKind.Object)
        {
            return false;
        }

        var members = NullPruner.MembersOf(info);
        foreach (var (name, value) in patch)
        {
            if (!members.TryGetValue(name, out var property) || property.Get is null || property.Set is null
                || property.IsExtensionData || typeof(JsonNode).IsAssignableFrom(property.PropertyType))
            {
                return false;
            }

            var valueInfo = info.Options.GetTypeInfo(property.PropertyType);
            if (valueInfo.Kind == JsonTypeInfoKind.Dictionary)
            {
                return false;
            }

            if (value is null)
            {
                if (property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null)
                {
                    return false;
                }

                plan.Add((property, target, null));
                continue;
            }

            if (value is JsonObject inner && valueInfo.Kind == JsonTypeInfoKind.Object && property.Get(target) is { } existing)
            {
                if (!Plan(valueInfo, existing, inner, plan, depth + 1))
                {
                    return false;
                }

                continue;
            }

            // A scalar, an array or an object onto nothing: the field becomes the patch's value, nulls pruned as a
            // decode would (merging an object onto nothing drops its null members).
            var copy = value.DeepClone();
            RemoveNullMembers(copy);
            NullPruner.PruneValue(copy, valueInfo);
            try
            {
                // A field with its own converter (a Lease's microsecond times) decodes inside its declaring object.
                var decoded = property.CustomConverter is null
                    ? copy.Deserialize(valueInfo)
                    : property.Get(new JsonObject { [name] = copy }.Deserialize(info)!);
                plan.Add((property, target, decoded));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What merging an object onto nothing does (RFC 7386): null members go, in nested objects too (not inside arrays, which a merge patch replaces whole).</summary>
    private static void RemoveNullMembers(JsonNode node)
    {
        if (node is not JsonObject obj)
        {
            return;
        }

        List<string>? nulls = null;
        foreach (var (name, value) in obj)
        {
            if (value is null)
            {
                (nulls ??= []).Add(name);
            }
            else
            {
                RemoveNullMembers(value);
            }
        }

        foreach (var name in nulls ?? [])
        {
            obj.Remove(name);
        }
    }
}
