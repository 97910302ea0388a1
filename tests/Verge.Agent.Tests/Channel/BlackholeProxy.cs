using System.Net;
using System.Net.Sockets;

namespace Verge.Agent.Tests.Channel;

/// <summary>
/// A TCP proxy to a target that can be cut: once cut it stops forwarding in both directions but keeps the sockets
/// open, as a link that silently dies does (no FIN, no RST).
/// </summary>
internal sealed class BlackholeProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly Task _accept;
    private volatile bool _cut;

    public BlackholeProxy(Uri target)
    {
        _listener.Start();
        _accept = AcceptAsync(target);
    }

    public Uri Address => new($"https://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public void Cut() => _cut = true;

    /// <summary>Forwards again, and closes the connections the cut left hanging (as their peers time them out).</summary>
    public void Heal()
    {
        _cut = false;
        Reset();
    }

    /// <summary>Closes every connection open now (as a link that resets them); new ones are forwarded as before.</summary>
    public void Reset()
    {
        lock (_connections)
        {
            _connections.ForEach(c => c.Dispose());
            _connections.Clear();
        }
    }

    private async Task AcceptAsync(Uri target)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var upstream = new TcpClient();
                await upstream.ConnectAsync(target.Host, target.Port, _stop.Token);
                lock (_connections)
                {
                    _connections.Add(client);
                    _connections.Add(upstream);
                }

                _ = PumpAsync(client.GetStream(), upstream.GetStream());
                _ = PumpAsync(upstream.GetStream(), client.GetStream());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (_cut)
                {
                    // Swallow everything from now on, keeping the connection open.
                    continue;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_connections)
        {
            _connections.ForEach(c => c.Dispose());
        }

        await _accept;
        _stop.Dispose();
    }
}
