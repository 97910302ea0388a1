using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Verge.NodeChannel.Protocol;

namespace Verge.Agent.Tests.Channel;

/// <summary>
/// A node channel server that answers every Connect with the messages it was given and then keeps the stream open:
/// for what the real server never sends (objects of a kind a newer server knows, ...). It speaks gRPC's framing
/// directly (uncompressed messages, status in the trailers) and ignores what the agent sends.
/// </summary>
internal sealed class FakeChannelServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _connects;
    private int _openConnections;
    private readonly ConcurrentQueue<AgentMessage> _received = new();

    private FakeChannelServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>How many Connect calls arrived.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>What the agent sent, in order (only with a read gate: otherwise nothing is read).</summary>
    public IReadOnlyList<AgentMessage> Received => [.. _received];

    /// <summary>TCP connections open now.</summary>
    public int OpenConnections => Volatile.Read(ref _openConnections);

    /// <summary>
    /// Starts a server that answers every Connect with <paramref name="answer"/> and then keeps the stream open, or,
    /// with <paramref name="refuse"/>, ends every call at once with that gRPC status (keeping the connection). With
    /// <paramref name="readFrom"/> it reads what the agent sends once that task completes (until then HTTP/2 flow
    /// control holds the agent back, as a full link does); without, it reads nothing.
    /// </summary>
    public static async Task<FakeChannelServer> StartAsync(X509Certificate2 serving, IReadOnlyList<ServerMessage> answer, int? refuse = null, Task? readFrom = null)
    {
        FakeChannelServer? server = null;
        var port = ChannelHarness.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.Use(next => async connection =>
            {
                Interlocked.Increment(ref server!._openConnections);
                try
                {
                    await next(connection);
                }
                finally
                {
                    Interlocked.Decrement(ref server._openConnections);
                }
            });
            listen.UseHttps(serving, https =>
            {
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.AllowAnyClientCertificate();
            });
        }));
        var app = builder.Build();
        server = new FakeChannelServer(app, new Uri($"https://127.0.0.1:{port}"));
        app.MapPost("/verge.node.v1.NodeChannel/Connect", async (HttpContext http) =>
        {
            Interlocked.Increment(ref server._connects);
            http.Response.ContentType = "application/grpc";
            if (refuse is { } status)
            {
                http.Response.AppendTrailer("grpc-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                http.Response.AppendTrailer("grpc-message", "refused by the fake server");
                return;
            }
            foreach (var message in answer)
            {
                var bytes = message.ToByteArray();
                var frame = new byte[5 + bytes.Length];
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)bytes.Length);
                bytes.CopyTo(frame, 5);
                await http.Response.Body.WriteAsync(frame, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }

            if (readFrom is not null)
            {
                var body = http.Request.Body;
                _ = Task.Run(async () =>
                {
                    await readFrom;
                    await server.ReadAsync(body, http.RequestAborted);
                });
            }

            try
            {
                await Task.Delay(Timeout.Infinite, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            http.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync();
        return server;
    }

    /// <summary>Reads gRPC messages (gzip-compressed or not) until the call ends.</summary>
    private async Task ReadAsync(Stream body, CancellationToken ct)
    {
        var header = new byte[5];
        try
        {
            while (true)
            {
                await body.ReadExactlyAsync(header, ct);
                var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
                await body.ReadExactlyAsync(payload, ct);
                if (header[0] == 1)
                {
                    using var unzipped = new MemoryStream();
                    await using (var gzip = new GZipStream(new MemoryStream(payload), CompressionMode.Decompress))
                    {
                        await gzip.CopyToAsync(unzipped, ct);
                    }

                    payload = unzipped.ToArray();
                }

                _received.Enqueue(AgentMessage.Parser.ParseFrom(payload));
            }
        }
        catch (Exception e) when (e is EndOfStreamException or OperationCanceledException or IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
