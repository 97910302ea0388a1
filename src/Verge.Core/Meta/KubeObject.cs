namespace Verge.Core.Meta;

/// <summary>
/// The shape every persisted resource shares: apiVersion, kind and metadata. Kinds derive from this and add
/// <c>spec</c> and <c>status</c> (or, for ConfigMap and Secret, <c>data</c>).
/// </summary>
public abstract class KubeObject
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public ObjectMeta Metadata { get; set; } = new();
}
