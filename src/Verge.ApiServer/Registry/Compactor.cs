using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.Store;

namespace Verge.ApiServer.Registry;

/// <summary>
/// Compacts the store's history on an interval, keeping at least one interval of history so that watches and
/// continue tokens younger than that still resume, as the Kubernetes API server's compaction does.
/// </summary>
internal sealed partial class Compactor(IKeyValueStore store, ApiServerOptions options, TimeProvider time, ILogger<Compactor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long previous = 0;
        using var timer = new PeriodicTimer(options.CompactionInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (previous > 0)
                    {
                        await store.CompactAsync(previous, stoppingToken);
                        LogCompacted(logger, previous);
                    }

                    previous = await store.GetCurrentRevisionAsync(stoppingToken);
                }
                catch (StoreException e)
                {
                    LogFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Debug, Message = "Compacted history up to revision {Revision}")]
    private static partial void LogCompacted(ILogger logger, long revision);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Compaction failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
