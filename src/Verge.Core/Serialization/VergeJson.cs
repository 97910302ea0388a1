using System.Text.Json;

namespace Verge.Core.Serialization;

/// <summary>The JSON settings of every Verge object: camelCase names, nulls omitted, source-generated contracts.</summary>
public static class VergeJson
{
    /// <summary>Unknown fields are dropped, as Kubernetes does with fieldValidation=Ignore.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Unknown fields are an error, as Kubernetes does with fieldValidation=Strict.</summary>
    public static JsonSerializerOptions StrictOptions { get; } = new(Options)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };
}
