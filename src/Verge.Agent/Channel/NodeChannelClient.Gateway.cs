using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Verge.Gateway;
using Verge.NodeChannel.Protocol;

namespace Verge.Agent.Channel;

/// <summary>
/// The gateway's side of the node channel: the control plane as an upstream destination (<see cref="IUplink"/>: a
/// batch travels as UplinkBatch and completes when the server's UplinkAck for it arrives, or fails when the session
/// ends so the durable queue tries again), device reports (<see cref="IDeviceReporter"/>: coalesced per device, the
/// latest kept while disconnected, sent with the pod statuses) and device commands (<see cref="IDeviceCommandSource"/>).
/// </summary>
public sealed partial class NodeChannelClient : IUplink, IDeviceReporter, IDeviceCommandSource
{
    private const int MaxReportsPerBatch = 256;

    private readonly ConcurrentDictionary<(string Namespace, string Name), Pending<DeviceReportRecord>> _deviceReports = new();
    private UplinkLink? _uplink;
    private long _nextBatchId;

    /// <summary>"control-plane": the upstream destination's name in logs and metrics.</summary>
    public string Name => "control-plane";

    /// <summary>Whether a session is up: the queue waits while it is not.</summary>
    public bool Available => Connected && Volatile.Read(ref _uplink) is not null;

    /// <summary>Device reports waiting to be sent (one per device).</summary>
    internal int PendingDeviceReports => _deviceReports.Count;

    /// <summary>Raised for every DeviceCommandMessage the control plane sends (on the session's receive loop).</summary>
    public event Action<DeviceCommand>? CommandReceived;

    /// <summary>
    /// Sends the batch on the current session and returns once the server acknowledged it (the cloud endpoint
    /// published every message, or dropped it as a duplicate). Throws when there is no session, when the session ends
    /// first, or when the server refused the batch.
    /// </summary>
    public async Task SendAsync(IReadOnlyList<UplinkMessage> batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        var link = Volatile.Read(ref _uplink) ?? throw new IOException("the node channel is not connected");
        var message = new UplinkBatch { BatchId = Interlocked.Increment(ref _nextBatchId) };
        foreach (var m in batch)
        {
            message.Records.Add(new UplinkRecord { MessageId = m.MessageId, Topic = m.Topic, Payload = ByteString.CopyFrom(m.Payload.Span) });
        }

        var acked = link.Expect(message.BatchId);
        try
        {
            await link.Writer.WriteAsync(
                new Outgoing(new AgentMessage { Uplink = message }, () => link.Fail(message.BatchId, "the batch did not reach the wire")),
                ct);
        }
        catch (ChannelClosedException)
        {
            link.Fail(message.BatchId, "the node channel session ended");
        }

        try
        {
            await acked.WaitAsync(ct);
        }
        finally
        {
            link.Forget(message.BatchId);
        }
    }

    /// <summary>Keeps the latest report of the device until it is sent; a report without a reported twin keeps the one waiting.</summary>
    public void Report(DeviceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var record = new DeviceReportRecord
        {
            Namespace = report.Namespace,
            Name = report.Name,
            Connected = report.Connected,
            LastSeenUnixMs = report.LastSeen.ToUnixTimeMilliseconds(),
            ReportedJson = report.ReportedJson is { } json ? ByteString.CopyFrom(json.Span) : ByteString.Empty,
        };
        var sequence = NextReportSequence();
        _deviceReports.AddOrUpdate(
            (report.Namespace, report.Name),
            new Pending<DeviceReportRecord>(sequence, record),
            (_, older) => new Pending<DeviceReportRecord>(sequence, Merge(older.Value, record)));
    }

    /// <summary>A newer report wins, except that it keeps the older reported twin when it carries none.</summary>
    private static DeviceReportRecord Merge(DeviceReportRecord older, DeviceReportRecord newer)
    {
        if (newer.ReportedJson.IsEmpty && !older.ReportedJson.IsEmpty)
        {
            var merged = newer.Clone();
            merged.ReportedJson = older.ReportedJson;
            return merged;
        }

        return newer;
    }

    /// <summary>
    /// Queues the coalesced device reports; what does not reach the wire, or reaches it without the server's ack,
    /// waits for the next session.
    /// </summary>
    private async Task FlushDeviceReportsAsync(ChannelWriter<Outgoing> outbound, CancellationToken ct)
    {
        while (!_deviceReports.IsEmpty)
        {
            var taken = Take(_deviceReports, MaxReportsPerBatch);
            var batch = new DeviceReportBatch { Reports = { taken.Select(t => t.Pending.Value) } };

            // The newer report wins, keeping the older one's twin if it has none.
            var putBack = AwaitAck(PutBack(_deviceReports, taken, static (back, waiting) => waiting.Sequence > back.Sequence
                ? waiting with { Value = Merge(back.Value, waiting.Value) }
                : back with { Value = Merge(waiting.Value, back.Value) }), id => batch.BatchId = id);
            await outbound.WriteAsync(new Outgoing(new AgentMessage { DeviceReports = batch }, putBack), ct);
        }
    }

    private void StartUplink(ChannelWriter<Outgoing> outbound) => Volatile.Write(ref _uplink, new UplinkLink(outbound));

    private void StopUplink(string reason) => Interlocked.Exchange(ref _uplink, null)?.FailAll(reason);

    private void OnUplinkAck(UplinkAck ack) => Volatile.Read(ref _uplink)?.Complete(ack);

    private void OnDeviceCommand(DeviceCommandMessage command)
    {
        var received = new DeviceCommand(command.Namespace, command.Device, command.Topic, command.Payload.ToByteArray());
        try
        {
            CommandReceived?.Invoke(received);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failing handler must not end the session.
            LogCommandHandlerFailed(_logger, command.Namespace, command.Device, e);
        }
    }

    /// <summary>One session's uplink: its outbound queue and the batches waiting for their acknowledgement.</summary>
    private sealed class UplinkLink(ChannelWriter<Outgoing> writer)
    {
        private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiting = new();
        private string? _failed;

        public ChannelWriter<Outgoing> Writer { get; } = writer;

        public Task Expect(long batchId)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[batchId] = done;
            if (Volatile.Read(ref _failed) is { } reason)
            {
                done.TrySetException(new IOException(reason));
            }

            return done.Task;
        }

        public void Complete(UplinkAck ack)
        {
            if (_waiting.TryRemove(ack.BatchId, out var done))
            {
                if (ack.Error.Length > 0)
                {
                    done.TrySetException(new IOException("the control plane refused the upstream batch: " + ack.Error));
                }
                else
                {
                    done.TrySetResult();
                }
            }
        }

        public void Fail(long batchId, string reason)
        {
            if (_waiting.TryRemove(batchId, out var done))
            {
                done.TrySetException(new IOException(reason));
            }
        }

        public void Forget(long batchId) => _waiting.TryRemove(batchId, out _);

        public void FailAll(string reason)
        {
            Volatile.Write(ref _failed, reason);
            foreach (var id in _waiting.Keys)
            {
                Fail(id, reason);
            }
        }
    }

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Handling the command for device {Namespace}/{Device} failed")]
    private static partial void LogCommandHandlerFailed(ILogger logger, string @namespace, string device, Exception exception);
}
