using Microsoft.Extensions.Logging;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Cloud;

/// <summary>
/// Takes the gateways' upstream batches off the node channel: publishes each record on the cloud endpoint (QoS 1,
/// its message id as a user property), drops a message id seen within the last <see cref="CloudEndpointOptions.DuplicateWindow"/>
/// ids (delivery from the gateway is at least once), and answers with the batch's UplinkAck once every record is
/// published or dropped. Without a cloud endpoint the batch is refused, so the gateway keeps it.
/// </summary>
internal sealed partial class UplinkReceiver(CloudEndpoint cloud, CloudEndpointOptions options, TimeProvider time, ILogger<UplinkReceiver> logger)
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private long _published;
    private long _duplicates;

    /// <summary>Records published on the cloud endpoint.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Records dropped because their message id was seen recently.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    public async Task<UplinkAck> ReceiveAsync(string node, UplinkBatch batch, CancellationToken ct)
    {
        var ack = new UplinkAck { BatchId = batch.BatchId };
        if (!cloud.Running)
        {
            ack.Error = "the control plane has no cloud MQTT endpoint (verge server --mqtt-listen)";
            return ack;
        }

        // Flow control: a cloud application's queue on the endpoint is bounded (MQTTnet drops the oldest beyond it),
        // so a batch waits while any connected application is far behind, and is refused (kept by the gateway, sent
        // again later) if it stays behind. The gateway's durable queue absorbs the difference.
        if (!await WaitForSubscribersAsync(batch.Records.Count, ct))
        {
            LogSubscribersBehind(logger, node, batch.Records.Count);
            ack.Error = "cloud applications are behind; the batch is refused and stays in the gateway's queue";
            return ack;
        }

        foreach (var record in batch.Records)
        {
            if (string.IsNullOrEmpty(record.Topic) || record.Topic.Contains('#', StringComparison.Ordinal) || record.Topic.Contains('+', StringComparison.Ordinal))
            {
                // A record that can never be published is dropped (and logged) rather than blocking the queue for ever.
                LogBadTopic(logger, node, record.MessageId, record.Topic);
                continue;
            }

            if (!string.IsNullOrEmpty(record.MessageId) && IsDuplicate(record.MessageId))
            {
                Interlocked.Increment(ref _duplicates);
                continue;
            }

            try
            {
                await cloud.PublishAsync(record.Topic, record.Payload.Memory, record.MessageId, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                Forget(record.MessageId);
                ack.Error = "publishing at the cloud endpoint failed: " + e.Message;
                return ack;
            }

            Interlocked.Increment(ref _published);
        }

        return ack;
    }

    private async Task<bool> WaitForSubscribersAsync(int records, CancellationToken ct)
    {
        var highWater = Math.Max(0, (CloudEndpoint.MaxPendingPerClient / 2) - records);
        var deadline = time.GetUtcNow() + options.UplinkBackpressureWait;
        while (await cloud.MaxPendingAsync() > highWater)
        {
            if (time.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), time, ct);
        }

        return true;
    }

    /// <summary>Remembers the id; true when it was already remembered.</summary>
    private bool IsDuplicate(string id)
    {
        lock (_lock)
        {
            if (!_seen.Add(id))
            {
                return true;
            }

            _order.Enqueue(id);
            while (_order.Count > options.DuplicateWindow && _order.TryDequeue(out var oldest))
            {
                _seen.Remove(oldest);
            }

            return false;
        }
    }

    private void Forget(string id)
    {
        lock (_lock)
        {
            _seen.Remove(id);
        }
    }

    [LoggerMessage(EventId = 3405, Level = LogLevel.Information, Message = "Node {Node}: upstream batch of {Count} refused for now: cloud applications are behind")]
    private static partial void LogSubscribersBehind(ILogger logger, string node, int count);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Warning, Message = "Node {Node}: upstream message {MessageId} dropped: topic \"{Topic}\" cannot be published (empty or with wildcards)")]
    private static partial void LogBadTopic(ILogger logger, string node, string messageId, string topic);
}
