using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Verge.Gateway.Broker;

/// <summary>
/// The fan-out fast path for QoS 0 and QoS 1. MQTTnet delivers a message to each subscriber by building a publish
/// packet for it, queueing it in the subscriber's session and waking that client's send loop, which encodes and writes
/// it; for QoS 1 the session also keeps the packet until the PUBACK, which MQTTnet's receive loop handles after a
/// thread hop. Per delivery that is an allocation of several objects, two thread hops and an encoding. For the common
/// case (a live message, not retained, to an MQTT 3.1.x subscriber on the plain listener) this path encodes the PUBLISH
/// once per message and copies it straight into each subscriber's <see cref="SocketChannel"/>, from MQTTnet's own
/// InterceptingClientEnqueue event (which runs after MQTTnet matched the subscription, no-local and all). QoS 1 takes
/// it only for a clean session (nothing to redeliver after the connection ends) whose subscriptions are all QoS 1 or
/// 2 (so the message goes out at QoS 1), with its packet identifier from the connection's
/// <see cref="PacketIdWindow"/> and its PUBACK ending in <see cref="DirectConnection"/>. Everything else (QoS 2,
/// retained deliveries, persistent sessions' QoS 1, MQTT 5 subscribers with their properties, TLS clients) stays on
/// MQTTnet's path.
/// </summary>
internal sealed class DirectDelivery
{
    [ThreadStatic]
    private static MqttApplicationMessage? _threadMessage;

    [ThreadStatic]
    private static byte[]? _threadPacket;

    [ThreadStatic]
    private static int _threadLength;

    [ThreadStatic]
    private static int _threadIdOffset;

    private readonly ConcurrentDictionary<string, DirectConnection> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DirectConnection> _v5Publishers = new(StringComparer.Ordinal);
    private long _dropped;
    private long _windowClosed;

    /// <summary>QoS 0 deliveries dropped because the subscriber had too much waiting to be sent, or a failed connection.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Connections closed because their client left <see cref="PacketIdWindow.MaxInFlight"/> messages unacknowledged.</summary>
    public long WindowsClosed => Interlocked.Read(ref _windowClosed);

    /// <summary>
    /// After a successful CONNECT on the plain listener: a 3.1.x client gets direct deliveries, an MQTT 5 publisher's
    /// PUBACKs are watched, both from when MQTTnet has sent the CONNACK (<see cref="Register"/>).
    /// </summary>
    public void OnConnected(string clientId, ValidatingConnectionEventArgs e)
    {
        if (e.ChannelAdapter is DirectConnection connection)
        {
            var v3 = e.ProtocolVersion is MqttProtocolVersion.V311 or MqttProtocolVersion.V310;
            connection.Accepting(this, clientId, v3, e.CleanSession == true, e.KeepAlivePeriod ?? 0);
        }
    }

    /// <summary>The CONNACK went out on <paramref name="connection"/>: it is now the client's connection.</summary>
    internal void Register(string clientId, DirectConnection connection, bool v3)
    {
        if (v3)
        {
            _clients[clientId] = connection;
            _v5Publishers.TryRemove(clientId, out _);
        }
        else
        {
            _v5Publishers[clientId] = connection;
            _clients.TryRemove(clientId, out _);
        }
    }

    /// <summary>The connection ended: forgotten, unless a newer connection with the same client id took its place.</summary>
    internal void Unregister(string clientId, DirectConnection connection)
    {
        _clients.TryRemove(KeyValuePair.Create(clientId, connection));
        _v5Publishers.TryRemove(KeyValuePair.Create(clientId, connection));
    }

    internal void CountDropped() => Interlocked.Increment(ref _dropped);

    internal void CountWindowClosed() => Interlocked.Increment(ref _windowClosed);

    /// <summary>A client's QoS 1 and 2 packets not yet acknowledged, when the fast path serves it (for tests); else -1.</summary>
    internal int InFlight(string clientId) => _clients.TryGetValue(clientId, out var connection) && connection.Ids is { } ids ? ids.InFlight : -1;

    /// <summary>A subscription the broker is about to make for a client (after the ACL let it through).</summary>
    public void OnSubscribing(string clientId, string filter, MqttQualityOfServiceLevel qos)
    {
        if (_clients.TryGetValue(clientId, out var connection))
        {
            connection.Subscribing(filter, qos);
        }
    }

    public Task OnUnsubscribedAsync(ClientUnsubscribedTopicEventArgs e)
    {
        if (_clients.TryGetValue(e.ClientId, out var connection))
        {
            connection.Unsubscribed(e.TopicFilter);
        }

        return Task.CompletedTask;
    }

    public Task OnEnqueueAsync(InterceptingClientApplicationMessageEnqueueEventArgs e)
    {
        var message = e.ApplicationMessage;
        // MQTTnet 5.2 raises this event for the retained messages a new subscription gets too, which must keep their
        // RETAIN flag, and the event does not tell them from live messages the publisher marked RETAIN: both take
        // MQTTnet's path (see docs/gateway.md, "Performance", on the order this can change).
        if (message.Retain || !_clients.TryGetValue(e.ReceiverClientId, out var connection))
        {
            return Task.CompletedTask;
        }

        switch (message.QualityOfServiceLevel)
        {
            case MqttQualityOfServiceLevel.AtMostOnce:
                e.AcceptEnqueue = false;
                if (!connection.Channel.TryWriteDirect(Encode(message, out _)))
                {
                    CountDropped();
                }

                break;
            case MqttQualityOfServiceLevel.AtLeastOnce when connection.TakesQos1:
                var packet = Encode(message, out var packetIdOffset);
                switch (connection.TryWritePublish(packet, packetIdOffset))
                {
                    case DirectWrite.Written:
                        e.AcceptEnqueue = false;
                        if (!_v5Publishers.IsEmpty && _v5Publishers.TryGetValue(e.SenderClientId, out var publisher))
                        {
                            publisher.DeliveredDirectly();
                        }

                        break;
                    case DirectWrite.Full:
                        // MQTTnet's queue (bounded by MaxInFlight messages) takes this one and every later one.
                        connection.KeepQos1OnServerPath();
                        break;
                    case DirectWrite.WindowFull:
                        e.AcceptEnqueue = false;
                        connection.CloseForUnacknowledged();
                        break;
                }

                break;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// PUBLISH at the message's QoS (0 or 1), no DUP, no RETAIN (3.1.1 clears RETAIN on live forwarding), encoded once
    /// per message and thread. For QoS 1 the packet identifier is left zero at <paramref name="packetIdOffset"/>, for
    /// each subscriber's own; for QoS 0 the offset is -1.
    /// </summary>
    internal static ReadOnlySpan<byte> Encode(MqttApplicationMessage message, out int packetIdOffset)
    {
        if (ReferenceEquals(_threadMessage, message))
        {
            packetIdOffset = _threadIdOffset;
            return _threadPacket.AsSpan(0, _threadLength);
        }

        var qos1 = message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtLeastOnce;
        var topicBytes = Encoding.UTF8.GetByteCount(message.Topic);
        var payload = message.Payload;
        var remaining = checked(2 + topicBytes + (qos1 ? 2 : 0) + (int)payload.Length);
        var total = 1 + VariableByteIntegerSize(remaining) + remaining;
        var packet = _threadPacket is { } existing && existing.Length >= total && existing.Length <= 4 * Math.Max(total, 4096) ? existing : new byte[Math.Max(total, 256)];
        var pos = 0;
        packet[pos++] = qos1 ? (byte)0x32 : (byte)0x30;
        var value = remaining;
        do
        {
            var digit = (byte)(value % 128);
            value /= 128;
            packet[pos++] = value > 0 ? (byte)(digit | 0x80) : digit;
        }
        while (value > 0);

        packet[pos++] = (byte)(topicBytes >> 8);
        packet[pos++] = (byte)topicBytes;
        pos += Encoding.UTF8.GetBytes(message.Topic, packet.AsSpan(pos));
        packetIdOffset = -1;
        if (qos1)
        {
            packetIdOffset = pos;
            packet[pos++] = 0;
            packet[pos++] = 0;
        }

        payload.CopyTo(packet.AsSpan(pos));
        _threadPacket = packet;
        _threadLength = total;
        _threadIdOffset = packetIdOffset;
        _threadMessage = message;
        return packet.AsSpan(0, total);
    }

    private static int VariableByteIntegerSize(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}
