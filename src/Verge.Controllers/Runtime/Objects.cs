using System.Globalization;
using System.Text.Json;
using Verge.Core.Meta;

namespace Verge.Controllers.Runtime;

/// <summary>Small helpers over objects: deep copies, queue keys, owner references, revisions.</summary>
internal static class Objects
{
    /// <summary>A deep copy through the kind's JSON contract (informer objects are shared and must not change).</summary>
    public static T Clone<T>(T obj)
        where T : KubeObject
    {
        var type = ResourceCatalog.FindByType(obj.GetType()) ?? throw new ArgumentException($"{obj.GetType().Name} is not a catalog kind");
        var copy = (T)JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(obj, type.TypeInfo), type.TypeInfo)!;
        return copy;
    }

    /// <summary>The work queue key of an object: <c>namespace/name</c>, or <c>name</c> for cluster-scoped kinds.</summary>
    public static string KeyOf(KubeObject obj) => KeyOf(obj.Metadata.Namespace, obj.Metadata.Name!);

    public static string KeyOf(string? ns, string name) => ns is null ? name : $"{ns}/{name}";

    public static (string? Namespace, string Name) SplitKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (null, key) : (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>The owner reference with <c>controller: true</c>, if any.</summary>
    public static OwnerReference? ControllerOf(KubeObject obj) => obj.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true);

    /// <summary>A controller reference to <paramref name="owner"/>, as controllers set it on what they create.</summary>
    public static OwnerReference ControllerReference(KubeObject owner, ResourceType ownerType) => new()
    {
        ApiVersion = ownerType.ApiVersion,
        Kind = ownerType.Kind,
        Name = owner.Metadata.Name!,
        Uid = owner.Metadata.Uid!,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    /// <summary>The store revision a write returned (its resourceVersion).</summary>
    public static long RevisionOf(KubeObject obj) =>
        long.TryParse(obj.Metadata.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ? revision : 0;

    /// <summary>Now, cut to whole seconds as Kubernetes' metav1.Time keeps it (so written times compare equal when read back).</summary>
    public static DateTimeOffset Now(TimeProvider time)
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    public static bool IsBeingDeleted(KubeObject obj) => obj.Metadata.DeletionTimestamp is not null;
}
