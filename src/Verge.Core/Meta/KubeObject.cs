using System.Text.Json.Serialization;

namespace Verge.Core.Meta;

/// <summary>
/// The shape every persisted resource shares: apiVersion, kind and metadata. Kinds derive from this and add
/// <c>spec</c> and <c>status</c> (or, for ConfigMap and Secret, <c>data</c>).
/// </summary>
public abstract class KubeObject
{
    [JsonPropertyOrder(-3)]
    public string? ApiVersion { get; set; }

    [JsonPropertyOrder(-2)]
    public string? Kind { get; set; }

    [JsonPropertyOrder(-1)]
    public ObjectMeta Metadata { get; set; } = new();

    /// <summary>A copy sharing every field's value (metadata, spec and status objects included), for callers that replace a few of them.</summary>
    public KubeObject ShallowCopy() => (KubeObject)MemberwiseClone();
}
