using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Verge.Gateway.Broker;

/// <summary>
/// The fan-out fast path for QoS 0. MQTTnet delivers a message to each subscriber by building a publish packet for
/// it, queueing it in the subscriber's session and waking that client's send loop, which encodes and writes it: per
/// delivery an allocation of several objects, a thread hop and an encoding. For the common case (a live QoS 0 message,
/// not retained, to an MQTT 3.1.x subscriber on the plain listener) this path encodes the PUBLISH once per message
/// and copies it straight into each subscriber's <see cref="SocketChannel"/>, from MQTTnet's own
/// InterceptingClientEnqueue event (which runs after MQTTnet matched the subscription, no-local and all). Everything
/// else (QoS 1 and 2, retained deliveries, MQTT 5 subscribers with their properties, TLS clients) stays on MQTTnet's
/// path.
/// </summary>
internal sealed class DirectDelivery
{
    [ThreadStatic]
    private static MqttApplicationMessage? _threadMessage;

    [ThreadStatic]
    private static byte[]? _threadPacket;

    [ThreadStatic]
    private static int _threadLength;

    private readonly SocketServerAdapter _listener;
    private readonly ConcurrentDictionary<string, SocketChannel> _clients = new(StringComparer.Ordinal);
    private long _dropped;

    public DirectDelivery(SocketServerAdapter listener) => _listener = listener;

    /// <summary>QoS 0 deliveries dropped because the subscriber had too much waiting or its connection failed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>After a successful CONNECT: a 3.1.x client on the plain listener gets direct QoS 0 deliveries.</summary>
    public void OnConnected(string clientId, ValidatingConnectionEventArgs e)
    {
        if (e.ProtocolVersion is MqttProtocolVersion.V311 or MqttProtocolVersion.V310 && _listener.ChannelOf(e.ChannelAdapter) is { } channel)
        {
            _clients[clientId] = channel;
        }
        else
        {
            _clients.TryRemove(clientId, out _);
        }
    }

    public void OnDisconnected(string clientId) => _clients.TryRemove(clientId, out _);

    public Task OnEnqueueAsync(InterceptingClientApplicationMessageEnqueueEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (message.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce || message.Retain || !_clients.TryGetValue(e.ReceiverClientId, out var channel))
        {
            return Task.CompletedTask;
        }

        e.AcceptEnqueue = false;
        if (!channel.TryWriteDirect(Encode(message)))
        {
            Interlocked.Increment(ref _dropped);
        }

        return Task.CompletedTask;
    }

    /// <summary>PUBLISH, QoS 0, no DUP, no RETAIN (3.1.1 clears RETAIN on live forwarding), encoded once per message and thread.</summary>
    internal static ReadOnlySpan<byte> Encode(MqttApplicationMessage message)
    {
        if (ReferenceEquals(_threadMessage, message))
        {
            return _threadPacket.AsSpan(0, _threadLength);
        }

        var topicBytes = Encoding.UTF8.GetByteCount(message.Topic);
        var payload = message.Payload;
        var remaining = checked(2 + topicBytes + (int)payload.Length);
        var total = 1 + VariableByteIntegerSize(remaining) + remaining;
        var packet = _threadPacket is { } existing && existing.Length >= total && existing.Length <= 4 * Math.Max(total, 4096) ? existing : new byte[Math.Max(total, 256)];
        var pos = 0;
        packet[pos++] = 0x30;
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
        payload.CopyTo(packet.AsSpan(pos));
        _threadPacket = packet;
        _threadLength = total;
        _threadMessage = message;
        return packet.AsSpan(0, total);
    }

    private static int VariableByteIntegerSize(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}
