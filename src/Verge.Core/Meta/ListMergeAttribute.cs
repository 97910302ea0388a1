namespace Verge.Core.Meta;

/// <summary>
/// Marks a list field whose items are merged by key, as Kubernetes' <c>patchStrategy:"merge"</c> and
/// <c>patchMergeKey</c> struct tags do. Strategic merge patch, server-side apply and the published OpenAPI
/// (<c>x-kubernetes-patch-merge-key</c>, <c>x-kubernetes-list-type: map</c>) all read it, so the server merges
/// exactly the lists that kubectl computes patches for as merged lists.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MergeKeyAttribute(string key) : Attribute
{
    /// <summary>The JSON field that identifies an item, such as <c>name</c> or <c>containerPort</c>.</summary>
    public string Key { get; } = key;
}

/// <summary>
/// Marks a list of scalars merged as a set (Kubernetes' <c>patchStrategy:"merge"</c> without a merge key, as on
/// <c>metadata.finalizers</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MergeSetAttribute : Attribute;

/// <summary>
/// Marks an object field whose strategic merge patch strategy is <c>retainKeys</c> (Kubernetes' <c>patchStrategy:"retainKeys"</c>):
/// kubectl then sends the keys to keep, so a patch that changes the union's discriminator (a Deployment's strategy
/// from RollingUpdate to Recreate) clears the member it no longer names.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RetainKeysAttribute : Attribute;
