using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Verge.Core.Serialization;

/// <summary>
/// <see cref="VergeJson"/>'s settings over <see cref="NodeJsonContext"/>: for the agent and the gateway, which handle
/// only the kinds that context lists.
/// </summary>
public static class NodeJson
{
    /// <summary>Unknown fields are dropped, as with <see cref="VergeJson.Options"/>.</summary>
    public static JsonSerializerOptions Options { get; } = VergeJsonSettings.Create(NodeJsonContext.Default, strict: false);

    /// <summary>The contract of <typeparamref name="T"/> under <see cref="Options"/>.</summary>
    public static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));
}
