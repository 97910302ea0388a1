namespace Verge.Core.Patching;

/// <summary>How a list field is combined by strategic merge patch and server-side apply.</summary>
public enum ListMergeStrategy
{
    /// <summary>The list is replaced as a whole (Kubernetes' <c>x-kubernetes-list-type: atomic</c>).</summary>
    Atomic,

    /// <summary>Items are objects merged by a key field (<c>patchStrategy:"merge"</c> with a merge key).</summary>
    MergeByKey,

    /// <summary>Items are scalars merged as a set (<c>patchStrategy:"merge"</c> without a key).</summary>
    Set,
}

/// <summary>The merge behaviour of one list field.</summary>
public readonly record struct ListSchema(ListMergeStrategy Strategy, string? MergeKey)
{
    public static ListSchema Atomic { get; } = new(ListMergeStrategy.Atomic, null);

    public static ListSchema Set { get; } = new(ListMergeStrategy.Set, null);

    public static ListSchema ByKey(string mergeKey) => new(ListMergeStrategy.MergeByKey, mergeKey);
}

/// <summary>
/// Answers how the list found at a path is merged. The path is the field names from the object root with list items
/// skipped, and map keys included, so the containers of a Deployment are at
/// <c>["spec", "template", "spec", "containers"]</c> and their env at
/// <c>["spec", "template", "spec", "containers", "env"]</c>. Unknown paths answer <see cref="ListSchema.Atomic"/>.
/// </summary>
public interface IPatchSchema
{
    ListSchema GetList(IReadOnlyList<string> path);
}

/// <summary>Schemas that need no type.</summary>
public static class PatchSchema
{
    /// <summary>A schema that knows nothing: every list is atomic and every object a plain map.</summary>
    public static IPatchSchema Empty { get; } = new EmptySchema();

    private sealed class EmptySchema : IPatchSchema
    {
        public ListSchema GetList(IReadOnlyList<string> path) => ListSchema.Atomic;
    }
}
