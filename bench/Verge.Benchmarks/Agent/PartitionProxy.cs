using System.Net;
using System.Net.Sockets;

namespace Verge.Benchmarks.Agent;

/// <summary>
/// A TCP proxy between the agent and the server that can be partitioned as a link that goes down: while down,
/// nothing passes in either direction and nothing is closed (no FIN, no RST: bytes are swallowed, as packets are
/// dropped), and new connections are accepted but never reach the server (as SYNs that get no answer, the dialler
/// times out). When the link is back, connections opened before or during the partition stay dead, as they would
/// once either end has given up on them, and new ones are forwarded again.
/// </summary>
internal sealed class PartitionProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly int _targetPort;
    private readonly Task _accept;
    private long _generation;
    private volatile bool _down;

    public PartitionProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The link goes down: every open connection goes silent for good.</summary>
    public void Down()
    {
        Interlocked.Increment(ref _generation);
        _down = true;
    }

    /// <summary>The link is back: new connections pass again.</summary>
    public void Up() => _down = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        await _accept;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_sockets)
                {
                    _sockets.Add(client);
                }

                _ = ForwardAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        if (_down)
        {
            // A connection attempt during the partition: held open, never forwarded.
            await SwallowAsync(client);
            return;
        }

        var generation = Interlocked.Read(ref _generation);
        var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_sockets)
        {
            _sockets.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Dispose();
            upstream.Dispose();
            return;
        }

        await Task.WhenAll(PumpAsync(client, upstream, generation), PumpAsync(upstream, client, generation));
    }

    private async Task PumpAsync(Socket from, Socket to, long generation)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (Interlocked.Read(ref _generation) != generation)
                {
                    // Partitioned since this connection opened: swallow, close nothing.
                    if (read == 0)
                    {
                        return;
                    }

                    continue;
                }

                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task SwallowAsync(Socket client)
    {
        var buffer = new byte[4096];
        try
        {
            while (await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}
