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
/// <see cref="DirectDelivery"/> need. Once a connection qualifies for the QoS 1 fast path (<see cref="Accepting"/>),
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
    private string? _clientId;
    private bool _v3;
    private readonly Lock _publishes = new();
    private HashSet<ushort>? _deliveredDirectly;
    private bool _tracksPublishes;
    private ushort _receivedPublishId;
    private long _lastPassedMs;
    private long _passEveryMs = PassAcknowledgementMs;
    private volatile bool _qos1OnServerPath;

    public DirectConnection(SocketChannel channel, MqttChannelAdapter inner)
    {
        Channel = channel;
        _inner = inner;
    }

    public SocketChannel Channel { get; }

    /// <summary>The identifiers in flight, once the QoS 1 fast path serves this connection.</summary>
    public PacketIdWindow? Ids => _ids;

    /// <summary>
    /// True when a live QoS 1 message for this client can take the fast path: it delivers at QoS 1, and no QoS 1
    /// message of this connection has gone to MQTTnet's queue (<see cref="KeepQos1OnServerPath"/>).
    /// </summary>
    public bool TakesQos1 => _ids is not null && _qos0FilterCount == 0 && !_qos1OnServerPath;

    public long BytesSent => _inner.BytesSent;

    public long BytesReceived => _inner.BytesReceived;

    public X509Certificate2? ClientCertificate => _inner.ClientCertificate;

    public EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    public EndPoint? LocalEndPoint => _inner.LocalEndPoint;

    public bool IsSecureConnection => _inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => _inner.PacketFormatterAdapter;

    /// <summary>
    /// The CONNECT of <paramref name="clientId"/> on this connection was accepted. The fast paths take it only once
    /// MQTTnet has sent the CONNACK (<see cref="SendPacketAsync"/>): by then MQTTnet has made this connection the
    /// session's client (taking the session over from an older connection with the same id), and nothing can be
    /// written before the CONNACK. An MQTT 3.1.x client with a clean session also gets the QoS 1 identifier window now,
    /// before MQTTnet sends anything, so none of MQTTnet's packets goes out under an identifier of its own.
    /// </summary>
    public void Accepting(DirectDelivery delivery, string clientId, bool v3, bool cleanSession, ushort keepAliveSeconds)
    {
        _delivery = delivery;
        _clientId = clientId;
        _v3 = v3;
        _tracksPublishes = !v3;
        if (keepAliveSeconds > 0)
        {
            // MQTTnet closes a connection silent for 1.5 keep-alive periods; pass an acknowledgement on well within it.
            _passEveryMs = Math.Min(PassAcknowledgementMs, keepAliveSeconds * 250L);
        }

        if (v3 && cleanSession)
        {
            _ids ??= new PacketIdWindow();
        }
    }

    /// <summary>
    /// A QoS 1 message for this client went to MQTTnet's queue (this connection had too much unsent): so do all later
    /// ones, for the rest of the connection, so that none overtakes it.
    /// </summary>
    public void KeepQos1OnServerPath() => _qos1OnServerPath = true;

    /// <summary>
    /// A client that leaves <see cref="PacketIdWindow.MaxInFlight"/> QoS 1 and 2 messages unacknowledged (or never
    /// acknowledges the oldest) gets no new identifier: the connection is closed, as for a protocol error; with its
    /// clean session it starts afresh when it reconnects.
    /// </summary>
    public void CloseForUnacknowledged()
    {
        _delivery?.CountWindowClosed();
        Channel.Dispose();
    }

    /// <summary>The connection ended: the fast paths forget it (only it, not a newer connection with the same id).</summary>
    public void Closed()
    {
        if (_delivery is { } delivery && _clientId is { } id)
        {
            delivery.Unregister(id, this);
        }
    }

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
    /// Sends one encoded QoS 1 PUBLISH under a fresh packet identifier, written at <paramref name="packetIdOffset"/>;
    /// or says why not (nothing sent): too much waiting to be sent or a failed connection, or the window full.
    /// </summary>
    public DirectWrite TryWritePublish(ReadOnlySpan<byte> packet, int packetIdOffset)
    {
        if (_ids is not { } ids)
        {
            return DirectWrite.Full;
        }

        var id = ids.Take(PacketOwner.Direct);
        if (id == 0)
        {
            return DirectWrite.WindowFull;
        }

        if (Channel.TryWriteDirect(packet, packetIdOffset, id))
        {
            return DirectWrite.Written;
        }

        ids.Release(id);
        return DirectWrite.Full;
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
                CloseForUnacknowledged();
                return Task.CompletedTask;
            }

            publish.PacketIdentifier = id;
        }

        if (packet is MqttConnAckPacket { ReasonCode: MqttConnectReasonCode.Success, ReturnCode: MqttConnectReturnCode.ConnectionAccepted } && _delivery is not null)
        {
            return SendConnAckAsync(packet, cancellationToken);
        }

        return _inner.SendPacketAsync(packet, cancellationToken);
    }

    private async Task SendConnAckAsync(MqttPacket connAck, CancellationToken cancellationToken)
    {
        await _inner.SendPacketAsync(connAck, cancellationToken);
        _delivery!.Register(_clientId!, this, _v3);
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

            if (_ids is { } ids && EndsHere(ids, packet, now))
            {
                continue;
            }

            _lastPassedMs = now;
            return packet;
        }
    }

    /// <summary>
    /// Releases the identifier an acknowledgement frees; true for a fast-path PUBACK that MQTTnet need not see. One
    /// such PUBACK every <see cref="_passEveryMs"/> goes on for the keep-alive, under identifier 0, which no PUBLISH
    /// carries, so MQTTnet finds nothing to acknowledge (its counter and this window both start at 1).
    /// </summary>
    private bool EndsHere(PacketIdWindow ids, MqttPacket packet, long now)
    {
        if (packet is MqttPubCompPacket complete)
        {
            ids.Release(complete.PacketIdentifier);
            return false;
        }

        if (packet is not MqttPubAckPacket ack || ids.Release(ack.PacketIdentifier) != PacketOwner.Direct)
        {
            return false;
        }

        if (now - _lastPassedMs < _passEveryMs)
        {
            return true;
        }

        ack.PacketIdentifier = 0;
        return false;
    }

    /// <summary>Disposes MQTTnet's adapter; the fast paths forget the connection when its handler ends (<see cref="Closed"/>).</summary>
    public void Dispose() => _inner.Dispose();
}

/// <summary>What became of a fast-path QoS 1 delivery.</summary>
internal enum DirectWrite
{
    Written,

    /// <summary>Too much waiting to be sent (or the connection failed): MQTTnet's queue takes it instead.</summary>
    Full,

    /// <summary>No packet identifier free: the client is not acknowledging.</summary>
    WindowFull,
}
