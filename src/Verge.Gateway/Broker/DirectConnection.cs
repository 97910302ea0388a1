using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Verge.Gateway.Broker;

/// <summary>
/// One plain TCP connection as MQTTnet sees it: MQTTnet's own <see cref="MqttChannelAdapter"/> over a
/// <see cref="SocketChannel"/> does all the packet work, and this adapter around it adds what the fast paths of
/// <see cref="DirectDelivery"/> need. Once a connection qualifies for the QoS 1 fast path (<see cref="EnableDirectAcks"/>),
/// every QoS 1 and 2 PUBLISH sent on it takes its packet identifier from one <see cref="PacketIdWindow"/>, MQTTnet's
/// too (the identifier MQTTnet chose is replaced before the packet is encoded; its session finds the packet again by
/// the new one), and a PUBACK for a fast-path identifier ends here instead of going on to MQTTnet.
/// </summary>
internal sealed class DirectConnection : IMqttChannelAdapter
{
    /// <summary>
    /// MQTTnet's keep-alive check counts the packets its receive loop sees; a client busy acknowledging sends nothing
    /// else. So at least one acknowledgement this often goes on to MQTTnet, which finds no packet of its own for it.
    /// </summary>
    private const long PassAcknowledgementMs = 500;

    private readonly MqttChannelAdapter _inner;
    private readonly HashSet<string> _qos0Filters = new(StringComparer.Ordinal);
    private volatile PacketIdWindow? _ids;
    private volatile int _qos0FilterCount;
    private DirectDelivery? _delivery;
    private readonly Lock _publishes = new();
    private HashSet<ushort>? _deliveredDirectly;
    private bool _tracksPublishes;
    private ushort _receivedPublishId;
    private long _lastPassedMs;

    public DirectConnection(SocketChannel channel, MqttChannelAdapter inner)
    {
        Channel = channel;
        _inner = inner;
    }

    public SocketChannel Channel { get; }

    /// <summary>The identifiers in flight, once the QoS 1 fast path serves this connection.</summary>
    public PacketIdWindow? Ids => _ids;

    /// <summary>True when a live QoS 1 message for this client can take the fast path: it delivers at QoS 1.</summary>
    public bool TakesQos1 => _ids is not null && _qos0FilterCount == 0;

    public long BytesSent => _inner.BytesSent;

    public long BytesReceived => _inner.BytesReceived;

    public X509Certificate2? ClientCertificate => _inner.ClientCertificate;

    public EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    public EndPoint? LocalEndPoint => _inner.LocalEndPoint;

    public bool IsSecureConnection => _inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => _inner.PacketFormatterAdapter;

    /// <summary>
    /// Starts the QoS 1 fast path's identifier bookkeeping. Called when the CONNECT is accepted, before MQTTnet sends
    /// the CONNACK, so no QoS 1 or 2 packet has gone out under MQTTnet's own identifiers. Packets of MQTTnet's that
    /// find the window full are not sent, and counted as dropped by <paramref name="delivery"/>.
    /// </summary>
    public void EnableDirectAcks(DirectDelivery delivery)
    {
        _delivery = delivery;
        _ids ??= new PacketIdWindow();
    }

    /// <summary>
    /// For an MQTT 5 publisher: from now on, note the identifier of each QoS 1 PUBLISH received, so that
    /// <see cref="DeliveredDirectly"/> can mark it. MQTTnet does not count the subscribers the fast path served and
    /// would answer "no matching subscribers" when those were all there were.
    /// </summary>
    public void TrackPublishes() => _tracksPublishes = true;

    /// <summary>
    /// The QoS 1 message this client is publishing reached a subscriber on the fast path: its PUBACK says Success.
    /// Called from MQTTnet's dispatch, which runs on this client's receive loop between reading the PUBLISH and reading
    /// the next packet, so the identifier noted last is this message's.
    /// </summary>
    public void DeliveredDirectly()
    {
        lock (_publishes)
        {
            (_deliveredDirectly ??= []).Add(_receivedPublishId);
        }
    }

    /// <summary>
    /// A subscription about to be made (or replaced) with the granted QoS. A QoS 0 subscription could be the one a QoS 1
    /// message matches, and then it must be delivered at QoS 0: while the client has any, QoS 1 takes MQTTnet's path,
    /// which works out the QoS per message.
    /// </summary>
    public void Subscribing(string filter, MqttQualityOfServiceLevel qos)
    {
        lock (_qos0Filters)
        {
            _ = qos == MqttQualityOfServiceLevel.AtMostOnce ? _qos0Filters.Add(filter) : _qos0Filters.Remove(filter);
            _qos0FilterCount = _qos0Filters.Count;
        }
    }

    public void Unsubscribed(string filter)
    {
        lock (_qos0Filters)
        {
            _qos0Filters.Remove(filter);
            _qos0FilterCount = _qos0Filters.Count;
        }
    }

    /// <summary>
    /// Sends one encoded QoS 1 PUBLISH under a fresh packet identifier, written at <paramref name="packetIdOffset"/>.
    /// False (nothing sent) when the window is full, the connection failed or too much is waiting to be sent.
    /// </summary>
    public bool TryWritePublish(ReadOnlySpan<byte> packet, int packetIdOffset)
    {
        if (_ids is not { } ids || ids.Take(PacketOwner.Direct) is var id && id == 0)
        {
            return false;
        }

        if (Channel.TryWriteDirect(packet, packetIdOffset, id))
        {
            return true;
        }

        ids.Release(id);
        return false;
    }

    public Task ConnectAsync(CancellationToken cancellationToken) => _inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => _inner.DisconnectAsync(cancellationToken);

    public void ResetStatistics() => _inner.ResetStatistics();

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        if (_tracksPublishes && packet is MqttPubAckPacket ack)
        {
            lock (_publishes)
            {
                if (_deliveredDirectly?.Remove(ack.PacketIdentifier) == true && ack.ReasonCode == MqttPubAckReasonCode.NoMatchingSubscribers)
                {
                    ack.ReasonCode = MqttPubAckReasonCode.Success;
                }
            }
        }

        if (_ids is { } ids && packet is MqttPublishPacket { QualityOfServiceLevel: not MqttQualityOfServiceLevel.AtMostOnce } publish)
        {
            var id = ids.Take(PacketOwner.Server);
            if (id == 0)
            {
                _delivery?.CountDropped();
                return Task.CompletedTask;
            }

            publish.PacketIdentifier = id;
        }

        return _inner.SendPacketAsync(packet, cancellationToken);
    }

    public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var packet = await _inner.ReceivePacketAsync(cancellationToken);
            var now = Environment.TickCount64;
            if (_tracksPublishes && packet is MqttPublishPacket { QualityOfServiceLevel: MqttQualityOfServiceLevel.AtLeastOnce } publish)
            {
                _receivedPublishId = publish.PacketIdentifier;
            }

            if (_ids is { } ids)
            {
                if (packet is MqttPubAckPacket ack)
                {
                    // A fast-path acknowledgement passed on now and then finds nothing in MQTTnet's session, or at
                    // worst an unsent packet of MQTTnet's still under its original identifier, whose record only
                    // feeds MQTTnet's acknowledgement event and the redelivery of persistent sessions, neither used here.
                    if (ids.Release(ack.PacketIdentifier) == PacketOwner.Direct && now - _lastPassedMs < PassAcknowledgementMs)
                    {
                        continue;
                    }
                }
                else if (packet is MqttPubCompPacket complete)
                {
                    ids.Release(complete.PacketIdentifier);
                }
            }

            _lastPassedMs = now;
            return packet;
        }
    }

    public void Dispose() => _inner.Dispose();
}
