using Microsoft.Extensions.Logging;
using Verge.Gateway.Upstream;

namespace Verge.Gateway.Pipeline;

/// <summary>
/// Drains the durable queue: peeks the oldest batch, sends it to every configured destination in order and
/// acknowledges it only once all of them have. A destination that fails (or is unavailable) keeps the batch in the
/// queue; it is sent again to all destinations after a delay, so a destination may see a message twice (at least
/// once; receivers drop duplicates by message id).
/// </summary>
internal sealed partial class UpstreamDrain(DurableQueue queue, IReadOnlyList<IUplink> uplinks, GatewayOptions options, GatewayCounters counters, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Wakes the loop: something was enqueued.</summary>
    public void Notify()
    {
        try
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        _signal.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        if (uplinks.Count == 0)
        {
            return;
        }

        while (!ct.IsCancellationRequested)
        {
            IReadOnlyList<QueuedMessage> batch;
            try
            {
                batch = await queue.PeekAsync(options.UpstreamBatchMessages, cancellationToken: ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (batch.Count == 0)
            {
                // Woken by an enqueue, or checked again after a while (messages from before a restart).
                await _signal.WaitAsync(TimeSpan.FromSeconds(1), ct);
                continue;
            }

            if (!uplinks.All(u => u.Available))
            {
                await Task.Delay(options.UpstreamRetryDelay, time, ct);
                continue;
            }

            var messages = new UplinkMessage[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                messages[i] = new UplinkMessage(batch[i].MessageId, batch[i].Topic, batch[i].Payload);
            }

            try
            {
                foreach (var uplink in uplinks)
                {
                    await uplink.SendAsync(messages, ct);
                }

                await queue.AckAsync(batch[^1].Sequence, ct);
                counters.AddUpstreamSent(batch.Count);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                counters.AddUpstreamError();
                Log.SendFailed(logger, batch.Count, e);
                await Task.Delay(options.UpstreamRetryDelay, time, ct);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6311, Level = LogLevel.Warning, Message = "Sending {Count} upstream messages failed; they stay queued")]
        public static partial void SendFailed(ILogger logger, int count, Exception exception);
    }
}
