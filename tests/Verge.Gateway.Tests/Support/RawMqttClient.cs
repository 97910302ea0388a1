using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Verge.Gateway.Tests.Support;

/// <summary>One MQTT control packet as read off the wire: type and flags (the first byte) and the bytes after the length.</summary>
internal sealed record RawPacket(byte Header, byte[] Body)
{
    public int Type => Header >> 4;

    public int Qos => (Header >> 1) & 3;

    /// <summary>A PUBLISH's topic.</summary>
    public string Topic => Encoding.UTF8.GetString(Body, 2, (Body[0] << 8) | Body[1]);

    /// <summary>A PUBLISH's packet identifier (QoS 1 and 2), or an acknowledgement's.</summary>
    public ushort PacketId => Type == 3 ? (ushort)((Body[2 + TopicLength] << 8) | Body[3 + TopicLength]) : (ushort)((Body[0] << 8) | Body[1]);

    public byte[] Payload => Body[(2 + TopicLength + (Qos > 0 ? 2 : 0))..];

    private int TopicLength => (Body[0] << 8) | Body[1];
}

/// <summary>
/// An MQTT 3.1.1 client on a bare socket, for what a library client hides: packet identifiers, acknowledging (or not)
/// exactly when a test says so, and keeping silent past its keep-alive.
/// </summary>
internal sealed class RawMqttClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly Queue<RawPacket> _early = new();
    private int _start;
    private int _end;

    public static async Task<RawMqttClient> ConnectAsync(int port, string clientId, string user, string password, ushort keepAliveSeconds = 60, bool cleanSession = true)
    {
        var client = new RawMqttClient();
        await client._socket.ConnectAsync(IPAddress.Loopback, port);
        var body = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, (byte)(0xC0 | (cleanSession ? 2 : 0)), (byte)(keepAliveSeconds >> 8), (byte)keepAliveSeconds };
        foreach (var text in new[] { clientId, user, password })
        {
            body.AddRange(String(text));
        }

        await client.SendAsync(0x10, [.. body]);
        var connack = await client.ReadWireAsync(15);
        if (connack.Type != 2 || connack.Body[1] != 0)
        {
            throw new InvalidOperationException($"CONNECT refused: packet type {connack.Type}, code {connack.Body[1]}");
        }

        return client;
    }

    /// <summary>
    /// Subscribes to one filter and waits for the SUBACK; returns the granted QoS. PUBLISH packets that come first (a
    /// retained message may overtake the SUBACK) are kept for <see cref="ReadAsync"/>.
    /// </summary>
    public async Task<int> SubscribeAsync(string filter, int qos, ushort packetId = 1)
    {
        await SendAsync(0x82, [(byte)(packetId >> 8), (byte)packetId, .. String(filter), (byte)qos]);
        while (true)
        {
            var packet = await ReadWireAsync(15);
            switch (packet.Type)
            {
                case 9:
                    return packet.Body[2];
                case 3:
                    _early.Enqueue(packet);
                    break;
                default:
                    throw new InvalidOperationException($"expected SUBACK, got packet type {packet.Type}");
            }
        }
    }

    public Task PubAckAsync(ushort packetId) => SendAsync(0x40, [(byte)(packetId >> 8), (byte)packetId]);

    public Task PubRecAsync(ushort packetId) => SendAsync(0x50, [(byte)(packetId >> 8), (byte)packetId]);

    public Task PubCompAsync(ushort packetId) => SendAsync(0x70, [(byte)(packetId >> 8), (byte)packetId]);

    /// <summary>The next packet; throws if none arrives within the timeout or the broker closes the connection.</summary>
    public Task<RawPacket> ReadAsync(int timeoutSeconds = 15) => _early.TryDequeue(out var packet) ? Task.FromResult(packet) : ReadWireAsync(timeoutSeconds);

    private async Task<RawPacket> ReadWireAsync(int timeoutSeconds)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var header = await ReadByteAsync(timeout.Token);
        int length = 0, shift = 0;
        byte digit;
        do
        {
            digit = await ReadByteAsync(timeout.Token);
            length |= (digit & 0x7F) << shift;
            shift += 7;
        }
        while ((digit & 0x80) != 0);

        var body = new byte[length];
        for (var i = 0; i < length; i++)
        {
            body[i] = await ReadByteAsync(timeout.Token);
        }

        return new RawPacket(header, body);
    }

    public void Dispose() => _socket.Dispose();

    private static byte[] String(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];
    }

    private async Task SendAsync(byte header, byte[] body)
    {
        var packet = new List<byte> { header };
        var remaining = body.Length;
        do
        {
            var digit = (byte)(remaining % 128);
            remaining /= 128;
            packet.Add(remaining > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (remaining > 0);

        packet.AddRange(body);
        await _socket.SendAsync(packet.ToArray());
    }

    private async ValueTask<byte> ReadByteAsync(CancellationToken ct)
    {
        if (_start == _end)
        {
            _start = 0;
            _end = await _socket.ReceiveAsync(_buffer, SocketFlags.None, ct);
            if (_end == 0)
            {
                throw new IOException("the broker closed the connection");
            }
        }

        return _buffer[_start++];
    }
}
