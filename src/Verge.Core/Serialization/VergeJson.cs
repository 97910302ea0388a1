using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Verge.Core.Serialization;

/// <summary>
/// The JSON settings of every Verge object: camelCase names, nulls omitted, metav1.Time as RFC 3339 seconds in UTC,
/// and contracts from the source-generated <see cref="VergeJsonContext"/> (no reflection).
/// </summary>
public static class VergeJson
{
    /// <summary>Unknown fields are dropped, as Kubernetes does with fieldValidation=Ignore.</summary>
    public static JsonSerializerOptions Options { get; } = VergeJsonSettings.Create(VergeJsonContext.Default, strict: false);

    /// <summary>Unknown fields are an error, as Kubernetes does with fieldValidation=Strict.</summary>
    public static JsonSerializerOptions StrictOptions { get; } = VergeJsonSettings.Create(VergeJsonContext.Default, strict: true);

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> encode to the same bytes under <paramref name="info"/>:
    /// equal bytes are equal values, a quick test before a walk that tells what differs (the converse does not hold:
    /// maps with their keys in another order encode differently).
    /// </summary>
    public static bool SameEncoding(object a, object b, JsonTypeInfo info) =>
        JsonSerializer.SerializeToUtf8Bytes(a, info).AsSpan().SequenceEqual(JsonSerializer.SerializeToUtf8Bytes(b, info));
}
