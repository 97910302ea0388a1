using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.Controllers.Runtime;
using Verge.Core.Meta;

namespace Verge.Controllers.GarbageCollection;

/// <summary>
/// Deletes objects whose owners are gone, following metadata.ownerReferences across every kind, as Kubernetes'
/// garbage collector does:
/// <list type="bullet">
/// <item>Background: when an owner is removed, each dependent whose owners are all gone is deleted (and its own
/// dependents after it).</item>
/// <item>Foreground: an owner deleted with <c>propagationPolicy=Foreground</c> carries the
/// <c>foregroundDeletion</c> finalizer; its dependents are deleted, and the finalizer is removed once no dependent
/// with <c>blockOwnerDeletion</c> is left.</item>
/// <item>Orphan: an owner deleted with <c>propagationPolicy=Orphan</c> carries the <c>orphan</c> finalizer; the
/// reference to it is removed from every dependent, then the finalizer.</item>
/// </list>
/// Owners are looked up in the registry, never in the informers, so an owner the informers have not seen yet is
/// never mistaken for a missing one. A dependent with another live owner only loses its references to the owners
/// that are gone.
/// </summary>
internal sealed partial class GarbageCollector : Controller
{
    public const string OrphanFinalizer = "orphan";
    public const string ForegroundFinalizer = "foregroundDeletion";

    private readonly IReadOnlyList<IInformer> _informers;
    private readonly Dictionary<string, IInformer> _byGroupResource;
    private readonly ApiClient _client;
    private readonly ILogger _logger;

    public GarbageCollector(IReadOnlyList<IInformer> informers, ApiClient client, TimeProvider time, ILogger logger, ControllerOptions options)
        : base("garbage-collector", time, logger, options)
    {
        _informers = informers;
        _byGroupResource = informers.ToDictionary(i => i.Type.GroupResource, StringComparer.Ordinal);
        _client = client;
        _logger = logger;
        foreach (var informer in informers)
        {
            var type = informer.Type;
            informer.AddHandler(new InformerHandler<KubeObject>
            {
                OnAdd = obj => OnChanged(type, null, obj),
                OnUpdate = (old, obj) => OnChanged(type, old, obj),
                OnDelete = obj => OnRemoved(obj),
            });
        }
    }

    protected override IEnumerable<IInformer> Informers => _informers;

    protected override int Workers => Options.GarbageCollectorWorkers;

    internal static string KeyOf(ResourceType type, KubeObject obj) =>
        string.Join('|', type.GroupResource, obj.Metadata.Namespace ?? "", obj.Metadata.Name, obj.Metadata.Uid);

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        var parts = key.Split('|');
        if (parts.Length != 4 || !_byGroupResource.TryGetValue(parts[0], out var informer))
        {
            return null;
        }

        var type = informer.Type;
        var ns = parts[1].Length == 0 ? null : parts[1];
        if (OwnedBySolidOwnersInCache(type, informer.GetObject(ns, parts[2]), parts[3]))
        {
            // The common case, every new pod of a ReplicaSet: nothing to collect, known without two reads and decodes
            // from the store. An owner's later deletion queues its dependents again (OnRemoved), and then the live
            // reads below decide.
            return null;
        }

        var item = await GetLiveAsync(type, ns, parts[2], ct);
        if (item is null || item.Metadata.Uid != parts[3])
        {
            return null;
        }

        if (item.Metadata.DeletionTimestamp is not null)
        {
            var finalizers = item.Metadata.Finalizers ?? [];
            if (finalizers.Contains(OrphanFinalizer))
            {
                await OrphanDependentsAsync(type, item, ct);
            }
            else if (finalizers.Contains(ForegroundFinalizer))
            {
                await DeleteDependentsAsync(type, item, ct);
            }

            return null;
        }

        if (item.Metadata.OwnerReferences is not { Count: > 0 } owners)
        {
            return null;
        }

        var solid = new List<OwnerReference>();
        var dangling = new List<OwnerReference>();
        var waiting = new List<OwnerReference>();
        foreach (var owner in owners)
        {
            switch (await ClassifyAsync(type, item, owner, ct))
            {
                case OwnerState.Solid:
                    solid.Add(owner);
                    break;
                case OwnerState.Dangling:
                    dangling.Add(owner);
                    break;
                default:
                    waiting.Add(owner);
                    break;
            }
        }

        if (solid.Count > 0)
        {
            if (dangling.Count + waiting.Count > 0)
            {
                // Another owner lives: only drop the references to owners that are gone or going.
                var gone = dangling.Concat(waiting).Select(o => o.Uid).ToHashSet(StringComparer.Ordinal);
                await _client.Service.UpdateAsync(type, item.Metadata.Namespace, item.Metadata.Name!, null, current =>
                {
                    if (current!.Metadata.Uid == item.Metadata.Uid)
                    {
                        current.Metadata.OwnerReferences?.RemoveAll(o => gone.Contains(o.Uid));
                        current.Metadata.ResourceVersion = null;
                    }

                    return current;
                }, WriteOptions, allowCreate: false, ct);
            }

            return null;
        }

        // Every owner is gone or being deleted in the foreground: the item goes too.
        var policy = waiting.Count > 0 && HasDependents(item)
            ? "Foreground"
            : (item.Metadata.Finalizers ?? []) switch
            {
                var f when f.Contains(OrphanFinalizer) => "Orphan",
                var f when f.Contains(ForegroundFinalizer) => "Foreground",
                _ => "Background",
            };
        LogDeleting(_logger, type.GroupResource, Objects.KeyOf(item), policy);
        await _client.DeleteAsync(type, item.Metadata.Namespace, item.Metadata.Name!, item.Metadata.Uid, policy, ct);
        return null;
    }

    private enum OwnerState
    {
        Solid,
        Dangling,
        WaitingForDependents,
    }

    private static readonly ApiServer.Registry.WriteOptions WriteOptions = new(false, "verge-garbage-collector", ApiServer.Registry.FieldValidation.Ignore, false);

    /// <summary>Whether the cached item (still with <paramref name="uid"/>, not being deleted) has only owners the caches hold alive and not being deleted.</summary>
    private bool OwnedBySolidOwnersInCache(ResourceType type, KubeObject? cached, string uid)
    {
        if (cached is null || cached.Metadata.Uid != uid || cached.Metadata.DeletionTimestamp is not null
            || cached.Metadata.OwnerReferences is not { Count: > 0 } owners)
        {
            return false;
        }

        foreach (var owner in owners)
        {
            var ownerType = ResourceCatalog.FindByKind(owner.ApiVersion, owner.Kind);
            if (ownerType is null || (ownerType.Namespaced && !type.Namespaced))
            {
                continue;
            }

            if (!_byGroupResource.TryGetValue(ownerType.GroupResource, out var ownerInformer)
                || ownerInformer.GetObject(ownerType.Namespaced ? cached.Metadata.Namespace : null, owner.Name) is not { } live
                || live.Metadata.Uid != owner.Uid || live.Metadata.DeletionTimestamp is not null)
            {
                return false;
            }
        }

        return true;
    }

    private async Task<OwnerState> ClassifyAsync(ResourceType dependentType, KubeObject dependent, OwnerReference owner, CancellationToken ct)
    {
        var ownerType = ResourceCatalog.FindByKind(owner.ApiVersion, owner.Kind);
        if (ownerType is null || (ownerType.Namespaced && !dependentType.Namespaced))
        {
            // A kind Verge does not serve (or an impossible reference): never delete on its account.
            return OwnerState.Solid;
        }

        var live = await GetLiveAsync(ownerType, ownerType.Namespaced ? dependent.Metadata.Namespace : null, owner.Name, ct);
        if (live is null || live.Metadata.Uid != owner.Uid)
        {
            return OwnerState.Dangling;
        }

        return live.Metadata.DeletionTimestamp is not null && (live.Metadata.Finalizers ?? []).Contains(ForegroundFinalizer)
            ? OwnerState.WaitingForDependents
            : OwnerState.Solid;
    }

    /// <summary>Orphan: removes the owner's reference from every dependent, then the owner's orphan finalizer.</summary>
    private async Task OrphanDependentsAsync(ResourceType type, KubeObject owner, CancellationToken ct)
    {
        var uid = owner.Metadata.Uid!;
        foreach (var (dependentType, dependent) in Dependents(uid))
        {
            try
            {
                await _client.Service.UpdateAsync(dependentType, dependent.Metadata.Namespace, dependent.Metadata.Name!, null, current =>
                {
                    if (current!.Metadata.Uid == dependent.Metadata.Uid && current.Metadata.OwnerReferences?.RemoveAll(o => o.Uid == uid) > 0)
                    {
                        current.Metadata.ResourceVersion = null;
                    }

                    return current;
                }, WriteOptions, allowCreate: false, ct);
            }
            catch (ApiException e) when (e.Code == 404)
            {
                // Gone meanwhile: nothing to orphan.
            }
        }

        LogOrphaned(_logger, type.GroupResource, Objects.KeyOf(owner));
        await RemoveFinalizerAsync(type, owner, OrphanFinalizer, ct);
    }

    /// <summary>Foreground: deletes the dependents, and lets the owner go once no dependent blocks it.</summary>
    private async Task DeleteDependentsAsync(ResourceType type, KubeObject owner, CancellationToken ct)
    {
        var uid = owner.Metadata.Uid!;
        var blocking = 0;
        foreach (var (dependentType, dependent) in Dependents(uid))
        {
            if (dependent.Metadata.OwnerReferences?.Any(o => o.Uid == uid && o.BlockOwnerDeletion == true) == true)
            {
                blocking++;
            }

            if (dependent.Metadata.DeletionTimestamp is null)
            {
                Enqueue(KeyOf(dependentType, dependent));
            }
        }

        if (blocking == 0)
        {
            await RemoveFinalizerAsync(type, owner, ForegroundFinalizer, ct);
        }
    }

    private async Task RemoveFinalizerAsync(ResourceType type, KubeObject obj, string finalizer, CancellationToken ct)
    {
        try
        {
            await _client.Service.UpdateAsync(type, obj.Metadata.Namespace, obj.Metadata.Name!, null, current =>
            {
                if (current!.Metadata.Uid == obj.Metadata.Uid && current.Metadata.Finalizers?.Remove(finalizer) == true)
                {
                    current.Metadata.ResourceVersion = null;
                }

                return current;
            }, WriteOptions, allowCreate: false, ct);
        }
        catch (ApiException e) when (e.Code == 404)
        {
        }
    }

    private async Task<KubeObject?> GetLiveAsync(ResourceType type, string? ns, string name, CancellationToken ct)
    {
        try
        {
            return (await _client.Service.GetAsync(type, ns, name, ct)).Object;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    private IEnumerable<(ResourceType Type, KubeObject Object)> Dependents(string ownerUid) =>
        _informers.SelectMany(i => i.ObjectsOwnedBy(ownerUid).Select(o => (i.Type, o)));

    private bool HasDependents(KubeObject obj) => _informers.Any(i => i.ObjectsOwnedBy(obj.Metadata.Uid!).Count > 0);

    private void OnChanged(ResourceType type, KubeObject? old, KubeObject obj)
    {
        var deleting = obj.Metadata.DeletionTimestamp is not null
            && (obj.Metadata.Finalizers ?? []).Any(f => f is OrphanFinalizer or ForegroundFinalizer);
        var ownersChanged = obj.Metadata.OwnerReferences is { Count: > 0 }
            && (old is null || !SameOwners(old.Metadata.OwnerReferences, obj.Metadata.OwnerReferences));
        if (deleting || ownersChanged)
        {
            Enqueue(KeyOf(type, obj));
        }
    }

    private void OnRemoved(KubeObject obj)
    {
        // Its dependents may now be orphans, and an owner deleted in the foreground may now be free to go.
        foreach (var (type, dependent) in Dependents(obj.Metadata.Uid!))
        {
            Enqueue(KeyOf(type, dependent));
        }

        foreach (var owner in obj.Metadata.OwnerReferences ?? [])
        {
            if (ResourceCatalog.FindByKind(owner.ApiVersion, owner.Kind) is { } ownerType
                && _byGroupResource.TryGetValue(ownerType.GroupResource, out var informer)
                && informer.GetObject(ownerType.Namespaced ? obj.Metadata.Namespace : null, owner.Name) is { } live
                && live.Metadata.Uid == owner.Uid && live.Metadata.DeletionTimestamp is not null)
            {
                Enqueue(KeyOf(ownerType, live));
            }
        }
    }

    private static bool SameOwners(List<OwnerReference>? a, List<OwnerReference>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0)
        && (a ?? []).Select(o => (o.Uid, o.BlockOwnerDeletion)).SequenceEqual((b ?? []).Select(o => (o.Uid, o.BlockOwnerDeletion)));

    [LoggerMessage(EventId = 4601, Level = LogLevel.Information, Message = "Garbage collector deletes {Resource} {Key} ({Policy})")]
    private static partial void LogDeleting(ILogger logger, string resource, string key, string policy);

    [LoggerMessage(EventId = 4602, Level = LogLevel.Information, Message = "Garbage collector orphaned the dependents of {Resource} {Key}")]
    private static partial void LogOrphaned(ILogger logger, string resource, string key);
}
