using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>
/// JSON merge patch (RFC 7386, <c>application/merge-patch+json</c>): objects merge recursively, <c>null</c> deletes
/// a field, and every other value (arrays included) replaces what was there.
/// </summary>
public static class JsonMergePatch
{
    /// <summary>Returns <paramref name="target"/> with <paramref name="patch"/> merged in; neither input is changed.</summary>
    /// <exception cref="PatchException">The patch is not a JSON object.</exception>
    public static JsonObject Apply(JsonObject target, JsonNode? patch)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (patch is not JsonObject patchObject)
        {
            throw new PatchException(
                $"merge patch must be a JSON object, not {PatchNodes.Describe(patch)}", PatchErrorKind.Malformed);
        }

        return Merge(target, patchObject);
    }

    private static JsonObject Merge(JsonObject? target, JsonObject patch)
    {
        var result = new JsonObject();
        if (target is not null)
        {
            foreach (var (name, value) in target)
            {
                if (!patch.TryGetPropertyValue(name, out var patchValue))
                {
                    result[name] = value?.DeepClone();
                }
                else if (patchValue is not null)
                {
                    result[name] = MergeValue(value, patchValue);
                }
            }
        }

        foreach (var (name, patchValue) in patch)
        {
            if (patchValue is not null && (target is null || !target.ContainsKey(name)))
            {
                result[name] = MergeValue(null, patchValue);
            }
        }

        return result;
    }

    private static JsonNode MergeValue(JsonNode? target, JsonNode patch) =>
        patch is JsonObject patchObject ? Merge(target as JsonObject, patchObject) : patch.DeepClone();
}
