using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Verge.Core.Rules;
using Verge.Gateway.Auth;
using Verge.Gateway.Broker;
using Verge.Gateway.Ingest;
using Verge.Gateway.Pipeline;
using Verge.Gateway.Upstream;

namespace Verge.Gateway;

/// <summary>
/// The edge gateway: an MQTT broker (MQTTnet) for devices and local workloads, the HTTP ingest endpoint, the data rule
/// pipeline, the durable upstream queue and its drain loop, and the device twins and commands. Authentication, topic
/// ACLs, per-client limits and the rules plug into MQTTnet's interception events; the broker itself stays stock.
/// </summary>
internal sealed partial class GatewayModule : IAsyncDisposable
{
    /// <summary>The sender id of messages the gateway publishes itself (rule outputs, twins, commands, HTTP ingest).</summary>
    public const string InternalClientId = "$verge-gateway";

    private readonly GatewayOptions _options;
    private readonly IGatewayState _state;
    private readonly IReadOnlyList<IUplink> _uplinks;
    private readonly IDeviceReporter? _reporter;
    private readonly IDeviceCommandSource? _commands;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly IMeterFactory? _meters;
    private readonly ILocalPods? _pods;
    private readonly ConcurrentDictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingAcks> _acks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastSeenReported = new(StringComparer.Ordinal);
    private volatile TopicFilter[] _ruleFilters = [];
    private int _holdingAcks;
    private readonly ConcurrentDictionary<string, string> _certificateClients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _publishedDesired = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _twinLock = new(1, 1);
    private readonly HttpClient _httpClient = new() { Timeout = TimeSpan.FromSeconds(10) };
    private X509Certificate2Collection? _clientCa;
    private volatile DeviceDirectory _directory = DeviceDirectory.Empty;
    private MqttServer? _server;
    private DirectDelivery? _direct;
    private DurableQueue? _queue;
    private RulePipeline? _pipeline;
    private UpstreamDrain? _drain;
    private HttpIngest? _ingest;
    private X509Certificate2? _serverCertificate;
    private CancellationTokenSource _stop = new();
    private int _started;

    public GatewayModule(
        GatewayOptions options,
        IGatewayState state,
        IReadOnlyList<IUplink>? uplinks = null,
        IDeviceReporter? reporter = null,
        IDeviceCommandSource? commands = null,
        TimeProvider? time = null,
        ILoggerFactory? loggers = null,
        IMeterFactory? meters = null,
        ILocalPods? pods = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(state);
        options.Validate();
        _options = options;
        _state = state;
        _uplinks = uplinks ?? [];
        _reporter = reporter;
        _commands = commands;
        _time = time ?? TimeProvider.System;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger("Verge.Gateway");
        _meters = meters;
        _pods = pods;
    }

    public GatewayCounters Counters { get; } = new();

    /// <summary>The upstream queue (depth, bytes, oldest age and drops are its metrics); null before start.</summary>
    public DurableQueue? Queue => _queue;

    /// <summary>The rules running now; null before start.</summary>
    public Core.Rules.RuleEngine? Rules => _pipeline?.Engine;

    internal MqttServer? Server => _server;

    /// <summary>Whether the packet interceptors that hold acknowledgements until durable are registered (only once a rule runs).</summary>
    internal bool HoldsAcknowledgements => Volatile.Read(ref _holdingAcks) != 0;

    /// <summary>QoS 0 deliveries the fast path dropped (<see cref="DirectDelivery.Dropped"/>).</summary>
    internal long DirectDropped => _direct?.Dropped ?? 0;

    /// <summary>Connections closed for leaving too many QoS 1 and 2 messages unacknowledged (<see cref="DirectDelivery.WindowsClosed"/>).</summary>
    internal long DirectWindowsClosed => _direct?.WindowsClosed ?? 0;

    /// <summary>A client's unacknowledged QoS 1 and 2 packets when the fast path serves it, else -1 (<see cref="DirectDelivery.InFlight"/>).</summary>
    internal int DirectInFlight(string clientId) => _direct?.InFlight(clientId) ?? -1;

    /// <summary>Opens the queue, starts the broker, the pipeline, the drain loop and HTTP ingest. Throws if a listener cannot bind.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the gateway is already started");
        }

        try
        {
            await StartCoreAsync(ct);
        }
        catch
        {
            // A listener that cannot bind (or a queue that cannot open) leaves nothing running behind.
            await StopAsync(CancellationToken.None);
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken ct)
    {
        _queue = DurableQueue.Open(new DurableQueueOptions
        {
            Directory = _options.QueueDirectory,
            GatewayId = _options.GatewayId,
            MaxBytes = _options.QueueMaxBytes,
            MaxMessageBytes = Math.Max(_options.MaxMessageBytes, 64 * 1024),
        }, _time, _loggers.CreateLogger("Verge.Gateway.Upstream"), _meters);
        _directory = DeviceDirectory.Build(_state, _options.LocalUsers);

        _drain = new UpstreamDrain(_queue, _uplinks, _options, Counters, _time, _logger);
        _pipeline = new RulePipeline(_options, RepublishAsync, _queue, _drain.Notify, _httpClient, Counters, _time, _logger, _pods, _meters);
        _ruleFilters = _pipeline.SetRules(_state.ListDataRules());
        var plain = new SocketServerAdapter(GatewayOptions.ParseEndpoint(_options.MqttListen, nameof(GatewayOptions.MqttListen)));
        IMqttServerAdapter[] adapters = _options.MqttTlsListen is null ? [plain] : [plain, new MQTTnet.Server.Internal.Adapter.MqttTcpServerAdapter()];
        _direct = new DirectDelivery();
        _server = new MqttServerFactory().CreateMqttServer(BuildServerOptions(), adapters);
        _server.InterceptingClientEnqueueAsync += _direct.OnEnqueueAsync;
        _server.ClientUnsubscribedTopicAsync += _direct.OnUnsubscribedAsync;
        _server.ValidatingConnectionAsync += OnValidatingConnectionAsync;
        _server.InterceptingPublishAsync += OnInterceptingPublishAsync;
        _server.InterceptingSubscriptionAsync += OnInterceptingSubscriptionAsync;
        _server.ClientConnectedAsync += OnClientConnectedAsync;
        _server.ClientDisconnectedAsync += OnClientDisconnectedAsync;
        HoldAcknowledgementsIfRulesRun(_ruleFilters);
        await _server.StartAsync();

        _pipeline.Start();
        _drain.Start();
        if (_options.IngestListen is { } ingest)
        {
            _ingest = new HttpIngest(GatewayOptions.ParseEndpoint(ingest, nameof(GatewayOptions.IngestListen)), () => _directory, _options.MaxMessageBytes, AcceptIngestAsync, Counters, _logger);
            _ingest.Start();
        }

        _state.Changed += OnStateChanged;
        if (_commands is not null)
        {
            _commands.CommandReceived += OnCommand;
        }

        await PublishTwinsAsync(ct);
        Log.Started(_logger, _options.MqttListen, _options.MqttTlsListen ?? "off", _options.IngestListen ?? "off");
    }

    /// <summary>Stops taking connections and requests, finishes the pipeline and closes the queue.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _started, 2) != 1)
        {
            return;
        }

        _state.Changed -= OnStateChanged;
        if (_commands is not null)
        {
            _commands.CommandReceived -= OnCommand;
        }

        await _stop.CancelAsync();
        if (_ingest is not null)
        {
            await _ingest.DisposeAsync();
        }

        if (_server is not null)
        {
            if (_server.IsStarted)
            {
                await _server.StopAsync(new MqttServerStopOptions());
            }

            _server.Dispose();
        }

        if (_pipeline is not null)
        {
            await _pipeline.DisposeAsync();
        }

        if (_drain is not null)
        {
            await _drain.DisposeAsync();
        }

        if (_queue is not null)
        {
            await _queue.DisposeAsync();
        }

        _serverCertificate?.Dispose();
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _httpClient.Dispose();
        _twinLock.Dispose();
        _stop.Dispose();
    }

    private MqttServerOptions BuildServerOptions()
    {
        // The plain listener is Verge's SocketServerAdapter (MQTTnet's default endpoint stays off); TLS is MQTTnet's.
        var builder = new MqttServerFactory().CreateServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithPersistentSessions(true)
            .WithMaxPendingMessagesPerClient(_options.MaxInFlight)
            .WithPendingMessagesOverflowStrategy(MqttPendingMessagesOverflowStrategy.DropOldestQueuedMessage);

        if (_options.MqttTlsListen is { } tlsListen)
        {
            var tls = GatewayOptions.ParseEndpoint(tlsListen, nameof(GatewayOptions.MqttTlsListen));
            _serverCertificate = X509Certificate2.CreateFromPem(_options.TlsCertificatePem, _options.TlsKeyPem);
            builder = builder.WithEncryptedEndpoint().WithEncryptedEndpointPort(tls.Port).WithEncryptionCertificate(_serverCertificate);
            builder = tls.AddressFamily == AddressFamily.InterNetworkV6
                ? builder.WithEncryptedEndpointBoundIPV6Address(tls.Address).WithEncryptedEndpointBoundIPAddress(IPAddress.None)
                : builder.WithEncryptedEndpointBoundIPAddress(tls.Address).WithEncryptedEndpointBoundIPV6Address(IPAddress.None);
            if (!string.IsNullOrEmpty(_options.ClientCaPem))
            {
                _clientCa = [];
                _clientCa.ImportFromPem(_options.ClientCaPem);
                builder = builder.WithClientCertificate(ValidateClientCertificate, false);
            }
        }

        return builder.Build();
    }

    /// <summary>A client certificate must chain to the configured CA; a TLS client without one goes on to password login.</summary>
    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return true;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.AddRange(_clientCa!);
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }

    private Task OnValidatingConnectionAsync(ValidatingConnectionEventArgs e)
    {
        var clientId = ValidateConnection(e);
        if (e.ReasonCode == MqttConnectReasonCode.Success && clientId is not null)
        {
            _direct?.OnConnected(clientId, e);
        }

        return Task.CompletedTask;
    }

    /// <summary>Authenticates a CONNECT (sets <c>e.ReasonCode</c>); returns the client id, assigned if it was empty.</summary>
    private string? ValidateConnection(ValidatingConnectionEventArgs e)
    {
        if (!Broker.ClientIds.AssignIfEmpty(e, "auto-", out var clientId))
        {
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            return null;
        }

        var directory = _directory;
        var user = e.UserName;
        if (e.ClientCertificate is { } certificate)
        {
            var commonName = certificate.GetNameInfo(X509NameType.SimpleName, false);
            if (directory.FindDevice(commonName) is not null && (string.IsNullOrEmpty(user) || user == commonName))
            {
                _certificateClients[clientId] = commonName;
                e.ReasonCode = MqttConnectReasonCode.Success;
                return clientId;
            }
        }

        if (!string.IsNullOrEmpty(user))
        {
            var password = e.RawPassword ?? [];
            var ok = directory.IsLocalUser(user) ? directory.CheckLocalUser(user, password) : directory.CheckDevice(user, password);
            if (ok)
            {
                e.ReasonCode = MqttConnectReasonCode.Success;
                return clientId;
            }
        }

        Counters.AddAuthRefused();
        Log.ConnectionRefused(_logger, clientId, user ?? "");
        e.ReasonCode = MqttConnectReasonCode.NotAuthorized;
        return clientId;
    }

    /// <summary>Who a connected client is: a device (by name), a local user, or nobody known.</summary>
    private (string? Device, bool Local) Identify(string clientId, string? userName)
    {
        if (!string.IsNullOrEmpty(userName))
        {
            return _directory.IsLocalUser(userName) ? (null, true) : (userName, false);
        }

        return _certificateClients.TryGetValue(clientId, out var device) ? (device, false) : (null, false);
    }

    private async Task OnInterceptingPublishAsync(InterceptingPublishEventArgs e)
    {
        if (e.ClientId == InternalClientId)
        {
            return;
        }

        var message = e.ApplicationMessage;
        var topic = message.Topic;
        var (device, local) = Identify(e.ClientId, e.UserName);
        if (message.Payload.Length > _options.MaxMessageBytes)
        {
            Refuse(e, MqttPubAckReasonCode.QuotaExceeded);
            Counters.AddOversized();
            Log.Oversized(_logger, e.ClientId, message.Payload.Length);
            return;
        }

        if (!local && (device is null || !TopicAcl.CanPublish(device, topic)))
        {
            Refuse(e, MqttPubAckReasonCode.NotAuthorized);
            Counters.AddAclRefused();
            Log.PublishRefused(_logger, e.ClientId, topic);
            return;
        }

        await ThrottleAsync(e.ClientId, e.CancellationToken);
        Counters.AddPublished();
        if (device is not null)
        {
            ReportTwin(device, topic, message.Payload);
        }

        // Only messages some rule reads pay for a payload copy and the pipeline hand-off; the others have no upstream
        // output to wait for, so their acknowledgement leaves at once.
        if (!AnyRuleMatches(topic))
        {
            if (_acks.TryGetValue(e.ClientId, out var passing))
            {
                passing.CurrentPublishId = 0;
            }

            return;
        }

        var payload = message.Payload.ToArray();
        // QoS 1 and 2: the PUBACK (PUBREC) may leave only once the rules' upstream outputs for the message are fsynced
        // in the queue. MQTTnet queues the acknowledgement when this handler returns and its send loop passes it to
        // OnOutboundPacketAsync, which holds it until the message is durable; meanwhile this connection's next
        // messages are read and processed, so they share group commits. Without the packet id (no inbound packet seen),
        // wait here instead.
        var durable = _options.AcknowledgeWhenDurable && message.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce;
        if (!durable)
        {
            await _pipeline!.SubmitAsync(topic, payload, e.ClientId, message.Dup, durable: false, e.CancellationToken);
            return;
        }

        var stored = await _pipeline!.SubmitDurableAsync(topic, payload, e.ClientId, message.Dup, e.CancellationToken);
        if (_acks.TryGetValue(e.ClientId, out var acks) && acks.CurrentPublishId != 0)
        {
            acks.Durable[acks.CurrentPublishId] = stored;
            acks.CurrentPublishId = 0;
        }
        else if (!await stored.WaitAsync(e.CancellationToken))
        {
            // Not stored: close the connection instead of acknowledging (MQTT 3.1.1 has no negative PUBACK); the
            // device sends the message again.
            e.ProcessPublish = false;
            e.CloseConnection = true;
            Counters.AddNotDurable();
            Log.NotDurable(_logger, e.ClientId, topic);
        }
    }

    /// <summary>
    /// Registers the packet interceptors that hold a PUBACK (PUBREC) until its message is durable, once a rule runs.
    /// MQTTnet calls them for every packet in and out, fan-out deliveries included (an event-args allocation and an
    /// async call each), and only a message some rule reads has anything to wait for, so a gateway without rules does
    /// not pay for them. Once registered they stay: a PUBACK filed for a message must still meet its interceptor after
    /// the rule is gone. The outbound one goes first, so no acknowledgement is filed before it can be held. Until the
    /// inbound one runs for a connection, its publish interceptor finds no packet id and waits for durability itself.
    /// </summary>
    private void HoldAcknowledgementsIfRulesRun(TopicFilter[] ruleFilters)
    {
        if (!_options.AcknowledgeWhenDurable || _server is null || ruleFilters.Length == 0 || Interlocked.Exchange(ref _holdingAcks, 1) != 0)
        {
            return;
        }

        _server.InterceptingOutboundPacketAsync += OnOutboundPacketAsync;
        _server.InterceptingInboundPacketAsync += OnInboundPacketAsync;
    }

    /// <summary>Notes the packet id of an incoming QoS 1/2 PUBLISH, for the interceptor that handles it next on this connection.</summary>
    private Task OnInboundPacketAsync(InterceptingPacketEventArgs e)
    {
        if (e.Packet is MqttPublishPacket { QualityOfServiceLevel: not MqttQualityOfServiceLevel.AtMostOnce } publish)
        {
            _acks.GetOrAdd(e.ClientId, _ => new PendingAcks()).CurrentPublishId = publish.PacketIdentifier;
        }

        return Task.CompletedTask;
    }

    /// <summary>Holds a PUBACK or PUBREC until its message's upstream outputs are durable; others pass at once.</summary>
    private Task OnOutboundPacketAsync(InterceptingPacketEventArgs e)
    {
        var id = e.Packet switch
        {
            MqttPubAckPacket ack => ack.PacketIdentifier,
            MqttPubRecPacket rec => rec.PacketIdentifier,
            _ => (ushort)0,
        };
        if (id == 0 || !_acks.TryGetValue(e.ClientId, out var acks) || !acks.Durable.TryRemove(id, out var stored))
        {
            return Task.CompletedTask;
        }

        return stored.IsCompletedSuccessfully && stored.Result ? Task.CompletedTask : HoldAsync(e, stored);
    }

    private async Task HoldAsync(InterceptingPacketEventArgs e, Task<bool> stored)
    {
        bool durable;
        try
        {
            durable = await stored.WaitAsync(e.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            durable = false;
        }

        if (!durable)
        {
            // Not stored: no acknowledgement, and the connection is closed so the device sends the message again.
            e.ProcessPacket = false;
            Counters.AddNotDurable();
            Log.NotDurable(_logger, e.ClientId, "(packet " + e.Packet.GetType().Name + ")");
            _ = DisconnectAsync(e.ClientId);
        }
    }

    private async Task DisconnectAsync(string clientId)
    {
        try
        {
            await _server!.DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.UnspecifiedError });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.DisconnectFailed(_logger, clientId, e);
        }
    }

    private bool AnyRuleMatches(string topic)
    {
        foreach (var filter in _ruleFilters)
        {
            if (filter.Matches(topic))
            {
                return true;
            }
        }

        return false;
    }

    private static void Refuse(InterceptingPublishEventArgs e, MqttPubAckReasonCode code)
    {
        e.ProcessPublish = false;
        e.Response.ReasonCode = code;
    }

    /// <summary>Per-client token bucket: a client over its rate waits (its own connection only; others go on).</summary>
    private async Task ThrottleAsync(string key, CancellationToken ct)
    {
        var bucket = _buckets.GetOrAdd(key, static (_, self) => new TokenBucket(self._options.MessagesPerSecond, self._options.MessagesBurst, self._time), this);
        var wait = bucket.Take();
        if (wait > TimeSpan.Zero)
        {
            Counters.AddRateLimited();
            await Task.Delay(wait, _time, ct);
        }
    }

    /// <summary>
    /// A reported twin goes to the reporter at once; otherwise a publish only refreshes the device's last-seen time,
    /// reported at most once per <see cref="LastSeenInterval"/> per device (the reporter coalesces anyway, and a report
    /// per message would cost an allocation and a dictionary update on every publish).
    /// </summary>
    private void ReportTwin(string device, string topic, System.Buffers.ReadOnlySequence<byte> payload)
    {
        if (_reporter is null)
        {
            return;
        }

        var reported = topic.Length == 22 + device.Length && topic.EndsWith("/twin/reported", StringComparison.Ordinal) && IsJsonObject(payload);
        var now = _time.GetTimestamp();
        if (!reported && _lastSeenReported.TryGetValue(device, out var last) && _time.GetElapsedTime(last, now) < LastSeenInterval)
        {
            return;
        }

        if (_directory.FindDevice(device) is not { } entry)
        {
            return;
        }

        _lastSeenReported[device] = now;
        _reporter.Report(new DeviceReport(entry.Namespace, entry.Name, true, _time.GetUtcNow(), reported ? new ReadOnlyMemory<byte>(payload.ToArray()) : null));
    }

    /// <summary>How often a device's publishes refresh its last-seen time, at most.</summary>
    internal static readonly TimeSpan LastSeenInterval = TimeSpan.FromSeconds(1);

    private static bool IsJsonObject(System.Buffers.ReadOnlySequence<byte> payload)
    {
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private Task OnInterceptingSubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        var (device, local) = Identify(e.ClientId, e.UserName);
        if (!local && e.ClientId != InternalClientId && (device is null || !TopicAcl.CanSubscribe(device, e.TopicFilter.Topic)))
        {
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            Counters.AddAclRefused();
            Log.SubscribeRefused(_logger, e.ClientId, e.TopicFilter.Topic);
            return Task.CompletedTask;
        }

        // Before MQTTnet makes the subscription, so no message meets it before the fast path knows its QoS.
        _direct?.OnSubscribing(e.ClientId, e.TopicFilter.Topic, e.TopicFilter.QualityOfServiceLevel);
        return Task.CompletedTask;
    }

    private Task OnClientConnectedAsync(ClientConnectedEventArgs e)
    {
        var (device, _) = Identify(e.ClientId, e.UserName);
        if (device is not null && _reporter is not null && _directory.FindDevice(device) is { } entry)
        {
            _reporter.Report(new DeviceReport(entry.Namespace, entry.Name, true, _time.GetUtcNow(), null));
        }

        return Task.CompletedTask;
    }

    private Task OnClientDisconnectedAsync(ClientDisconnectedEventArgs e)
    {
        var (device, _) = Identify(e.ClientId, e.UserName);
        if (e.DisconnectType != MqttClientDisconnectType.Takeover)
        {
            _buckets.TryRemove(e.ClientId, out _);
            _acks.TryRemove(e.ClientId, out _);
            if (device is not null)
            {
                _lastSeenReported.TryRemove(device, out _);
            }

            _certificateClients.TryRemove(e.ClientId, out _);
            if (device is not null && _reporter is not null && _directory.FindDevice(device) is { } entry)
            {
                _reporter.Report(new DeviceReport(entry.Namespace, entry.Name, false, _time.GetUtcNow(), null));
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>HTTP ingest: the same path as an MQTT publish on devices/{name}/telemetry (limits, rules, local subscribers).</summary>
    private async Task<bool> AcceptIngestAsync(string device, byte[] payload, CancellationToken ct)
    {
        var topic = $"devices/{device}/telemetry";
        await ThrottleAsync("$http/" + device, ct);
        Counters.AddPublished();
        ReportTwin(device, topic, new System.Buffers.ReadOnlySequence<byte>(payload));
        await PublishAsync(topic, 1, payload, retain: false, ct);
        if (!AnyRuleMatches(topic))
        {
            return true;
        }

        if (!await _pipeline!.SubmitAsync(topic, payload, device, duplicate: false, durable: _options.AcknowledgeWhenDurable, ct))
        {
            Counters.AddNotDurable();
            return false;
        }

        return true;
    }

    private Task RepublishAsync(string topic, int qos, byte[] payload) => PublishAsync(topic, qos, payload, retain: false, _stop.Token);

    private async Task PublishAsync(string topic, int qos, ReadOnlyMemory<byte> payload, bool retain, CancellationToken ct)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.ToArray())
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)Math.Clamp(qos, 0, 2))
            .WithRetainFlag(retain)
            .Build();
        await _server!.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = InternalClientId }, ct);
    }

    private void OnStateChanged()
    {
        if (_started != 1)
        {
            return;
        }

        _directory = DeviceDirectory.Build(_state, _options.LocalUsers);
        if (_pipeline is { } pipeline)
        {
            // The pipeline's filters gate messages only once the interceptors that hold acknowledgements are in place.
            var filters = pipeline.SetRules(_state.ListDataRules());
            HoldAcknowledgementsIfRulesRun(filters);
            _ruleFilters = filters;
        }

        _ = PublishTwinsLoggedAsync();
    }

    private async Task PublishTwinsLoggedAsync()
    {
        try
        {
            await PublishTwinsAsync(_stop.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.TwinFailed(_logger, e);
        }
    }

    /// <summary>Publishes each device's spec.desired, retained, on devices/{name}/twin/desired when it changed; clears it for devices gone.</summary>
    private async Task PublishTwinsAsync(CancellationToken ct)
    {
        await _twinLock.WaitAsync(ct);
        try
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var device in _directory.Devices)
            {
                if (device.DesiredJson is not { } desired)
                {
                    continue;
                }

                seen.Add(device.Name);
                if (_publishedDesired.TryGetValue(device.Name, out var previous) && previous.AsSpan().SequenceEqual(desired))
                {
                    continue;
                }

                await PublishAsync($"devices/{device.Name}/twin/desired", 1, desired, retain: true, ct);
                _publishedDesired[device.Name] = desired;
            }

            foreach (var gone in _publishedDesired.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                await PublishAsync($"devices/{gone}/twin/desired", 1, ReadOnlyMemory<byte>.Empty, retain: true, ct);
                _publishedDesired.Remove(gone);
            }
        }
        finally
        {
            _twinLock.Release();
        }
    }

    private void OnCommand(DeviceCommand command)
    {
        if (TopicAcl.DeviceOf(command.Topic) != command.Device || !command.Topic.StartsWith($"devices/{command.Device}/commands/", StringComparison.Ordinal) ||
            _directory.FindDevice(command.Device) is null)
        {
            Log.CommandRefused(_logger, command.Device, command.Topic);
            return;
        }

        _ = DeliverCommandAsync(command);
    }

    private async Task DeliverCommandAsync(DeviceCommand command)
    {
        try
        {
            await PublishAsync(command.Topic, 1, command.Payload, retain: false, _stop.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.CommandFailed(_logger, command.Device, e);
        }
    }

    /// <summary>
    /// Per client: the packet id of the PUBLISH being processed (set by the inbound interceptor, taken by the publish
    /// interceptor, both on the connection's receive loop) and the durability of each message whose PUBACK or PUBREC
    /// has not left yet (read by the send loop).
    /// </summary>
    private sealed class PendingAcks
    {
        public ushort CurrentPublishId { get; set; }

        public ConcurrentDictionary<ushort, Task<bool>> Durable { get; } = new();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Gateway started: MQTT on {Mqtt}, MQTT/TLS {Tls}, HTTP ingest {Ingest}")]
        public static partial void Started(ILogger logger, string mqtt, string tls, string ingest);

        [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Gateway stopped")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 6203, Level = LogLevel.Warning, Message = "Connection refused: client {ClientId}, user '{User}' is unknown or gave wrong credentials")]
        public static partial void ConnectionRefused(ILogger logger, string clientId, string user);

        [LoggerMessage(EventId = 6204, Level = LogLevel.Warning, Message = "Publish refused by ACL: client {ClientId}, topic {Topic}")]
        public static partial void PublishRefused(ILogger logger, string clientId, string topic);

        [LoggerMessage(EventId = 6205, Level = LogLevel.Warning, Message = "Subscription refused by ACL: client {ClientId}, filter {Filter}")]
        public static partial void SubscribeRefused(ILogger logger, string clientId, string filter);

        [LoggerMessage(EventId = 6206, Level = LogLevel.Warning, Message = "Oversized publish refused: client {ClientId}, {Bytes} bytes")]
        public static partial void Oversized(ILogger logger, string clientId, long bytes);

        [LoggerMessage(EventId = 6207, Level = LogLevel.Warning, Message = "Publishing device twins failed")]
        public static partial void TwinFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 6208, Level = LogLevel.Warning, Message = "Command for device {Device} refused: the device is not served here or topic {Topic} is not under its commands/")]
        public static partial void CommandRefused(ILogger logger, string device, string topic);

        [LoggerMessage(EventId = 6209, Level = LogLevel.Warning, Message = "Delivering a command to device {Device} failed")]
        public static partial void CommandFailed(ILogger logger, string device, Exception exception);

        [LoggerMessage(EventId = 6210, Level = LogLevel.Warning, Message = "Publish from client {ClientId} on {Topic} not acknowledged: its upstream outputs could not be stored; the connection is closed so the client sends it again")]
        public static partial void NotDurable(ILogger logger, string clientId, string topic);

        [LoggerMessage(EventId = 6211, Level = LogLevel.Warning, Message = "Closing the connection of client {ClientId} failed")]
        public static partial void DisconnectFailed(ILogger logger, string clientId, Exception exception);
    }
}
