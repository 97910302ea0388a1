namespace Verge.Core.Meta;

/// <summary>metav1.ObjectMeta: the metadata every persisted object carries.</summary>
public sealed class ObjectMeta
{
    public string? Name { get; set; }

    public string? GenerateName { get; set; }

    public string? Namespace { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public long? Generation { get; set; }

    public DateTimeOffset? CreationTimestamp { get; set; }

    public DateTimeOffset? DeletionTimestamp { get; set; }

    public long? DeletionGracePeriodSeconds { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }

    [MergeKey("uid")]
    public List<OwnerReference>? OwnerReferences { get; set; }

    [MergeSet]
    public List<string>? Finalizers { get; set; }

    public List<ManagedFieldsEntry>? ManagedFields { get; set; }

    /// <summary>A copy sharing every field's value (labels, annotations and lists included), for callers that replace a few of them.</summary>
    public ObjectMeta ShallowCopy() => (ObjectMeta)MemberwiseClone();
}

/// <summary>metav1.OwnerReference: the object that owns this one (garbage collection follows these).</summary>
public sealed class OwnerReference
{
    public string ApiVersion { get; set; } = "";

    public string Kind { get; set; } = "";

    public string Name { get; set; } = "";

    public string Uid { get; set; } = "";

    public bool? Controller { get; set; }

    public bool? BlockOwnerDeletion { get; set; }
}

/// <summary>metav1.ManagedFieldsEntry: which manager owns which fields (server-side apply).</summary>
public sealed class ManagedFieldsEntry
{
    public string? Manager { get; set; }

    public string? Operation { get; set; }

    public string? ApiVersion { get; set; }

    public DateTimeOffset? Time { get; set; }

    public string? FieldsType { get; set; }

    public System.Text.Json.Nodes.JsonObject? FieldsV1 { get; set; }

    public string? Subresource { get; set; }
}

/// <summary>metav1.ListMeta.</summary>
public sealed class ListMeta
{
    public string? ResourceVersion { get; set; }

    public string? Continue { get; set; }

    public long? RemainingItemCount { get; set; }
}
