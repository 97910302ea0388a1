using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Security;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>
/// The gRPC service agents connect to. It authenticates the node by its client certificate (chained to the cluster
/// CA, CN <c>system:node:NAME</c>, O <c>system:nodes</c>, and Hello.node_name = NAME), hands the session to the hub
/// for its catch-up and live changes, and writes what the agent reports. Reports are written on a worker of their
/// own so that log chunks and acknowledgements are never stuck behind store writes.
/// </summary>
internal sealed partial class NodeChannelService(
    CertificateAuthority ca,
    DesiredStateHub hub,
    NodeStatusWriter writer,
    PodLogRelay logs,
    PodExecRelay execs,
    Cloud.UplinkReceiver uplinks,
    Cloud.DeviceReportWriter devices,
    ImageImportRelay images,
    ChannelMetrics metrics,
    NodeChannelOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<NodeChannelService> logger) : global::Verge.NodeChannel.Protocol.NodeChannel.NodeChannelBase
{
    public const string NodeUserPrefix = "system:node:";
    public const string NodesGroup = "system:nodes";

    public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<ServerMessage> responseStream, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var ct = context.CancellationToken;
        var node = await AuthenticateAsync(http, ct);
        if (!await requestStream.MoveNext(ct))
        {
            return;
        }

        if (requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message of a node channel must be Hello"));
        }

        var hello = requestStream.Current.Hello;
        if (hello.NodeName != node)
        {
            LogRefused(logger, node, $"Hello names node \"{hello.NodeName}\"");
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"the certificate of node \"{node}\" may not open the channel of node \"{hello.NodeName}\""));
        }

        metrics.Attribute(http.Connection.Id, node);
        await hub.Ready.WaitAsync(ct);
        var lastRevision = hello.LastRevision;
        if (lastRevision > 0 && !await hub.WaitForRevisionAsync(lastRevision, options.RevisionWait, ct))
        {
            // The agent is ahead of this server's view (a store that was reset): only a snapshot is safe.
            LogAhead(logger, node, lastRevision, hub.Revision);
            lastRevision = 0;
        }

        using var session = new NodeSession(node, options);
        // The session ends with the call, when the hub closes it, or when the server stops (agents then reconnect
        // to another replica, and shutdown does not wait for sessions that would otherwise never end).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, session.Closed, lifetime.ApplicationStopping);
        metrics.SessionStarted();
        var heartbeat = (long)options.HeartbeatInterval.TotalMilliseconds;
        var reportCurrent = await writer.HasReportAsync(node, hello.NodeReportSha256.Memory, ct);
        var digest = hello.HeldSha256.IsEmpty ? null : hello.HeldSha256.ToByteArray();
        if (!hub.Attach(session, lastRevision, Keys(hello.Held), heartbeat, digest, reportCurrent))
        {
            // The agent's digest of what it holds differs from this server's view: ask for the list.
            await responseStream.WriteAsync(new ServerMessage { HeldRequest = new HeldRequest() }, ct);
            if (!await requestStream.MoveNext(ct) || requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.HeldKeys)
            {
                LogRefused(logger, node, "it did not answer HeldRequest with HeldKeys");
                throw new RpcException(new Status(StatusCode.InvalidArgument, "the node channel asked for the held keys: the next message must be HeldKeys"));
            }

            hub.Attach(session, lastRevision, Keys(requestStream.Current.HeldKeys.Held), heartbeat, heldDigest: null, reportCurrent);
        }

        var reports = Channel.CreateBounded<AgentMessage>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
        try
        {
            var send = SendAsync(session, responseStream, stop.Token);
            var receive = ReceiveAsync(session, requestStream, reports.Writer, stop.Token);
            var work = WorkAsync(session, reports.Reader, stop.Token);
            var first = await Task.WhenAny(send, receive, work);
            await stop.CancelAsync();
            reports.Writer.TryComplete();
            await Task.WhenAll(Quietly(send), Quietly(receive), Quietly(work));
            await first;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            hub.Detach(session);
            session.Close("session ended");
            metrics.SessionEnded();
            LogDisconnected(logger, node, session.CloseReason ?? "agent left");
        }
    }

    private static IEnumerable<ChannelKey> Keys(IEnumerable<ObjectKey> held) =>
        held.Where(k => k.Kind != ObjectKind.Unspecified).Select(ChannelKey.From);

    private async Task<string> AuthenticateAsync(HttpContext http, CancellationToken ct)
    {
        var certificate = http.Connection.ClientCertificate ?? await http.Connection.GetClientCertificateAsync(ct);
        if (certificate is null)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the node channel requires a node client certificate"));
        }

        if (!ca.Verify(certificate))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the client certificate is not issued by the cluster CA or is not valid now"));
        }

        var user = Authentication.FromCertificate(certificate);
        if (!user.Name.StartsWith(NodeUserPrefix, StringComparison.Ordinal) || user.Name.Length == NodeUserPrefix.Length || !user.Groups.Contains(NodesGroup))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"user \"{user.Name}\" is not a node: the node channel needs a certificate with CN {NodeUserPrefix}NAME and O {NodesGroup}"));
        }

        return user.Name[NodeUserPrefix.Length..];
    }

    private static async Task SendAsync(NodeSession session, IServerStreamWriter<ServerMessage> responses, CancellationToken ct)
    {
        await foreach (var message in session.Outbound.ReadAllAsync(ct))
        {
            await responses.WriteAsync(message, ct);
            session.Sent(message);
        }
    }

    private async Task ReceiveAsync(NodeSession session, IAsyncStreamReader<AgentMessage> requests, ChannelWriter<AgentMessage> reports, CancellationToken ct)
    {
        while (await requests.MoveNext(ct))
        {
            var message = requests.Current;
            switch (message.BodyCase)
            {
                case AgentMessage.BodyOneofCase.Ack:
                    session.AckedRevision = Math.Max(session.AckedRevision, message.Ack.Revision);
                    break;
                case AgentMessage.BodyOneofCase.Log:
                    await logs.DeliverAsync(message.Log, ct);
                    break;
                case AgentMessage.BodyOneofCase.ExecOutput:
                    execs.Deliver(message.ExecOutput);
                    break;
                case AgentMessage.BodyOneofCase.ExecStdinWindow:
                    execs.GrantStdin(message.ExecStdinWindow);
                    break;
                case AgentMessage.BodyOneofCase.Uplink:
                    // Publishing is an in-memory hand-off to the MQTT server: acknowledged here, in order, without
                    // waiting behind store writes.
                    session.Send(new ServerMessage { UplinkAck = await uplinks.ReceiveAsync(session.NodeName, message.Uplink, ct) });
                    break;
                case AgentMessage.BodyOneofCase.ImageImportResult:
                    images.Deliver(message.ImageImportResult);
                    break;
                case AgentMessage.BodyOneofCase.Heartbeat or AgentMessage.BodyOneofCase.Node
                    or AgentMessage.BodyOneofCase.PodStatuses or AgentMessage.BodyOneofCase.Events
                    or AgentMessage.BodyOneofCase.DeviceReports:
                    await reports.WriteAsync(message, ct);
                    break;
                case AgentMessage.BodyOneofCase.Hello or AgentMessage.BodyOneofCase.HeldKeys:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"{message.BodyCase} may come only at the start of a session"));
                default:
                    break;
            }
        }
    }

    private async Task WorkAsync(NodeSession session, ChannelReader<AgentMessage> reports, CancellationToken ct)
    {
        var node = session.NodeName;
        await foreach (var message in reports.ReadAllAsync(ct))
        {
            try
            {
                switch (message.BodyCase)
                {
                    case AgentMessage.BodyOneofCase.Heartbeat:
                        await writer.HeartbeatAsync(node, ct);
                        break;
                    case AgentMessage.BodyOneofCase.Node:
                        await writer.ReportNodeAsync(node, message.Node, ct);
                        break;
                    case AgentMessage.BodyOneofCase.PodStatuses:
                        await writer.WritePodStatusesAsync(node, message.PodStatuses, ct);
                        Acknowledge(session, message.PodStatuses.BatchId);
                        break;
                    case AgentMessage.BodyOneofCase.Events:
                        await writer.CreateEventsAsync(node, message.Events, ct);
                        break;
                    case AgentMessage.BodyOneofCase.DeviceReports:
                        await devices.WriteAsync(node, message.DeviceReports, ct);
                        Acknowledge(session, message.DeviceReports.BatchId);
                        break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogWriteFailed(logger, node, message.BodyCase.ToString(), e);
            }
        }
    }

    /// <summary>
    /// Tells the agent a batch is handled. A batch whose write failed gets no ack: the agent sends it again in its
    /// next session (never twice in one, so a store that keeps failing is not hammered).
    /// </summary>
    private static void Acknowledge(NodeSession session, long batchId)
    {
        if (batchId != 0)
        {
            session.Send(new ServerMessage { ReportAck = new ReportAck { BatchId = batchId } });
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or RpcException or InvalidOperationException)
        {
        }
    }

    [LoggerMessage(EventId = 3120, Level = LogLevel.Warning, Message = "Node channel refused for node {Node}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning, Message = "Node {Node} is at revision {Agent}, ahead of this server's {Server}: it gets a snapshot")]
    private static partial void LogAhead(ILogger logger, string node, long agent, long server);

    [LoggerMessage(EventId = 3122, Level = LogLevel.Information, Message = "Node {Node} disconnected: {Reason}")]
    private static partial void LogDisconnected(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 3123, Level = LogLevel.Warning, Message = "Node {Node}: writing its {What} failed")]
    private static partial void LogWriteFailed(ILogger logger, string node, string what, Exception exception);
}
