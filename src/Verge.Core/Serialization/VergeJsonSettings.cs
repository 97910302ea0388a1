using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Verge.Core.Serialization;

/// <summary>
/// The JSON settings of every Verge object over a given set of contracts: camelCase names, nulls omitted, metav1.Time
/// as RFC 3339 seconds in UTC, text escaped as the Kubernetes API server escapes it. Kept apart from
/// <see cref="VergeJson"/> so that <see cref="NodeJson"/> can use them without referring to every kind.
/// </summary>
public static class VergeJsonSettings
{
    /// <summary>Read-only options resolving through <paramref name="contracts"/>; <paramref name="strict"/> makes unknown fields an error.</summary>
    public static JsonSerializerOptions Create(IJsonTypeInfoResolver contracts, bool strict)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            TypeInfoResolver = contracts,
            Converters = { new TimeJsonConverter() },
            // Like the Kubernetes API server: no \u escapes for quotes, '+' or non-ASCII text.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        if (strict)
        {
            options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        }

        options.MakeReadOnly();
        return options;
    }
}
