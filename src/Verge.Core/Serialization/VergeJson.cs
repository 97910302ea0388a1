using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verge.Core.Serialization;

/// <summary>
/// The JSON settings of every Verge object: camelCase names, nulls omitted, metav1.Time as RFC 3339 seconds in UTC,
/// and contracts from the source-generated <see cref="VergeJsonContext"/> (no reflection).
/// </summary>
public static class VergeJson
{
    /// <summary>Unknown fields are dropped, as Kubernetes does with fieldValidation=Ignore.</summary>
    public static JsonSerializerOptions Options { get; } = Create(strict: false);

    /// <summary>Unknown fields are an error, as Kubernetes does with fieldValidation=Strict.</summary>
    public static JsonSerializerOptions StrictOptions { get; } = Create(strict: true);

    private static JsonSerializerOptions Create(bool strict)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            TypeInfoResolver = VergeJsonContext.Default,
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
