using System.Text.Json.Serialization.Metadata;

namespace Verge.Core.Meta;

/// <summary>
/// Everything the API server needs to know about one kind: its names (for discovery and URLs), its typed JSON
/// contract, its defaulting and validation, its <c>kubectl get</c> columns, its selectable fields and its
/// subresources. Kinds register one of these in <see cref="ResourceCatalog"/>; the API server is generic over them.
/// </summary>
public sealed class ResourceType
{
    /// <summary>The API group; empty for the core group.</summary>
    public required string Group { get; init; }

    public required string Version { get; init; }

    public required string Kind { get; init; }

    /// <summary>The lowercase plural used in URLs, such as <c>deployments</c>.</summary>
    public required string Plural { get; init; }

    /// <summary>The lowercase singular, such as <c>deployment</c>.</summary>
    public required string Singular { get; init; }

    public required bool Namespaced { get; init; }

    public IReadOnlyList<string> ShortNames { get; init; } = [];

    /// <summary>Discovery categories; <c>all</c> puts the kind into <c>kubectl get all</c>.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>Whether the kind has a <c>/status</c> subresource (spec and status are then written separately).</summary>
    public bool HasStatus { get; init; }

    /// <summary>The <c>/scale</c> subresource, for kinds with replicas.</summary>
    public ScaleSubresource? Scale { get; init; }

    /// <summary>The source-generated JSON contract of the concrete <see cref="KubeObject"/> type.</summary>
    public required JsonTypeInfo TypeInfo { get; init; }

    /// <summary>Fills defaults the way Kubernetes' defaulting does (for example <c>restartPolicy: Always</c>).</summary>
    public Action<KubeObject> ApplyDefaults { get; init; } = static _ => { };

    /// <summary>
    /// Validates an object on create (<c>old</c> null) or update (<c>old</c> the stored object), returning every
    /// invalid field with its path. Metadata common to every kind (name, namespace, labels, annotations) is
    /// validated by the API server; this validates what is specific to the kind.
    /// </summary>
    public Func<KubeObject, KubeObject?, IReadOnlyList<FieldError>> Validate { get; init; } = static (_, _) => [];

    /// <summary>
    /// Validates a write to the <c>status</c> subresource (the new object, then the stored one), as Kubernetes' status
    /// strategies do: such a write takes metadata and spec from the stored object, which were validated when they were
    /// written, so only what the status may hold is checked. Null for kinds whose status writes get <see cref="Validate"/>.
    /// </summary>
    public Func<KubeObject, KubeObject, IReadOnlyList<FieldError>>? ValidateStatusUpdate { get; init; }

    /// <summary>The columns of <c>kubectl get</c> after NAME (and before AGE, which the server adds).</summary>
    public IReadOnlyList<TableColumn> Columns { get; init; } = [];

    /// <summary>
    /// Fields usable in a fieldSelector beyond <c>metadata.name</c> and <c>metadata.namespace</c>, such as
    /// <c>spec.nodeName</c> and <c>status.phase</c> for pods.
    /// </summary>
    public Func<KubeObject, IEnumerable<KeyValuePair<string, string>>> SelectableFields { get; init; } = static _ => [];

    /// <summary><c>group/version</c>, or the version alone for the core group.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary><c>plural.group</c>, as in error messages (<c>deployments.apps "x" not found</c>).</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary><c>Kind.group</c>, as in validation messages (<c>Deployment.apps "x" is invalid</c>).</summary>
    public string GroupKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";

    public override string ToString() => GroupResource;
}

/// <summary>
/// A column of the Table that <c>kubectl get</c> shows. <paramref name="Type"/> and <paramref name="Format"/> follow
/// the OpenAPI names Kubernetes uses (<c>string</c>, <c>integer</c>, <c>date</c>, format <c>name</c>).
/// <paramref name="Priority"/> 0 shows always, 1 only with <c>-o wide</c>. <paramref name="Cell"/> returns a string,
/// a number, or null for <c>&lt;none&gt;</c>.
/// </summary>
public sealed record TableColumn(
    string Name,
    string Type,
    string Description,
    Func<KubeObject, object?> Cell,
    int Priority = 0,
    string Format = "");

/// <summary>How to read and write the replicas of a kind with a <c>/scale</c> subresource.</summary>
public sealed record ScaleSubresource(
    Func<KubeObject, int> GetSpecReplicas,
    Action<KubeObject, int> SetSpecReplicas,
    Func<KubeObject, int> GetStatusReplicas,
    Func<KubeObject, string?> GetSelector);
