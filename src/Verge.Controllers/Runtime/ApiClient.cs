using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.Controllers.Runtime;

/// <summary>
/// The controllers' typed door to the registry, in-process instead of over HTTP: the same defaulting, validation
/// and compare-and-swap as API requests. Writes pinned to a resourceVersion fail with 409 when the object changed
/// since it was read; <see cref="MutateAsync"/> re-reads and retries instead.
/// </summary>
internal sealed class ApiClient(ResourceService service, string fieldManager)
{
    private readonly WriteOptions _write = new(false, fieldManager, FieldValidation.Ignore, false);

    public ResourceService Service => service;

    public async Task<T?> GetAsync<T>(string? ns, string name, CancellationToken ct)
        where T : KubeObject
    {
        try
        {
            return (T)(await service.GetAsync(ResourceCatalog.For<T>(), ns, name, ct)).Object;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    public async Task<T> CreateAsync<T>(T obj, CancellationToken ct)
        where T : KubeObject =>
        (T)await service.CreateAsync(ResourceCatalog.For<T>(), obj.Metadata.Namespace, obj, _write, null, ct);

    /// <summary>Writes <paramref name="obj"/> (spec and metadata), failing with 409 unless it is still at its resourceVersion.</summary>
    public async Task<T> UpdateAsync<T>(T obj, CancellationToken ct)
        where T : KubeObject
    {
        ArgumentException.ThrowIfNullOrEmpty(obj.Metadata.ResourceVersion);
        var (written, _) = await service.UpdateAsync(ResourceCatalog.For<T>(), obj.Metadata.Namespace, obj.Metadata.Name!, null,
            _ => obj, _write, allowCreate: false, ct);
        return (T)written;
    }

    /// <summary>
    /// Reads the newest object, lets <paramref name="mutate"/> change it (returning false to write nothing) and
    /// writes it with compare-and-swap, retrying on conflicts. Returns null when the object is gone.
    /// </summary>
    public async Task<T?> MutateAsync<T>(string? ns, string name, string? subresource, Func<T, bool> mutate, CancellationToken ct)
        where T : KubeObject
    {
        try
        {
            var (written, _) = await service.UpdateAsync(ResourceCatalog.For<T>(), ns, name, subresource, current =>
            {
                // Unchanged objects encode to the stored bytes, which the registry treats as a no-op.
                var obj = (T)current!;
                if (mutate(obj))
                {
                    obj.Metadata.ResourceVersion = null;
                }

                return obj;
            }, _write, allowCreate: false, ct);
            return (T)written;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the status of <paramref name="read"/> as <paramref name="change"/> sets it on a fresh copy, pinned to the
    /// resourceVersion it was read at (a 409 when the object changed since, as Kubernetes' UpdateStatus). Returns null
    /// when the object is gone.
    /// </summary>
    public async Task<KubeObject?> UpdateStatusAsync(ResourceType type, KubeObject read, Action<KubeObject> change, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(read.Metadata.ResourceVersion);
        try
        {
            var (written, _) = await service.UpdateAsync(type, read.Metadata.Namespace, read.Metadata.Name!, "status", current =>
            {
                var obj = current!;
                obj.Metadata.ResourceVersion = read.Metadata.ResourceVersion;
                change(obj);
                return obj;
            }, _write, allowCreate: false, ct);
            return written;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Sets the <c>DisruptionTarget</c> condition on <paramref name="pod"/>, if it is still the pod of that uid, before
    /// a deletion for a disruption (Kubernetes' preemption and taint eviction do the same). Null when it is gone.
    /// </summary>
    public Task<Pod?> MarkDisruptionTargetAsync(Pod pod, string reason, string message, DateTimeOffset now, CancellationToken ct) =>
        MutateAsync<Pod>(pod.Metadata.Namespace, pod.Metadata.Name!, "status",
            latest => latest.Metadata.Uid == pod.Metadata.Uid && DisruptionTarget.Mark(latest, reason, message, now), ct);

    /// <summary>
    /// Deletes the object if it still has <paramref name="uid"/> (a pod gracefully, unless
    /// <paramref name="gracePeriodSeconds"/> says otherwise); the object as deleted or marked, null when it was gone.
    /// </summary>
    public async Task<KubeObject?> DeleteAsync(ResourceType type, string? ns, string name, string? uid, string? propagationPolicy, CancellationToken ct, long? gracePeriodSeconds = null)
    {
        try
        {
            var (obj, _) = await service.DeleteAsync(type, ns, name, new DeleteOptions
            {
                Preconditions = uid is null ? null : new Preconditions { Uid = uid },
                PropagationPolicy = propagationPolicy,
                GracePeriodSeconds = gracePeriodSeconds,
            }, ct);
            return obj;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return null;
        }
    }

    public Task<KubeObject?> DeleteAsync<T>(T obj, CancellationToken ct)
        where T : KubeObject =>
        DeleteAsync(ResourceCatalog.For<T>(), obj.Metadata.Namespace, obj.Metadata.Name!, obj.Metadata.Uid, null, ct);
}
