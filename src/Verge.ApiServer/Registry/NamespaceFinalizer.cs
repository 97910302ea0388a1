using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Watch;
using Verge.Core.Meta;

namespace Verge.ApiServer.Registry;

/// <summary>
/// Empties namespaces that are being deleted: removes every namespaced object in them, then the namespace's
/// <c>kubernetes</c> finalizer, so the namespace itself goes away, as Kubernetes' namespace controller does.
/// </summary>
internal sealed partial class NamespaceFinalizer(ResourceService service, WatchCache cache, ILogger<NamespaceFinalizer> logger) : BackgroundService
{
    private static readonly ResourceType NamespaceType = ResourceCatalog.Find("", "v1", "namespaces")!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await cache.Ready.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
                using var watcher = cache.Subscribe(NamespaceType, Watch.WatchFilter.All, cache.Revision);
                await foreach (var item in watcher.Events.ReadAllAsync(stoppingToken))
                {
                    if (item.Event is { } e && e.Current.Metadata.DeletionTimestamp is not null && item.Type != WatchFrameType.Deleted)
                    {
                        await FinalizeAsync(e.Name, stoppingToken);
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
        foreach (var type in ResourceCatalog.All.Where(t => t.Namespaced))
        {
            var prefix = ObjectCodec.Prefix(type, ns);
            while (true)
            {
                var page = await service.Store.ListAsync(prefix, 0, 500, null, ct);
                if (page.Items.Count == 0)
                {
                    break;
                }

                foreach (var kv in page.Items)
                {
                    try
                    {
                        await service.Store.DeleteAsync(kv.Key, 0, ct);
                    }
                    catch (Store.KeyNotFoundStoreException)
                    {
                    }
                }
            }
        }

        try
        {
            await service.Store.DeleteAsync(ObjectCodec.Key(NamespaceType, null, ns), 0, ct);
            LogFinalized(logger, ns);
        }
        catch (Store.KeyNotFoundStoreException)
        {
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Namespace {Namespace} emptied and removed")]
    private static partial void LogFinalized(ILogger logger, string @namespace);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Namespace sweep failed, retrying: {Reason}")]
    private static partial void LogSweepFailed(ILogger logger, string reason);
}
