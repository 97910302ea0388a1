using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Channel;

namespace Verge.Gateway.Broker;

/// <summary>
/// One plain TCP connection of the broker, under MQTTnet's own packet handling (<c>MqttChannelAdapter</c>), with
/// buffered reads and coalesced writes. MQTTnet's stock channel reads through a NetworkStream (a recv per fixed header
/// and per packet body) and writes each packet as it is encoded (a send for the header and another for the payload);
/// this channel reads up to 64 KiB per recv and serves the adapter's small reads from that buffer, and copies writes
/// into a pending buffer that a send loop hands to the socket in one send for everything written meanwhile. At low
/// rates a packet costs one send as before; under load many packets share one.
/// </summary>
internal sealed class SocketChannel : IMqttChannel, IThreadPoolWorkItem
{
    /// <summary>Completed read results by byte count (Task.FromResult caches only a few small values).</summary>
    private static readonly Task<int>[] ReadResults = new Task<int>[ReceiveBufferBytes + 1];

    private const int ReceiveBufferBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly int _maxPendingBytes;
    private readonly byte[] _receive = new byte[ReceiveBufferBytes];
    private readonly Lock _gate = new();
    private int _receiveStart;
    private int _receiveEnd;
    private byte[] _pending = new byte[8 * 1024];
    private int _pendingLength;
    private byte[] _sending = new byte[8 * 1024];
    private byte[] _partial = new byte[256];
    private int _partialLength;
    private bool _sendScheduled;
    private TaskCompletionSource? _drained;
    private Exception? _sendError;
    private int _disposed;

    public SocketChannel(Socket socket, int maxPendingBytes = 1024 * 1024)
    {
        _socket = socket;
        _maxPendingBytes = maxPendingBytes;
        RemoteEndPoint = socket.RemoteEndPoint;
        LocalEndPoint = socket.LocalEndPoint;
    }

    public X509Certificate2? ClientCertificate => null;

    public EndPoint? RemoteEndPoint { get; }

    public EndPoint? LocalEndPoint { get; }

    public bool IsSecureConnection => false;

    /// <summary>Accepted connections are already connected.</summary>
    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Sends what is still pending (for a short while), then closes the connection.</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + 1000;
        while (Environment.TickCount64 < deadline)
        {
            Task drained;
            lock (_gate)
            {
                if (!_sendScheduled || _sendError is not null)
                {
                    break;
                }

                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                drained = _drained.Task;
            }

            try
            {
                await drained.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                break;
            }
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (_receiveEnd > _receiveStart)
        {
            return Cached(CopyReceived(buffer, offset, count));
        }

        return ReceiveAsync(buffer, offset, count, cancellationToken);
    }

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
    {
        var length = checked((int)buffer.Length);
        lock (_gate)
        {
            if (_sendError is not null)
            {
                return Task.FromException(new IOException("the connection failed while sending", _sendError));
            }

            if (!isEndOfPacket)
            {
                // The first part of a packet waits aside, so a direct write (TryWriteDirect) never lands inside it.
                Append(ref _partial, ref _partialLength, buffer);
                return Task.CompletedTask;
            }

            if (_partialLength > 0)
            {
                Append(ref _pending, ref _pendingLength, new ReadOnlySequence<byte>(_partial, 0, _partialLength));
                _partialLength = 0;
            }

            Append(ref _pending, ref _pendingLength, buffer);
            if (_sendScheduled)
            {
                // A send is under way and will pick this up. A client that does not read holds its writer back here.
                if (_pendingLength > _maxPendingBytes)
                {
                    _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    return _drained.Task.WaitAsync(cancellationToken);
                }

                return Task.CompletedTask;
            }

            _sendScheduled = true;
        }

        // The global queue, behind work already waiting (the rest of a fan-out being handed to the subscribers' send
        // loops), not the local one this thread would pop next: in QoS 1 fan-out that cut the CPU per delivery by about
        // a tenth in alternating runs, though not the number of sends (docs/gateway.md, "Performance"). A direct QoS 0
        // write (below) stays on the local queue, where the global one measured worse.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Queues one whole, already encoded packet for sending, next to MQTTnet's own writes (never inside one of its
    /// packets), with <paramref name="packetId"/> written at <paramref name="packetIdOffset"/> when that is not negative.
    /// False when the connection has failed or more than the pending limit is waiting: the packet is dropped.
    /// </summary>
    public bool TryWriteDirect(ReadOnlySpan<byte> packet, int packetIdOffset = -1, ushort packetId = 0)
    {
        lock (_gate)
        {
            if (_sendError is not null || _disposed != 0 || _pendingLength + packet.Length > _maxPendingBytes)
            {
                return false;
            }

            if (_pendingLength + packet.Length > _pending.Length)
            {
                Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + packet.Length));
            }

            packet.CopyTo(_pending.AsSpan(_pendingLength));
            if (packetIdOffset >= 0)
            {
                _pending[_pendingLength + packetIdOffset] = (byte)(packetId >> 8);
                _pending[_pendingLength + packetIdOffset + 1] = (byte)packetId;
            }

            _pendingLength += packet.Length;
            if (_sendScheduled)
            {
                return true;
            }

            _sendScheduled = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        return true;
    }

    private static void Append(ref byte[] target, ref int targetLength, in ReadOnlySequence<byte> data)
    {
        var length = checked((int)data.Length);
        if (targetLength + length > target.Length)
        {
            Array.Resize(ref target, Math.Max(target.Length * 2, targetLength + length));
        }

        data.CopyTo(target.AsSpan(targetLength));
        targetLength += length;
    }

    void IThreadPoolWorkItem.Execute() => _ = SendLoopAsync();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    private static Task<int> Cached(int count) => ReadResults[count] ??= Task.FromResult(count);

    private int CopyReceived(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(count, _receiveEnd - _receiveStart);
        _receive.AsSpan(_receiveStart, n).CopyTo(buffer.AsSpan(offset));
        _receiveStart += n;
        return n;
    }

    private async Task<int> ReceiveAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        // A large read (a big payload) goes straight into the caller's buffer.
        if (count >= _receive.Length)
        {
            return await _socket.ReceiveAsync(buffer.AsMemory(offset, count), SocketFlags.None, cancellationToken);
        }

        var n = await _socket.ReceiveAsync(_receive.AsMemory(), SocketFlags.None, cancellationToken);
        if (n == 0)
        {
            return 0;
        }

        _receiveStart = 0;
        _receiveEnd = n;
        return CopyReceived(buffer, offset, count);
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            int length;
            TaskCompletionSource? drained;
            lock (_gate)
            {
                drained = _drained;
                _drained = null;
                if (_pendingLength == 0)
                {
                    _sendScheduled = false;
                    drained?.TrySetResult();
                    return;
                }

                (_pending, _sending) = (_sending, _pending);
                length = _pendingLength;
                _pendingLength = 0;
            }

            drained?.TrySetResult();
            try
            {
                var sent = 0;
                while (sent < length)
                {
                    sent += await _socket.SendAsync(_sending.AsMemory(sent, length - sent), SocketFlags.None);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                lock (_gate)
                {
                    _sendError = e;
                    _sendScheduled = false;
                    _pendingLength = 0;
                    drained = _drained;
                    _drained = null;
                }

                drained?.TrySetResult();
                return;
            }
        }
    }
}
