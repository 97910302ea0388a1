using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Certificates;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Verge.ApiServer.Http;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Security;

namespace Verge.ApiServer.Cloud;

/// <summary>The serving certificate of the API server, which the cloud endpoint presents as well.</summary>
internal sealed record ServingCertificate(X509Certificate2 Certificate);

/// <summary>
/// The cloud-side MQTT endpoint: an MQTTnet server with TLS only (the cluster's serving certificate) where cloud
/// applications receive what gateways send upstream and publish commands for devices. A client authenticates with a
/// client certificate issued by the cluster CA, or with an API token as its MQTT password (any user name); the user
/// must be an admin (system:masters) or in the group <see cref="Authentication.CloudGroup"/>. Publishing on
/// <c>devices/{name}/commands/{command}</c> (or <c>devices/{namespace}/{name}/commands/{command}</c>) sends the
/// command to the device's node; a refused command gets a failing PUBACK reason (MQTT 5) and is logged.
/// </summary>
internal sealed partial class CloudEndpoint(
    ApiServerOptions options,
    ServingCertificate serving,
    CertificateAuthority ca,
    BootstrapTokenStore tokens,
    DeviceCommands commands,
    ILogger<CloudEndpoint> logger) : IHostedService, IAsyncDisposable
{
    /// <summary>The MQTT 5 user property that carries an upstream message's id.</summary>
    public const string MessageIdProperty = "verge-message-id";

    /// <summary>The sender id of messages the control plane publishes itself.</summary>
    private const string ServerClientId = "verge-control-plane";

    private const string UserKey = "verge.user";

    /// <summary>Messages queued for one cloud application before MQTTnet drops the oldest.</summary>
    internal const int MaxPendingPerClient = 10_000;

    private MqttServer? _server;
    private long _refusedConnections;
    private long _refusedCommands;

    /// <summary>Whether the endpoint is listening.</summary>
    public bool Running => _server?.IsStarted == true;

    /// <summary>The port it listens on (known once started), or 0.</summary>
    public int Port { get; private set; }

    /// <summary>Connections refused for missing or wrong credentials or a user without access.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);

    /// <summary>Commands published by cloud applications that could not be delivered.</summary>
    public long RefusedCommands => Interlocked.Read(ref _refusedCommands);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.MqttListen))
        {
            return;
        }

        var (host, port) = Hosting.ApiServerHost.ParseListen(options.MqttListen, "--mqtt-listen");
        var builder = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointPort(port)
            .WithMaxPendingMessagesPerClient(MaxPendingPerClient);
        builder = host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? builder.WithEncryptedEndpointBoundIPV6Address(host)
            : builder.WithEncryptedEndpointBoundIPAddress(host);
        var mqttOptions = builder.Build();
        var tls = mqttOptions.TlsEndpointOptions;
        tls.CertificateProvider = new X509CertificateProvider(serving.Certificate);

        // Ask for a client certificate but accept connections without one: those authenticate with a token. A
        // certificate that is presented must chain to the cluster CA (checked again when the connection is validated).
        tls.ClientCertificateRequired = true;
        tls.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is null || (certificate is X509Certificate2 presented && ca.Verify(presented));
        tls.SslProtocol = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;

        var server = new MqttServerFactory().CreateMqttServer(mqttOptions);
        server.ValidatingConnectionAsync += ValidateAsync;
        server.InterceptingPublishAsync += InterceptPublishAsync;
        await server.StartAsync();
        _server = server;
        Port = port;
        LogListening(logger, options.MqttListen);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server)
        {
            await server.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            if (server.IsStarted)
            {
                await server.StopAsync();
            }

            server.Dispose();
        }
    }

    /// <summary>
    /// The most messages queued for any connected cloud application (0 with none). Upstream batches wait while it
    /// is high, so a burst (a gateway's backlog after a partition) cannot overflow a subscriber's queue.
    /// </summary>
    public async Task<long> MaxPendingAsync()
    {
        if (_server is not { } server)
        {
            return 0;
        }

        long max = 0;
        foreach (var client in await server.GetClientsAsync())
        {
            max = Math.Max(max, client.Session.PendingApplicationMessagesCount);
        }

        return max;
    }

    /// <summary>Publishes an upstream message: QoS 1, with its id as the user property <see cref="MessageIdProperty"/>.</summary>
    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, string messageId, CancellationToken ct)
    {
        var server = _server ?? throw new InvalidOperationException("the cloud MQTT endpoint is not running");
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new ReadOnlySequence<byte>(payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithUserProperty(MessageIdProperty, System.Text.Encoding.UTF8.GetBytes(messageId).AsMemory())
            .Build();
        await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = ServerClientId }, ct);
    }

    private async Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        UserInfo? user = null;
        var certificate = args.ClientCertificate;
        if (certificate is not null)
        {
            if (ca.Verify(certificate))
            {
                user = Authentication.FromCertificate(certificate);
            }
        }
        else if (!string.IsNullOrEmpty(args.Password))
        {
            user = await tokens.AuthenticateApiAsync(args.Password, CancellationToken.None);
        }

        if (user is null)
        {
            Interlocked.Increment(ref _refusedConnections);
            LogRefused(logger, args.ClientId, args.RemoteEndPoint?.ToString() ?? "", certificate is null ? "no client certificate and no valid token as password" : "the client certificate is not issued by the cluster CA or is not valid now");
            args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            return;
        }

        if (!user.IsAdmin && !user.Groups.Contains(Authentication.CloudGroup))
        {
            Interlocked.Increment(ref _refusedConnections);
            LogRefused(logger, args.ClientId, args.RemoteEndPoint?.ToString() ?? "", $"user \"{user.Name}\" is neither an admin nor in group {Authentication.CloudGroup}");
            args.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            return;
        }

        if (!Verge.Gateway.Broker.ClientIds.AssignIfEmpty(args, "cloud-", out _))
        {
            args.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            return;
        }

        args.SessionItems[UserKey] = user;
        args.ReasonCode = MqttConnectReasonCode.Success;
    }

    private async Task InterceptPublishAsync(InterceptingPublishEventArgs args)
    {
        if (args.ClientId == ServerClientId)
        {
            return;
        }

        var topic = args.ApplicationMessage.Topic;
        if (!DeviceCommands.TryParseTopic(topic, out var ns, out var device, out var command))
        {
            return;
        }

        try
        {
            var node = await commands.SendAsync(ns, device, command, args.ApplicationMessage.Payload.ToArray(), args.CancellationToken);
            LogCommand(logger, args.ClientId, ns, device, command, node);
        }
        catch (ApiException e)
        {
            Interlocked.Increment(ref _refusedCommands);
            LogCommandRefused(logger, args.ClientId, topic, e.Message);
            args.Response.ReasonCode = e.Code == 404 ? MqttPubAckReasonCode.TopicNameInvalid : MqttPubAckReasonCode.ImplementationSpecificError;
            args.Response.ReasonString = e.Message;
        }
    }

    [LoggerMessage(EventId = 3400, Level = LogLevel.Information, Message = "Cloud MQTT endpoint listening on {Listen} (TLS)")]
    private static partial void LogListening(ILogger logger, string listen);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Cloud MQTT endpoint refused client {ClientId} from {Endpoint}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string clientId, string endpoint, string reason);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Information, Message = "Command from cloud client {ClientId} for device {Namespace}/{Device}: {Command}, sent to node {Node}")]
    private static partial void LogCommand(ILogger logger, string clientId, string @namespace, string device, string command, string node);

    [LoggerMessage(EventId = 3404, Level = LogLevel.Warning, Message = "Command from cloud client {ClientId} on {Topic} refused: {Reason}")]
    private static partial void LogCommandRefused(ILogger logger, string clientId, string topic, string reason);
}
