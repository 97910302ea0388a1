using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Verge.Gateway.Bridge;

/// <summary>Options of the <see cref="MqttBridgeUplink"/>.</summary>
internal sealed record MqttBridgeOptions
{
    /// <summary>The external broker's host name or address.</summary>
    public string Host { get; init; } = "";

    public int Port { get; init; } = 1883;

    /// <summary>The bridge's client id: fixed, so the broker keeps its session across reconnects.</summary>
    public string ClientId { get; init; } = "verge-bridge";

    public string? UserName { get; init; }

    public string? Password { get; init; }

    /// <summary>Prepended to every upstream topic ("site1/" gives site1/sites/s1/temp-avg); empty keeps topics as they are.</summary>
    public string TopicPrefix { get; init; } = "";

    /// <summary>Wait after a failed connection before the bridge reports itself available again.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Commands for devices are taken from this filter on the external broker; null takes none.</summary>
    public string? CommandFilter { get; init; } = "devices/+/commands/#";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            throw new ArgumentException("Host is required", nameof(Host));
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "must be from 1 to 65535");
        }

        if (string.IsNullOrWhiteSpace(ClientId))
        {
            throw new ArgumentException("ClientId is required", nameof(ClientId));
        }
    }
}

/// <summary>
/// An upstream destination that publishes to an external MQTT broker (MQTT 5.0, QoS 1). The payload goes out
/// unchanged on the message's topic (with <see cref="MqttBridgeOptions.TopicPrefix"/>); the message id travels as the
/// MQTT 5 user property <c>verge-message-id</c>, so receivers drop duplicates without parsing payloads. Messages of a
/// batch are published one after another, each awaited until the broker's PUBACK, which keeps them in order (and
/// keeps one message in flight, well under mosquitto's default receive maximum of 20).
/// <para>
/// It is also a downlink: once connected it subscribes to <see cref="MqttBridgeOptions.CommandFilter"/> and raises
/// every message there as a <see cref="DeviceCommand"/> (the gateway delivers those for devices it serves).
/// </para>
/// </summary>
internal sealed partial class MqttBridgeUplink : IUplink, IDeviceCommandSource, IAsyncDisposable
{
    public const string MessageIdProperty = "verge-message-id";

    private readonly MqttBridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private long _failedAtTicks;

    public MqttBridgeUplink(MqttBridgeOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    public event Action<DeviceCommand>? CommandReceived;

    public string Name => $"mqtt://{_options.Host}:{_options.Port}";

    public bool Available =>
        _client.IsConnected || _time.GetUtcNow().UtcTicks - Interlocked.Read(ref _failedAtTicks) >= _options.RetryDelay.Ticks;

    /// <summary>Connects now (and subscribes to commands) instead of at the first upstream batch.</summary>
    public async Task ConnectAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            await EnsureConnectedAsync(ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task SendAsync(IReadOnlyList<UplinkMessage> batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _lock.WaitAsync(ct);
        try
        {
            await EnsureConnectedAsync(ct);
            foreach (var message in batch)
            {
                var outgoing = new MqttApplicationMessageBuilder()
                    .WithTopic(_options.TopicPrefix + message.Topic)
                    .WithPayload(message.Payload.ToArray())
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithUserProperty(MessageIdProperty, System.Text.Encoding.UTF8.GetBytes(message.MessageId).AsMemory())
                    .Build();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.Timeout);
                var result = await _client.PublishAsync(outgoing, timeout.Token);
                if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
                {
                    throw new InvalidOperationException($"{Name} refused message {message.MessageId}: {result.ReasonCode} {result.ReasonString}");
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _failedAtTicks, _time.GetUtcNow().UtcTicks);
            Log.SendFailed(_logger, Name, e.Message);
            throw;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        _client.Dispose();
        _lock.Dispose();
    }

    private async Task EnsureConnectedAsync(CancellationToken ct)
    {
        if (_client.IsConnected)
        {
            return;
        }

        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(3600)
            .WithTimeout(_options.Timeout);
        if (_options.UserName is not null)
        {
            builder = builder.WithCredentials(_options.UserName, _options.Password ?? "");
        }

        var result = await _client.ConnectAsync(builder.Build(), ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"{Name} refused the bridge connection: {result.ResultCode} {result.ReasonString}");
        }

        if (_options.CommandFilter is { } filter)
        {
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
        }

        Log.Connected(_logger, Name);
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        if (Auth.TopicAcl.DeviceOf(topic) is { } device)
        {
            CommandReceived?.Invoke(new DeviceCommand("", device, topic, e.ApplicationMessage.Payload.ToArray()));
        }

        return Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6331, Level = LogLevel.Information, Message = "MQTT bridge connected to {Broker}")]
        public static partial void Connected(ILogger logger, string broker);

        [LoggerMessage(EventId = 6332, Level = LogLevel.Warning, Message = "MQTT bridge to {Broker} failed: {Reason}")]
        public static partial void SendFailed(ILogger logger, string broker, string reason);
    }
}
