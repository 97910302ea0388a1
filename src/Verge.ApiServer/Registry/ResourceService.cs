using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Verge.ApiServer.Http;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Scheduling;
using Verge.Core.Serialization;
using Verge.Core.Validation;
using Verge.Store;

namespace Verge.ApiServer.Registry;

/// <summary>
/// The generic object registry: the Kubernetes semantics of get, list, create, update, patch and delete over the
/// revisioned store, for every kind in the catalog. It validates, defaults, keeps server-owned metadata (uid,
/// creationTimestamp, generation, resourceVersion), separates spec from status writes, and honours finalizers.
/// Every write is a compare-and-swap on the key's revision.
/// </summary>
internal sealed class ResourceService(IKeyValueStore store, TimeProvider time)
{
    private const int MaxConflictRetries = 16;
    private const int KeyLockStripes = 256;

    /// <summary>
    /// Read-modify-write cycles on one key are serialized inside this process (striped by key), so concurrent
    /// patches of one object queue instead of failing each other's compare-and-swap; the CAS still guards against
    /// other replicas and against clients that pin a resourceVersion.
    /// </summary>
    private readonly SemaphoreSlim[] _keyLocks = Enumerable.Range(0, KeyLockStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    private SemaphoreSlim LockFor(string key) => _keyLocks[(int)((uint)StringComparer.Ordinal.GetHashCode(key) % KeyLockStripes)];

    /// <summary>Kinds whose status a create through the main resource resets, as Kubernetes' strategies do.</summary>
    private static readonly HashSet<string> ResetStatusOnCreate = ["Pod", "Deployment", "ReplicaSet", "DaemonSet", "PodDisruptionBudget"];

    public IKeyValueStore Store => store;

    public async Task<(KubeObject Object, KeyValue Stored)> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct)
    {
        var kv = await store.GetAsync(ObjectCodec.Key(type, ns, name), ct) ?? throw ApiException.NotFound(type, name);
        return (ObjectCodec.Decode(type, kv.Value.Span, kv.ModRevision), kv);
    }

    public async Task<KeyValue?> GetRawAsync(ResourceType type, string? ns, string name, CancellationToken ct) =>
        await store.GetAsync(ObjectCodec.Key(type, ns, name), ct);

    public async Task<KubeObject> CreateAsync(
        ResourceType type,
        string? ns,
        KubeObject obj,
        WriteOptions options,
        Func<KubeObject, KubeObject?, KubeObject>? beforeWrite,
        CancellationToken ct)
    {
        var meta = obj.Metadata;
        if (type.Namespaced)
        {
            if (meta.Namespace is { Length: > 0 } given && given != ns)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            meta.Namespace = ns;
            await RequireNamespaceAcceptsContentAsync(ns!, ct);
        }
        else
        {
            meta.Namespace = null;
        }

        if (obj is Pod pod)
        {
            await AdmitPriorityAsync(pod, ct);
        }

        var generated = string.IsNullOrEmpty(meta.Name) && !string.IsNullOrEmpty(meta.GenerateName);
        for (var attempt = 0; ; attempt++)
        {
            if (generated)
            {
                // As Kubernetes' SimpleNameGenerator: the base is cut to 58 characters, so a generated name fits 63.
                var stem = meta.GenerateName!;
                meta.Name = (stem.Length > MaxGeneratedNameLength ? stem[..MaxGeneratedNameLength] : stem) + NameSuffix();
            }

            obj = PrepareForCreate(type, obj);
            if (beforeWrite is not null)
            {
                obj = beforeWrite(obj, null);
            }

            Validate(type, obj, null);
            if (obj is PriorityClass pc)
            {
                await AdmitPriorityClassAsync(pc, ct);
            }

            if (options.DryRun)
            {
                return obj;
            }

            try
            {
                var kv = Written(type, await store.CreateAsync(ObjectCodec.Key(type, ns, obj.Metadata.Name!), ObjectCodec.Encode(type, obj), ct));
                obj.Metadata.ResourceVersion = Rv(kv.ModRevision);
                return obj;
            }
            catch (KeyExistsException) when (generated && attempt < 8)
            {
                // A generated name collided; Kubernetes retries with another suffix.
            }
            catch (KeyExistsException)
            {
                throw ApiException.AlreadyExists(type, obj.Metadata.Name!);
            }
        }
    }

    /// <summary>
    /// Reads, transforms and writes one object with compare-and-swap, retrying on conflicts when the caller did not
    /// pin a resourceVersion. <paramref name="transform"/> gets the stored object (or null when absent and
    /// <paramref name="allowCreate"/>) and returns the desired object. Spec and status are kept apart by
    /// <paramref name="subresource"/>: writes to the main resource keep the stored status, writes to
    /// <c>status</c> keep everything else.
    /// </summary>
    public Task<UpdateResult> UpdateAsync(
        ResourceType type,
        string? ns,
        string name,
        string? subresource,
        Func<KubeObject?, KubeObject> transform,
        WriteOptions options,
        bool allowCreate,
        CancellationToken ct) =>
        UpdateAsync(type, ns, name, subresource, (given, _) => transform(given), options, allowCreate, ct);

    /// <summary>
    /// As the overload above, with the stored object handed to <paramref name="transform"/> beside the copy it may
    /// change: a decode of the same bytes, which the transform must only read (it is also the old object that
    /// validation compares against), so a caller that needs the object as it was before its change (managedFields)
    /// reads it there instead of copying the one it changes. Both are null when absent and creating.
    /// </summary>
    public Task<UpdateResult> UpdateAsync(
        ResourceType type,
        string? ns,
        string name,
        string? subresource,
        Func<KubeObject?, KubeObject?, KubeObject> transform,
        WriteOptions options,
        bool allowCreate,
        CancellationToken ct) =>
        UpdateAsync(type, ns, name, subresource, transform, options, allowCreate, decodeCopy: true, ct);

    /// <summary>
    /// As <see cref="UpdateAsync(ResourceType, string?, string, string?, Func{KubeObject?, KubeObject?, KubeObject}, WriteOptions, bool, CancellationToken)"/>
    /// with no copy decoded for <paramref name="transform"/>: it gets only the stored object (null when absent and
    /// creating), which it must leave as it is (the old object validation compares against), and returns a new
    /// object, which may share with the stored one the parts it did not change (a merge patch set on the typed
    /// object copies only what it changes: one decode of the stored bytes per write instead of two).
    /// </summary>
    public Task<UpdateResult> UpdateFromStoredAsync(
        ResourceType type,
        string? ns,
        string name,
        string? subresource,
        Func<KubeObject?, KubeObject> transform,
        WriteOptions options,
        bool allowCreate,
        CancellationToken ct) =>
        UpdateAsync(type, ns, name, subresource, (_, stored) => transform(stored), options, allowCreate, decodeCopy: false, ct);

    private async Task<UpdateResult> UpdateAsync(
        ResourceType type,
        string? ns,
        string name,
        string? subresource,
        Func<KubeObject?, KubeObject?, KubeObject> transform,
        WriteOptions options,
        bool allowCreate,
        bool decodeCopy,
        CancellationToken ct)
    {
        var key = ObjectCodec.Key(type, ns, name);
        var gate = LockFor(key);
        await gate.WaitAsync(ct);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var current = await store.GetAsync(key, ct);
                if (current is null)
                {
                    if (!allowCreate || subresource is not null)
                    {
                        throw ApiException.NotFound(type, name);
                    }

                    var fresh = transform(null, null);
                    if (fresh.Metadata.Name is { Length: > 0 } freshName && freshName != name)
                    {
                        throw ApiException.BadRequest($"the name of the object ({freshName}) does not match the name on the URL ({name})");
                    }

                    fresh.Metadata.Name = name;
                    fresh.Metadata.ResourceVersion = null;
                    try
                    {
                        return new UpdateResult(await CreateAsync(type, ns, fresh, options, null, ct), true);
                    }
                    catch (ApiException e) when (e.Code == 409 && e.Reason == "AlreadyExists" && attempt < MaxConflictRetries)
                    {
                        continue;
                    }
                }

                var old = ObjectCodec.Decode(type, current.Value.Span, current.ModRevision);
                var given = decodeCopy ? ObjectCodec.Decode(type, current.Value.Span, current.ModRevision) : null;
                var desired = transform(given, old);
                var pinned = desired.Metadata.ResourceVersion;
                if (!string.IsNullOrEmpty(pinned) && pinned != old.Metadata.ResourceVersion)
                {
                    throw ApiException.Modified(type, name);
                }

                if (desired.Metadata.Uid is { Length: > 0 } uid && uid != old.Metadata.Uid)
                {
                    throw ApiException.Conflict(type, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {old.Metadata.Uid}");
                }

                if (desired.Metadata.Name is { Length: > 0 } desiredName && desiredName != name)
                {
                    throw ApiException.BadRequest($"the name of the object ({desiredName}) does not match the name on the URL ({name})");
                }

                if (type.Namespaced && desired.Metadata.Namespace is { Length: > 0 } desiredNs && desiredNs != ns)
                {
                    throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
                }

                // A transform that changed the copy it was given (as ApiClient.MutateAsync does), or that made a new
                // object from the stored one, hands over an object nothing else holds, which needs no defensive copy.
                var owned = decodeCopy ? ReferenceEquals(desired, given) : !ReferenceEquals(desired, old);
                var next = PrepareForUpdate(type, old, desired, subresource, owned, current);
                Validate(type, next, old, subresource);
                if (next is PriorityClass pc)
                {
                    await AdmitPriorityClassAsync(pc, ct);
                }

                if (options.DryRun)
                {
                    return new UpdateResult(next, false);
                }

                if (next.Metadata.DeletionTimestamp is not null && (next.Metadata.Finalizers is null || next.Metadata.Finalizers.Count == 0)
                    && next.Metadata.DeletionGracePeriodSeconds is null or 0)
                {
                    // The last finalizer is gone from an object being deleted: delete it now (a pod whose graceful
                    // deletion is still under way waits for its node instead, as Kubernetes' ShouldDeleteDuringUpdate).
                    try
                    {
                        var deleted = Written(type, await store.DeleteAsync(key, current.ModRevision, ct));
                        next.Metadata.ResourceVersion = Rv(deleted.ModRevision);
                        return new UpdateResult(next, false);
                    }
                    catch (RevisionConflictException) when (string.IsNullOrEmpty(pinned) && attempt < MaxConflictRetries)
                    {
                        continue;
                    }
                    catch (RevisionConflictException)
                    {
                        throw ApiException.Modified(type, name);
                    }
                }

                var encoded = ObjectCodec.Encode(type, next);
                if (encoded.AsSpan().SequenceEqual(current.Value.Span))
                {
                    // A no-op write keeps the resourceVersion, as Kubernetes does.
                    return new UpdateResult(old, false, current.Value, current.ModRevision);
                }

                if (await SwapAsync(type, key, name, next, encoded, current.ModRevision, string.IsNullOrEmpty(pinned) && attempt < MaxConflictRetries, ct) is { } written)
                {
                    return written;
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// A storage-level update, as Kubernetes' GuaranteedUpdate makes a binding: <paramref name="change"/> gets the
    /// stored object (a decode nothing else holds, which it must only read; it may throw an
    /// <see cref="ApiException"/> to refuse) and returns the object to write, which may share with it what it did
    /// not change. No defaults, admission, validation, managedFields or generation: only for a write the server makes
    /// itself and whose whole change it knows. Compare-and-swap, read again on a conflict; with
    /// <paramref name="dryRun"/> the change is made and checked but not written.
    /// </summary>
    public async Task<UpdateResult> WriteStoredAsync(ResourceType type, string? ns, string name, Func<KubeObject, KubeObject> change, bool dryRun, CancellationToken ct)
    {
        var key = ObjectCodec.Key(type, ns, name);
        var gate = LockFor(key);
        await gate.WaitAsync(ct);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var current = await store.GetAsync(key, ct) ?? throw ApiException.NotFound(type, name);
                var next = change(ObjectCodec.Decode(type, current.Value.Span, current.ModRevision));
                if (dryRun)
                {
                    return new UpdateResult(next, false);
                }

                if (await SwapAsync(type, key, name, next, ObjectCodec.Encode(type, next), current.ModRevision, attempt < MaxConflictRetries, ct) is { } written)
                {
                    return written;
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// An update's compare-and-swap write of <paramref name="next"/> over <paramref name="revision"/>: the result, or
    /// null when another write came first and <paramref name="retry"/> lets the caller read again; a 409 when it does
    /// not, a 404 when the object is gone.
    /// </summary>
    private async Task<UpdateResult?> SwapAsync(ResourceType type, string key, string name, KubeObject next, byte[] encoded, long revision, bool retry, CancellationToken ct)
    {
        try
        {
            var kv = Written(type, await store.UpdateAsync(key, encoded, revision, ct));
            next.Metadata.ResourceVersion = Rv(kv.ModRevision);
            return new UpdateResult(next, false, encoded, kv.ModRevision);
        }
        catch (RevisionConflictException) when (retry)
        {
            return null;
        }
        catch (RevisionConflictException)
        {
            throw ApiException.Modified(type, name);
        }
        catch (KeyNotFoundStoreException)
        {
            throw ApiException.NotFound(type, name);
        }
    }

    /// <summary>
    /// Deletes an object: objects with finalizers get a deletionTimestamp and stay until the last finalizer is
    /// removed; others are removed at once. The propagation policy becomes a finalizer as in Kubernetes:
    /// <c>Foreground</c> adds <c>foregroundDeletion</c> and <c>Orphan</c> (or <c>orphanDependents: true</c>) adds
    /// <c>orphan</c>, for the garbage collector to finish; <c>Background</c> adds neither. A later delete may change
    /// the policy of an object already being deleted. Returns the object as it was deleted (or marked).
    /// <para>
    /// Pods are deleted gracefully, as Kubernetes' pod strategy and <c>BeforeDelete</c> do: a pod bound to a node and
    /// not finished gets a deletionTimestamp its grace period ahead (the delete's <c>gracePeriodSeconds</c>, else the
    /// pod's <c>terminationGracePeriodSeconds</c>; a negative one counts as 1) and stays, Terminating, until its node
    /// has stopped it and deletes it with a grace period of 0. A later delete may only shorten the grace period, and
    /// cannot change the finalizers of a pod whose graceful deletion is pending. An unbound or finished pod, or a
    /// delete with <c>gracePeriodSeconds=0</c>, removes the pod at once.
    /// </para>
    /// </summary>
    public async Task<(KubeObject Object, bool Removed)> DeleteAsync(
        ResourceType type,
        string? ns,
        string name,
        DeleteOptions delete,
        CancellationToken ct)
    {
        if (delete.OrphanDependents is not null && delete.PropagationPolicy is { } both)
        {
            throw ApiException.Unprocessable(
                $"DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"{both}\": orphanDependents and deletionPropagation cannot be both set");
        }

        var key = ObjectCodec.Key(type, ns, name);
        for (var attempt = 0; ; attempt++)
        {
            var current = await store.GetAsync(key, ct) ?? throw ApiException.NotFound(type, name);
            var obj = ObjectCodec.Decode(type, current.Value.Span, current.ModRevision);
            CheckPreconditions(type, name, obj, delete.Preconditions);

            // marked: the pod's deletionTimestamp or grace period changed; graceful: it must wait for its node.
            var marked = false;
            if (type.Kind == "Pod" && type.Group.Length == 0)
            {
                var deletion = GracefulPodDeletion((Pod)obj, delete);
                if (deletion == GracefulDeletion.Pending)
                {
                    return (obj, false);
                }

                marked = deletion == GracefulDeletion.Marked;
            }

            var graceful = marked && obj.Metadata.DeletionGracePeriodSeconds > 0;

            var existing = obj.Metadata.Finalizers ?? [];
            // Events are not garbage collected (the collector does not watch them), so they take no policy finalizer.
            var updated = type.Kind == "Event" && type.Group.Length == 0 ? existing : GarbageCollectionFinalizers(existing, delete);
            var finalizersChanged = !updated.ToHashSet(StringComparer.Ordinal).SetEquals(existing);
            var finalizers = updated;
            if (type.Kind == "Namespace" && type.Group.Length == 0)
            {
                finalizers = [.. finalizers, .. NamespaceFinalizers(obj)];
            }

            if (finalizers.Count > 0 || graceful)
            {
                if (obj.Metadata.DeletionTimestamp is not null && !finalizersChanged && !marked)
                {
                    return (obj, false);
                }

                obj.Metadata.Finalizers = updated.Count > 0 ? updated : null;
                if (obj.Metadata.DeletionTimestamp is null)
                {
                    obj.Metadata.DeletionTimestamp = Now();
                    obj.Metadata.DeletionGracePeriodSeconds = 0;
                    if (obj.Metadata.Generation is { } generation)
                    {
                        obj.Metadata.Generation = generation + 1;
                    }

                    obj = MarkTerminating(obj);
                }

                if (delete.DryRunAll)
                {
                    return (obj, false);
                }

                try
                {
                    var kv = Written(type, await store.UpdateAsync(key, ObjectCodec.Encode(type, obj), current.ModRevision, ct));
                    obj.Metadata.ResourceVersion = Rv(kv.ModRevision);
                    return (obj, false);
                }
                catch (RevisionConflictException) when (attempt < MaxConflictRetries)
                {
                    continue;
                }
            }

            if (delete.DryRunAll)
            {
                return (obj, true);
            }

            try
            {
                var deleted = Written(type, await store.DeleteAsync(key, current.ModRevision, ct));
                obj.Metadata.ResourceVersion = Rv(deleted.ModRevision);
                return (obj, true);
            }
            catch (RevisionConflictException) when (attempt < MaxConflictRetries)
            {
            }
            catch (KeyNotFoundStoreException)
            {
                throw ApiException.NotFound(type, name);
            }
        }
    }

    /// <summary>A delete's preconditions against the object as stored: a 409 in Kubernetes' words when one fails.</summary>
    public static void CheckPreconditions(ResourceType type, string name, KubeObject obj, Preconditions? preconditions)
    {
        if (preconditions?.Uid is { Length: > 0 } uid && uid != obj.Metadata.Uid)
        {
            throw ApiException.Conflict(type, name,
                $"Precondition failed: UID in precondition: {uid}, UID in object meta: {obj.Metadata.Uid}");
        }

        if (preconditions?.ResourceVersion is { Length: > 0 } rv && rv != obj.Metadata.ResourceVersion)
        {
            throw ApiException.Conflict(type, name,
                $"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {obj.Metadata.ResourceVersion}");
        }
    }

    private enum GracefulDeletion
    {
        /// <summary>Nothing to wait for: the pod goes now (or when its finalizers are gone).</summary>
        Now,

        /// <summary>The pod was given (or had shortened) a deletionTimestamp and grace period: write it and keep it.</summary>
        Marked,

        /// <summary>A graceful deletion at least as short is already under way: nothing changes.</summary>
        Pending,
    }

    /// <summary>
    /// Kubernetes' pod <c>CheckGracefulDelete</c> and <c>BeforeDelete</c>: marks <paramref name="pod"/> for a graceful
    /// deletion when it must wait for its node, shortens one under way when the delete asks for less time, or says the
    /// pod may go now.
    /// </summary>
    private GracefulDeletion GracefulPodDeletion(Pod pod, DeleteOptions delete)
    {
        var meta = pod.Metadata;
        // A negative grace period counts as 1 s, from the delete as from the pod's spec.
        var requested = delete.GracePeriodSeconds is { } asked ? (asked < 0 ? 1 : asked) : (long?)null;
        if (meta.DeletionTimestamp is { } at)
        {
            if (meta.DeletionGracePeriodSeconds is not ({ } current and > 0))
            {
                return GracefulDeletion.Now;
            }

            if (requested is not { } shorter || shorter >= current)
            {
                return GracefulDeletion.Pending;
            }

            // Written even when it becomes 0 (the node's confirmation): a pod that still has finalizers then goes
            // as soon as they are gone.
            meta.DeletionTimestamp = at.AddSeconds(shorter - current);
            meta.DeletionGracePeriodSeconds = shorter;
            return GracefulDeletion.Marked;
        }

        var period = requested ?? (pod.Spec.TerminationGracePeriodSeconds is { } spec ? (spec < 0 ? 1 : spec) : 0);
        if (string.IsNullOrEmpty(pod.Spec.NodeName) || pod.Status?.Phase is "Succeeded" or "Failed" || period == 0)
        {
            return GracefulDeletion.Now;
        }

        meta.DeletionTimestamp = Now().AddSeconds(period);
        meta.DeletionGracePeriodSeconds = period;
        if (meta.Generation is { } generation)
        {
            meta.Generation = generation + 1;
        }

        return GracefulDeletion.Marked;
    }

    /// <summary>
    /// The finalizers after applying a delete's garbage collection policy (Kubernetes'
    /// <c>deletionFinalizersForGarbageCollection</c>): an explicit policy wins, then the finalizer the object
    /// already carries; the default is background, which needs no finalizer.
    /// </summary>
    private static List<string> GarbageCollectionFinalizers(List<string> existing, DeleteOptions delete)
    {
        bool orphan, foreground;
        if (delete.OrphanDependents is { } orphanDependents)
        {
            (orphan, foreground) = (orphanDependents, false);
        }
        else if (delete.PropagationPolicy is { } policy)
        {
            (orphan, foreground) = (policy == "Orphan", policy == "Foreground");
        }
        else
        {
            var first = existing.FirstOrDefault(f => f is OrphanFinalizer or ForegroundFinalizer);
            (orphan, foreground) = (first == OrphanFinalizer, first == ForegroundFinalizer);
        }

        List<string> result = [.. existing.Where(f => f is not (OrphanFinalizer or ForegroundFinalizer))];
        if (orphan)
        {
            result.Add(OrphanFinalizer);
        }

        if (foreground)
        {
            result.Add(ForegroundFinalizer);
        }

        return result;
    }

    private const string OrphanFinalizer = "orphan";
    private const string ForegroundFinalizer = "foregroundDeletion";

    public static string Rv(long revision) => revision.ToString(CultureInfo.InvariantCulture);

    public DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    /// <summary>Namespaces always pass through Terminating while their contents are removed (spec.finalizers, "kubernetes" by default).</summary>
    private static List<string> NamespaceFinalizers(KubeObject ns) =>
        ns is Namespace { Spec.Finalizers: { Count: > 0 } finalizers } ? finalizers : ["kubernetes"];

    private static KubeObject MarkTerminating(KubeObject obj)
    {
        if (obj is Namespace ns)
        {
            (ns.Status ??= new NamespaceStatus()).Phase = "Terminating";
        }

        return obj;
    }

    /// <summary>
    /// How long admission may use what it read of PriorityClasses and namespaces before reading them again. Every pod
    /// create needs both; Kubernetes' admission plugins read them from informers, which lag by as much. A write of
    /// either kind through this service forgets them at once, so this server reads its own writes.
    /// </summary>
    internal static readonly TimeSpan AdmissionCacheLifetime = TimeSpan.FromSeconds(1);

    private static readonly ResourceType PriorityClassType = ResourceCatalog.For<PriorityClass>();
    private static readonly ResourceType NamespaceType = ResourceCatalog.Find("", "v1", "namespaces")!;

    private volatile AdmissionSnapshot<List<PriorityClass>>? _priorityClasses;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AdmissionSnapshot<KubeObject>> _namespaces = new(StringComparer.Ordinal);

    private sealed record AdmissionSnapshot<T>(T Value, DateTimeOffset Until);

    /// <summary>
    /// Every store write of an object, through this service or around it (the namespace finalizer's delete), passes
    /// its result through here: after a write of <paramref name="type"/>, admission forgets what it cached of the kind,
    /// so this server reads its own writes. A write that fails never gets here and forgets nothing.
    /// </summary>
    internal KeyValue Written(ResourceType type, KeyValue written)
    {
        if (type == PriorityClassType)
        {
            _priorityClasses = null;
        }
        else if (type == NamespaceType)
        {
            _namespaces.Clear();
        }

        return written;
    }

    /// <summary>
    /// The Priority admission step: a new pod's spec.priority and spec.preemptionPolicy come from the PriorityClass it
    /// names, or from the global default class; a class that does not exist, or a priority or policy that disagrees
    /// with the class, is refused with 403, as Kubernetes does.
    /// </summary>
    private async Task AdmitPriorityAsync(Pod pod, CancellationToken ct)
    {
        var classes = await PriorityClassesAsync(ct);
        var errors = PriorityClasses.AdmitPod(pod, name => classes.FirstOrDefault(c => c.Metadata.Name == name), PriorityClasses.GlobalDefault(classes));
        if (errors.Count == 0)
        {
            return;
        }

        var name = pod.Metadata.Name ?? pod.Metadata.GenerateName ?? "";
        var reason = errors[0].Type == FieldErrorType.NotFound
            ? $"no PriorityClass with name {pod.Spec.PriorityClassName} was found"
            : errors[0].Detail;
        throw new ApiException(403, "Forbidden", $"pods \"{name}\" is forbidden: {reason}", new StatusDetails { Name = name, Kind = "pods" });
    }

    /// <summary>
    /// The Priority admission step for a PriorityClass being written: a second global default is refused with 403,
    /// as Kubernetes does (the scheduler would otherwise have to pick one, and pods would get a priority no one chose).
    /// </summary>
    private async Task AdmitPriorityClassAsync(PriorityClass pc, CancellationToken ct)
    {
        if (pc.GlobalDefault == true && PriorityClasses.SecondGlobalDefault(pc, await PriorityClassesAsync(ct)) is { } reason)
        {
            var name = pc.Metadata.Name ?? "";
            throw new ApiException(403, "Forbidden", $"priorityclasses.scheduling.k8s.io \"{name}\" is forbidden: {reason}",
                new StatusDetails { Name = name, Group = "scheduling.k8s.io", Kind = "priorityclasses" });
        }
    }

    private async Task<List<PriorityClass>> PriorityClassesAsync(CancellationToken ct)
    {
        var classType = PriorityClassType;
        var now = time.GetUtcNow();
        var snapshot = _priorityClasses;
        if (snapshot is null || now >= snapshot.Until)
        {
            var read = (await store.ListAsync(ObjectCodec.Prefix(classType, null), 0, 0, null, ct)).Items
                .Select(kv => (PriorityClass)ObjectCodec.Decode(classType, kv.Value.Span, kv.ModRevision))
                .ToList();
            snapshot = new AdmissionSnapshot<List<PriorityClass>>(read, now + AdmissionCacheLifetime);
            _priorityClasses = snapshot;
        }

        return snapshot.Value;
    }

    private async Task RequireNamespaceAcceptsContentAsync(string ns, CancellationToken ct)
    {
        var nsType = NamespaceType;
        var now = time.GetUtcNow();
        KubeObject obj;
        if (_namespaces.TryGetValue(ns, out var known) && now < known.Until)
        {
            obj = known.Value;
        }
        else
        {
            var kv = await store.GetAsync(ObjectCodec.Key(nsType, null, ns), ct);
            if (kv is null)
            {
                throw ApiException.NotFound(nsType, ns);
            }

            obj = ObjectCodec.Decode(nsType, kv.Value.Span, kv.ModRevision);
            if (_namespaces.Count > 10_000)
            {
                _namespaces.Clear();
            }

            _namespaces[ns] = new AdmissionSnapshot<KubeObject>(obj, now + AdmissionCacheLifetime);
        }

        if (obj.Metadata.DeletionTimestamp is not null)
        {
            throw new ApiException(403, "Forbidden",
                $"unable to create new content in namespace {ns} because it is being terminated",
                new StatusDetails { Name = ns, Kind = "namespaces" });
        }
    }

    /// <summary>
    /// Clears the status a client sent with a create, for the kinds whose status only controllers and nodes write
    /// (a new pod starts Pending), as Kubernetes' strategies do. Works on the request's JSON tree, before decoding.
    /// </summary>
    public static void ResetStatusForCreate(ResourceType type, JsonObject node)
    {
        if (!ResetStatusOnCreate.Contains(type.Kind))
        {
            return;
        }

        node.Remove("status");
        if (type.Kind == "Pod" && type.Group.Length == 0)
        {
            node["status"] = new JsonObject { ["phase"] = "Pending" };
        }
    }

    /// <summary>Namespaces carry their own name as the label <c>kubernetes.io/metadata.name</c>, as in Kubernetes.</summary>
    private static void LabelNamespace(ResourceType type, KubeObject obj)
    {
        if (type.Kind == "Namespace" && type.Group.Length == 0 && obj.Metadata.Name is { } name)
        {
            (obj.Metadata.Labels ??= [])["kubernetes.io/metadata.name"] = name;
        }
    }

    private KubeObject PrepareForCreate(ResourceType type, KubeObject obj)
    {
        var meta = obj.Metadata;
        meta.Uid = Guid.NewGuid().ToString();
        meta.CreationTimestamp = Now();
        meta.ResourceVersion = null;
        meta.DeletionTimestamp = null;
        meta.DeletionGracePeriodSeconds = null;
        meta.Generation = type.HasStatus ? 1 : null;
        obj.ApiVersion = type.ApiVersion;
        obj.Kind = type.Kind;
        type.ApplyDefaults(obj);
        LabelNamespace(type, obj);
        DropEmptyLists(meta);
        if (obj is Pod pod)
        {
            MarkSchedulingGated(pod);
        }

        return obj;
    }

    /// <summary>
    /// A pod created with scheduling gates shows why it waits, as Kubernetes' applySchedulingGatedCondition: PodScheduled
    /// False with reason SchedulingGated (kubectl's STATUS), unless the pod already has a PodScheduled condition.
    /// </summary>
    private static void MarkSchedulingGated(Pod pod)
    {
        if (pod.Spec.SchedulingGates is not { Count: > 0 })
        {
            return;
        }

        var status = pod.Status ??= new PodStatus { Phase = "Pending" };
        if (status.Conditions?.Any(c => c.Type == "PodScheduled") == true)
        {
            return;
        }

        (status.Conditions ??= []).Add(new PodCondition
        {
            Type = "PodScheduled",
            Status = "False",
            Reason = "SchedulingGated",
            Message = "Scheduling is blocked due to non-empty scheduling gates",
        });
    }

    /// <summary>
    /// Empty ownerReferences, finalizers, labels and annotations are stored as absent, as Kubernetes' omitempty
    /// fields are: a garbage collector or controller that removes the last owner reference, or a client that sends
    /// <c>labels: {}</c>, leaves no empty field behind.
    /// </summary>
    private static void DropEmptyLists(ObjectMeta meta)
    {
        if (meta.OwnerReferences is { Count: 0 })
        {
            meta.OwnerReferences = null;
        }

        if (meta.Finalizers is { Count: 0 })
        {
            meta.Finalizers = null;
        }

        if (meta.Labels is { Count: 0 })
        {
            meta.Labels = null;
        }

        if (meta.Annotations is { Count: 0 })
        {
            meta.Annotations = null;
        }
    }

    private static KubeObject PrepareForUpdate(ResourceType type, KubeObject old, KubeObject desired, string? subresource, bool owned, KeyValue stored)
    {
        var next = type.HasStatus ? WithStatusOf(type, old, desired, subresource, owned, stored) : owned ? desired : ObjectCodec.Copy(type, desired);
        var meta = next.Metadata;
        var oldMeta = old.Metadata;
        meta.Name = oldMeta.Name;
        meta.Namespace = oldMeta.Namespace;
        meta.Uid = oldMeta.Uid;
        meta.CreationTimestamp = oldMeta.CreationTimestamp;
        meta.DeletionTimestamp = oldMeta.DeletionTimestamp;
        meta.DeletionGracePeriodSeconds = oldMeta.DeletionGracePeriodSeconds;
        meta.GenerateName = oldMeta.GenerateName;
        meta.ResourceVersion = oldMeta.ResourceVersion;
        next.ApiVersion = type.ApiVersion;
        next.Kind = type.Kind;
        if (oldMeta.DeletionTimestamp is not null && meta.Finalizers is { } finalizers && oldMeta.Finalizers is { } oldFinalizers
            && finalizers.Except(oldFinalizers, StringComparer.Ordinal).Any())
        {
            throw ApiException.Invalid(type, meta.Name!,
                [FieldError.Forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted")]);
        }

        type.ApplyDefaults(next);
        LabelNamespace(type, next);
        DropEmptyLists(meta);
        meta.Generation = oldMeta.Generation;
        if (type.HasStatus && !KeepsOnlyStatus(type, subresource) && SpecChanged(type, old, next))
        {
            meta.Generation = (oldMeta.Generation ?? 0) + 1;
        }

        return next;
    }

    /// <summary>
    /// Whether a write keeps only the status of the object it is given: a write to the <c>status</c> subresource of a
    /// kind with status takes its spec and its metadata, managedFields included, from the stored object. A caller
    /// need not compute managedFields for such a write: they are not kept.
    /// </summary>
    public static bool KeepsOnlyStatus(ResourceType type, string? subresource) => type.HasStatus && subresource == "status";

    /// <summary>
    /// The object to write (sharing nothing with <paramref name="desired"/> unless <paramref name="owned"/>): a status
    /// write takes only the status of <paramref name="desired"/> (and, as in Kubernetes, nothing of spec or metadata);
    /// a write to the main resource keeps the stored status. Typed copies through the kind's UTF-8 contract: this used
    /// to go through JSON trees (four per update, and a null-pruning walk), a large share of the server's CPU for every
    /// lease renewal and pod status write. A status write shares spec with <paramref name="old"/>, which is a decode
    /// of the stored bytes nothing changes after the write (the update reads it only to validate), and gets a copy of
    /// its metadata's own fields, which the write sets: one decode of the stored pod per status write instead of two.
    /// </summary>
    private static KubeObject WithStatusOf(ResourceType type, KubeObject old, KubeObject desired, string? subresource, bool owned, KeyValue stored)
    {
        var status = StatusProperty(type);
        if (KeepsOnlyStatus(type, subresource))
        {
            var fresh = TypedMergePatch.TopLevelCopy(type, old) ?? ObjectCodec.Decode(type, stored.Value.Span, stored.ModRevision);
            if (status is not null)
            {
                var value = status.Get!(desired);
                status.Set!(fresh, value is null || owned ? value : ObjectCodec.Copy(value, type.TypeInfo.Options.GetTypeInfo(status.PropertyType)));
            }

            return fresh;
        }

        var next = owned ? desired : ObjectCodec.Copy(type, desired);
        if (status is not null)
        {
            var value = status.Get!(old);
            status.Set!(next, value is null ? null : ObjectCodec.Copy(value, type.TypeInfo.Options.GetTypeInfo(status.PropertyType)));
        }

        return next;
    }

    private static readonly ConditionalWeakTable<JsonTypeInfo, JsonPropertyInfo?> StatusProperties = new();

    /// <summary>The kind's <c>status</c> property when the contract can read and write it, else null.</summary>
    private static JsonPropertyInfo? StatusProperty(ResourceType type) =>
        StatusProperties.GetValue(type.TypeInfo, static info =>
            info.Properties.FirstOrDefault(p => p.Name == "status") is { Get: not null, Set: not null } property ? property : null);

    /// <summary>
    /// Whether anything but metadata and status differs. Each other top-level field is compared by its encoded bytes
    /// first (equal bytes are equal objects); only when they differ is the comparison repeated on JSON trees of that
    /// field, which ignore the order of map keys, so a reordered map is not a change (a binding changes spec, and
    /// used to turn both whole pods into trees for this).
    /// </summary>
    private static bool SpecChanged(ResourceType type, KubeObject old, KubeObject next)
    {
        foreach (var property in type.TypeInfo.Properties)
        {
            if (property.Name is "metadata" or "status" or "apiVersion" or "kind")
            {
                continue;
            }

            if (property.Get is null)
            {
                return SpecChangedByTree(type, old, next);
            }

            var a = property.Get(old);
            var b = property.Get(next);
            if (a is null && b is null)
            {
                continue;
            }

            if (a is null || b is null)
            {
                return SpecChangedByTree(type, old, next);
            }

            var info = type.TypeInfo.Options.GetTypeInfo(property.PropertyType);
            if (VergeJson.SameEncoding(a, b, info))
            {
                continue;
            }

            // Unequal bytes may still be a reordered map: the trees of this field alone tell, as the whole object's
            // trees would (they differ exactly when one of their fields does), unless the field is written by its
            // own converter or number rule, or the object's identity differs too.
            if (property.CustomConverter is not null || property.NumberHandling is not null || property.IsExtensionData
                || old.ApiVersion != next.ApiVersion || old.Kind != next.Kind)
            {
                return SpecChangedByTree(type, old, next);
            }

            if (!JsonNode.DeepEquals(JsonSerializer.SerializeToNode(a, info), JsonSerializer.SerializeToNode(b, info)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool SpecChangedByTree(ResourceType type, KubeObject old, KubeObject next)
    {
        var a = ObjectCodec.ToNode(type, old);
        var b = ObjectCodec.ToNode(type, next);
        foreach (var node in new[] { a, b })
        {
            node.Remove("metadata");
            node.Remove("status");
        }

        return !JsonNode.DeepEquals(a, b);
    }

    private static void Validate(ResourceType type, KubeObject obj, KubeObject? old, string? subresource = null)
    {
        var errors = new List<FieldError>();
        if (old is not null && KeepsOnlyStatus(type, subresource) && type.ValidateStatusUpdate is { } validateStatus)
        {
            // Metadata and spec are the stored object's (WithStatusOf): only the status is new.
            errors.AddRange(validateStatus(obj, old));
        }
        else
        {
            var nameIsLabel = type.Kind == "Namespace" && type.Group.Length == 0;
            errors.AddRange(MetadataValidation.Validate(obj.Metadata, type.Namespaced, nameIsLabel));
            errors.AddRange(type.Validate(obj, old));
        }

        if (errors.Count > 0)
        {
            throw ApiException.Invalid(type, obj.Metadata.Name ?? obj.Metadata.GenerateName ?? "", errors);
        }
    }

    private const int MaxGeneratedNameLength = 63 - 5;

    private static string NameSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        Span<char> chars = stackalloc char[5];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        return new string(chars);
    }
}

/// <summary>
/// What an update wrote: the object (as stored for a no-op write), whether it was created, and, when the object is
/// exactly what the store holds, its stored bytes and revision, from which a response is made by splicing in the
/// resourceVersion (<see cref="Json"/>), as a GET of the object makes it, instead of encoding the object again.
/// </summary>
internal readonly record struct UpdateResult(KubeObject Object, bool Created, ReadOnlyMemory<byte> Stored = default, long Revision = 0)
{
    /// <summary>The object as a response carries it (resourceVersion included), from the stored bytes when there are some.</summary>
    public byte[] Json(ResourceType type) =>
        Revision > 0 ? ObjectCodec.WithResourceVersion(Stored.Span, Revision) : ObjectCodec.Serialize(type, Object);

    public void Deconstruct(out KubeObject obj, out bool created)
    {
        obj = Object;
        created = Created;
    }
}

/// <summary>metav1.DeleteOptions, the parts Verge honours.</summary>
internal sealed class DeleteOptions
{
    public long? GracePeriodSeconds { get; set; }

    public Preconditions? Preconditions { get; set; }

    public string? PropagationPolicy { get; set; }

    public bool? OrphanDependents { get; set; }

    public List<string>? DryRun { get; set; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool DryRunAll => DryRun?.Contains("All") == true;
}

/// <summary>metav1.Preconditions.</summary>
internal sealed class Preconditions
{
    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }
}
