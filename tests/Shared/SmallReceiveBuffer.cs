using System.Net.Sockets;

namespace Verge.Tests.Shared;

/// <summary>
/// A <see cref="SocketsHttpHandler.ConnectCallback"/> whose socket has a small receive buffer, so that a response nobody
/// reads fills the loopback connection after some hundred kilobytes instead of the tens of megabytes the kernel's
/// buffer tuning would allow. Compiled into each test project that needs it.
/// </summary>
internal static class SmallReceiveBuffer
{
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 16 * 1024 };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
