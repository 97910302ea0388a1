using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Verge.Benchmarks.Gateway;

/// <summary>
/// A deliberately cheap MQTT 3.1.1 client for load generation: raw sockets, CONNECT and SUBSCRIBE by hand, PUBLISH
/// packets encoded once and patched in place (sequence number and send timestamp in the first 16 payload bytes), and
/// a receive loop that reads only the fixed header, the packet id and the timestamp. No MQTT library on this side,
/// so the generator's CPU stays small next to the broker's.
/// </summary>
internal sealed class RawMqttClient : IDisposable
{
    private readonly Socket _socket;

    private RawMqttClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    public static async Task<RawMqttClient> ConnectAsync(IPEndPoint broker, string clientId, string? user, string? password, CancellationToken ct)
    {
        var socket = new Socket(broker.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(broker, ct);
            await SendAsync(socket, EncodeConnect(clientId, user, password), ct);
            var connack = await ReceiveExactlyAsync(socket, 4, ct);
            if (connack[0] != 0x20 || connack[3] != 0)
            {
                throw new InvalidOperationException($"{clientId}: CONNACK refused (return code {connack[3]})");
            }

            return new RawMqttClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task SubscribeAsync(string filter, int qos, CancellationToken ct)
    {
        var topic = Encoding.UTF8.GetBytes(filter);
        var body = new List<byte> { 0, 1, (byte)(topic.Length >> 8), (byte)topic.Length };
        body.AddRange(topic);
        body.Add((byte)qos);
        await SendAsync(_socket, Frame(0x82, [.. body]), ct);
        var suback = await ReceiveExactlyAsync(_socket, 5, ct);
        if (suback[0] != 0x90 || suback[4] == 0x80)
        {
            throw new InvalidOperationException($"SUBSCRIBE to {filter} refused (SUBACK {suback[4]:x2})");
        }
    }

    /// <summary>A PUBLISH packet for <paramref name="topic"/> with a payload of <paramref name="payloadBytes"/> (at least 16) and where its payload starts.</summary>
    public static (byte[] Packet, int PacketIdOffset, int PayloadOffset) EncodePublish(string topic, int qos, int payloadBytes)
    {
        var name = Encoding.UTF8.GetBytes(topic);
        var body = new byte[2 + name.Length + (qos > 0 ? 2 : 0) + payloadBytes];
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)name.Length);
        name.CopyTo(body, 2);
        for (var i = body.Length - payloadBytes + 16; i < body.Length; i++)
        {
            body[i] = (byte)('a' + (i % 26));
        }

        var packet = Frame((byte)(0x30 | (qos << 1)), body);
        var header = packet.Length - body.Length;
        return (packet, qos > 0 ? header + 2 + name.Length : -1, packet.Length - payloadBytes);
    }

    public void Dispose() => _socket.Dispose();

    private static byte[] EncodeConnect(string clientId, string? user, string? password)
    {
        var body = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4 };
        byte flags = 0x02; // clean session
        if (user is not null)
        {
            flags |= 0x80;
        }

        if (password is not null)
        {
            flags |= 0x40;
        }

        body.Add(flags);
        body.Add(0);
        body.Add(0); // keep-alive off: runs are short and the generator sends no PINGREQ
        AddString(body, clientId);
        if (user is not null)
        {
            AddString(body, user);
        }

        if (password is not null)
        {
            AddString(body, password);
        }

        return Frame(0x10, [.. body]);
    }

    private static void AddString(List<byte> body, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        body.Add((byte)(bytes.Length >> 8));
        body.Add((byte)bytes.Length);
        body.AddRange(bytes);
    }

    private static byte[] Frame(byte type, byte[] body)
    {
        var header = new List<byte> { type };
        var length = body.Length;
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            header.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);

        return [.. header, .. body];
    }

    private static async Task SendAsync(Socket socket, byte[] data, CancellationToken ct)
    {
        var sent = 0;
        while (sent < data.Length)
        {
            sent += await socket.SendAsync(data.AsMemory(sent), SocketFlags.None, ct);
        }
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, CancellationToken ct)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, ct);
            if (n == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            read += n;
        }

        return buffer;
    }
}

/// <summary>
/// Latencies in a fixed histogram: 1 µs buckets up to 10 ms, then 100 µs buckets up to 1 s, then one overflow bucket.
/// One writer per instance (a subscriber's receive loop); merged after the run.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Fine = 10_000;
    private const int Coarse = 9_900;
    private readonly long[] _counts = new long[Fine + Coarse + 1];

    public long Count { get; private set; }

    public void Record(long nanoseconds)
    {
        var micros = Math.Max(0, nanoseconds / 1000);
        var index = micros < Fine ? micros : Math.Min(Fine + ((micros - Fine) / 100), Fine + Coarse);
        _counts[index]++;
        Count++;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>The latency at quantile <paramref name="q"/> in milliseconds (upper edge of its bucket); NaN when empty.</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(q * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return i < Fine ? (i + 1) / 1000.0 : (Fine + ((i - Fine + 1) * 100)) / 1000.0;
            }
        }

        return double.PositiveInfinity;
    }
}

/// <summary>
/// A subscriber: one receive loop reading PUBLISH packets, counting them, recording send-to-receive latency from the
/// timestamp in the payload while <see cref="Recording"/> is on, and answering QoS 1 with PUBACKs (one send per read).
/// </summary>
internal sealed class LoadSubscriber
{
    private readonly RawMqttClient _client;
    private readonly Action<long> _progress;
    private long _received;

    public LoadSubscriber(RawMqttClient client, Action<long> progress)
    {
        _client = client;
        _progress = progress;
    }

    public long Received => Volatile.Read(ref _received);

    public LatencyHistogram Latencies { get; private set; } = new();

    public volatile bool Recording;

    public void ResetLatencies() => Latencies = new LatencyHistogram();

    public async Task RunAsync(CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        var acks = new byte[64 * 1024];
        var filled = 0;
        var socket = _client.Socket;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, ct);
                if (n == 0)
                {
                    return;
                }

                filled += n;
                var now = Stopwatch.GetTimestamp();
                var pos = 0;
                var ackBytes = 0;
                long count = 0;
                var latencies = Recording ? Latencies : null;
                while (TryHeader(buffer, pos, filled, out var type, out var headerBytes, out var length) && pos + headerBytes + length <= filled)
                {
                    var body = pos + headerBytes;
                    if ((type & 0xF0) == 0x30)
                    {
                        var qos = (type >> 1) & 3;
                        var topicLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(body));
                        var payload = body + 2 + topicLength + (qos > 0 ? 2 : 0);
                        if (qos > 0)
                        {
                            if (ackBytes + 4 > acks.Length)
                            {
                                await SendAllAsync(socket, acks.AsMemory(0, ackBytes), ct);
                                ackBytes = 0;
                            }

                            acks[ackBytes] = 0x40;
                            acks[ackBytes + 1] = 2;
                            acks[ackBytes + 2] = buffer[body + 2 + topicLength];
                            acks[ackBytes + 3] = buffer[body + 3 + topicLength];
                            ackBytes += 4;
                        }

                        if (latencies is not null && payload + 16 <= body + length)
                        {
                            var sentAt = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(payload + 8));
                            latencies.Record((long)((now - sentAt) * (1e9 / Stopwatch.Frequency)));
                        }

                        count++;
                    }

                    pos = body + length;
                }

                if (ackBytes > 0)
                {
                    await SendAllAsync(socket, acks.AsMemory(0, ackBytes), ct);
                }

                if (pos > 0)
                {
                    buffer.AsSpan(pos, filled - pos).CopyTo(buffer);
                    filled -= pos;
                }

                if (count > 0)
                {
                    Volatile.Write(ref _received, _received + count);
                    _progress(count);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    internal static bool TryHeader(byte[] buffer, int pos, int end, out int type, out int headerBytes, out int length)
    {
        type = 0;
        headerBytes = 0;
        length = 0;
        if (pos >= end)
        {
            return false;
        }

        type = buffer[pos];
        var multiplier = 1;
        for (var i = pos + 1; i < end && i < pos + 5; i++)
        {
            length += (buffer[i] & 0x7F) * multiplier;
            if ((buffer[i] & 0x80) == 0)
            {
                headerBytes = i - pos + 1;
                return true;
            }

            multiplier *= 128;
        }

        return false;
    }

    internal static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None, ct);
            data = data[n..];
        }
    }
}

/// <summary>
/// A publisher: a send buffer holding <c>batch</c> copies of one encoded PUBLISH, patched in place before each send;
/// for QoS 1 a receive loop counts PUBACKs so the driver keeps at most a window of unacknowledged messages.
/// </summary>
internal sealed class LoadPublisher
{
    private readonly RawMqttClient _client;
    private readonly byte[] _buffer;
    private readonly int _packetLength;
    private readonly int _packetIdOffset;
    private readonly int _payloadOffset;
    private readonly Action<long> _progress;
    private ushort _nextId;
    private long _acked;

    public LoadPublisher(RawMqttClient client, string topic, int qos, int payloadBytes, int batch, Action<long> progress)
    {
        _client = client;
        Qos = qos;
        var (packet, idOffset, payloadOffset) = RawMqttClient.EncodePublish(topic, qos, payloadBytes);
        _packetLength = packet.Length;
        _packetIdOffset = idOffset;
        _payloadOffset = payloadOffset;
        _buffer = new byte[packet.Length * batch];
        for (var i = 0; i < batch; i++)
        {
            packet.CopyTo(_buffer, i * packet.Length);
        }

        Batch = batch;
        _progress = progress;
    }

    public int Qos { get; }

    public int Batch { get; }

    public long Sent { get; private set; }

    public long Acked => Volatile.Read(ref _acked);

    /// <summary>Sends <paramref name="count"/> (at most <see cref="Batch"/>) messages in one write, stamped now.</summary>
    public void Send(int count, long sequence)
    {
        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var offset = i * _packetLength;
            if (_packetIdOffset >= 0)
            {
                _nextId = _nextId == ushort.MaxValue ? (ushort)1 : (ushort)(_nextId + 1);
                BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(offset + _packetIdOffset), _nextId);
            }

            BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(offset + _payloadOffset), sequence + i);
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(offset + _payloadOffset + 8), now);
        }

        var span = _buffer.AsSpan(0, count * _packetLength);
        while (!span.IsEmpty)
        {
            span = span[_client.Socket.Send(span)..];
        }

        Sent += count;
    }

    /// <summary>Counts PUBACKs (QoS 1); ends when the connection closes or <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAcksAsync(CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var filled = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var n = await _client.Socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, ct);
                if (n == 0)
                {
                    return;
                }

                filled += n;
                var pos = 0;
                long acks = 0;
                while (LoadSubscriber.TryHeader(buffer, pos, filled, out var type, out var headerBytes, out var length) && pos + headerBytes + length <= filled)
                {
                    if ((type & 0xF0) == 0x40)
                    {
                        acks++;
                    }

                    pos += headerBytes + length;
                }

                buffer.AsSpan(pos, filled - pos).CopyTo(buffer);
                filled -= pos;
                if (acks > 0)
                {
                    Volatile.Write(ref _acked, _acked + acks);
                    _progress(acks);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}
