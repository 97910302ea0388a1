using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Watch;
using Verge.Core.Meta;

namespace Verge.ApiServer.Registry;

/// <summary>
/// Empties namespaces that are being deleted, as Kubernetes' namespace controller does: every namespaced object in
/// them is deleted through the registry (so objects with finalizers stay, marked, until their finalizers are
/// removed), and once nothing is left the namespace itself goes, unless its own metadata.finalizers still hold it.
/// It acts on namespace events and re-checks terminating namespaces on an interval, because the objects that hold a
/// namespace open change without the namespace changing.
/// </summary>
internal sealed partial class NamespaceFinalizer(
    ResourceService service,
    WatchCache cache,
    TimeProvider time,
    ILogger<NamespaceFinalizer> logger) : BackgroundService
{
    private static readonly ResourceType NamespaceType = ResourceCatalog.Find("", "v1", "namespaces")!;
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await cache.Ready.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var watcher = cache.Subscribe(NamespaceType, WatchFilter.All, cache.Revision);
                while (true)
                {
                    await SweepAsync(stoppingToken);
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(RecheckInterval);
                    try
                    {
                        if (!await watcher.Events.WaitToReadAsync(wait.Token))
                        {
                            break;
                        }

                        while (watcher.Events.TryRead(out _))
                        {
                        }
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                        // The interval elapsed: re-check terminating namespaces.
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Http.ApiException or Store.StoreException or IOException)
            {
                LogSweepFailed(logger, e.Message);
                await Task.Delay(RecheckInterval, time, stoppingToken);
            }
        }
    }

    private async Task SweepAsync(CancellationToken ct)
    {
        var page = await service.Store.ListAsync(ObjectCodec.Prefix(NamespaceType, null), 0, 0, null, ct);
        foreach (var kv in page.Items)
        {
            var ns = ObjectCodec.Decode(NamespaceType, kv.Value.Span, kv.ModRevision);
            if (ns.Metadata.DeletionTimestamp is not null)
            {
                await FinalizeAsync(ns.Metadata.Name!, ct);
            }
        }
    }

    private async Task FinalizeAsync(string ns, CancellationToken ct)
    {
        var remaining = 0;
        foreach (var type in ResourceCatalog.All.Where(t => t.Namespaced))
        {
            var page = await service.Store.ListAsync(ObjectCodec.Prefix(type, ns), 0, 0, null, ct);
            foreach (var kv in page.Items)
            {
                var obj = ObjectCodec.Decode(type, kv.Value.Span, kv.ModRevision);
                if (obj.Metadata.DeletionTimestamp is null)
                {
                    try
                    {
                        var (_, removed) = await service.DeleteAsync(type, ns, obj.Metadata.Name!, new DeleteOptions { PropagationPolicy = "Background" }, ct);
                        if (removed)
                        {
                            continue;
                        }
                    }
                    catch (Http.ApiException e) when (e.Code == 404)
                    {
                        continue;
                    }
                }

                remaining++;
            }
        }

        if (remaining > 0)
        {
            return;
        }

        // Empty: the namespace's own finalizers are all that may still hold it.
        var current = await service.Store.GetAsync(ObjectCodec.Key(NamespaceType, null, ns), ct);
        if (current is null)
        {
            return;
        }

        var nsObject = ObjectCodec.Decode(NamespaceType, current.Value.Span, current.ModRevision);
        if (nsObject.Metadata.Finalizers is { Count: > 0 })
        {
            return;
        }

        try
        {
            service.Written(NamespaceType, await service.Store.DeleteAsync(current.Key, current.ModRevision, ct));
            LogFinalized(logger, ns);
        }
        catch (Exception e) when (e is Store.KeyNotFoundStoreException or Store.RevisionConflictException)
        {
            // Changed meanwhile: the next pass decides again.
        }
    }

    [LoggerMessage(EventId = 3150, Level = LogLevel.Information, Message = "Namespace {Namespace} emptied and removed")]
    private static partial void LogFinalized(ILogger logger, string @namespace);

    [LoggerMessage(EventId = 3151, Level = LogLevel.Warning, Message = "Namespace sweep failed, retrying: {Reason}")]
    private static partial void LogSweepFailed(ILogger logger, string reason);
}
