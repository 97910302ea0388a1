using System.Net;
using System.Net.Sockets;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Server;

namespace Verge.Gateway.Broker;

/// <summary>
/// The broker's plain TCP listener: accepts connections on one address and hands each to MQTTnet as a
/// <see cref="DirectConnection"/> (MQTTnet's own <see cref="MqttChannelAdapter"/> over a <see cref="SocketChannel"/>),
/// so MQTTnet keeps all protocol handling and only the byte transport and the fast paths are Verge's. The TLS listener stays MQTTnet's own.
/// </summary>
internal sealed class SocketServerAdapter : IMqttServerAdapter
{
    private readonly IPEndPoint _endpoint;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private MqttServerOptions? _options;
    private IMqttNetLogger _logger = MqttNetNullLogger.Instance;

    public SocketServerAdapter(IPEndPoint endpoint) => _endpoint = endpoint;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>The bound address (the actual port when the endpoint asked for port 0).</summary>
    public IPEndPoint? BoundEndpoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>Binds and starts accepting; throws if the address cannot be bound.</summary>
    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _options = options;
        _logger = logger;
        var listener = new Socket(_endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (_endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                listener.DualMode = false;
            }

            listener.Bind(_endpoint);
            listener.Listen(options.DefaultEndpointOptions.ConnectionBacklog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener, _stop.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener?.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or a file descriptor limit: log it and keep listening.
                _logger.Publish(MqttNetLogLevel.Warning, "Verge.Gateway", "accepting an MQTT connection failed", null, e);
                await Task.Delay(10, CancellationToken.None);
                continue;
            }

            _ = HandleAsync(socket);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        // Off the accept loop: MQTTnet's handler runs for the whole life of the connection.
        await Task.Yield();
        socket.NoDelay = true;
        using var channel = new SocketChannel(socket);
        var options = _options!;
        using var adapter = new MqttChannelAdapter(channel, new MqttPacketFormatterAdapter(new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax)), _logger)
        {
            // The channel coalesces the header and payload writes itself, without a joined copy per packet.
            AllowPacketFragmentation = true,
        };
        var connection = new DirectConnection(channel, adapter);
        try
        {
            if (ClientHandler is { } handler)
            {
                await handler(connection);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.Publish(MqttNetLogLevel.Error, "Verge.Gateway", "an MQTT connection failed", null, e);
        }
        finally
        {
            connection.Closed();
        }
    }
}
