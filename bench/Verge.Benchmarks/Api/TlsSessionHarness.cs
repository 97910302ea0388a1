using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.ApiServer.Hosting;
using Verge.Benchmarks.Agent;

namespace Verge.Benchmarks.Api;

/// <summary>
/// What the server's TLS session cache costs: a child process serves TLS as the API server does (an ECDSA serving
/// certificate, client certificates accepted, <see cref="StatefulSessionTickets"/> applied unless
/// <c>--stateless</c>), and this process connects as <c>--nodes</c> distinct nodes (an ECDSA certificate each, as a
/// joined node has), then reconnects each once (a resumed handshake). The child's resident memory is read after
/// each phase; the child collects its managed heap every 500 connections, so what grows is OpenSSL's cache.
/// </summary>
internal static class TlsSessionHarness
{
    private const string ReadyPrefix = "tls sessions ready on ";
    private const string CollectedPrefix = "tls sessions collected ";

    public static async Task<int> RunAsync(string[] args)
    {
        var nodes = 4000;
        var stateless = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--nodes" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n >= 1000 && n % 500 == 0:
                    nodes = n;
                    i++;
                    break;
                case "--stateless":
                    stateless = true;
                    break;
                default:
                    throw new ArgumentException($"unknown or invalid option {args[i]} (--nodes takes a multiple of 500, at least 1000)");
            }
        }

        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var childArgs = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            childArgs.Add(typeof(TlsSessionHarness).Assembly.Location);
        }

        childArgs.Add("tls-sessions-host");
        if (stateless)
        {
            childArgs.Add("--stateless");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        await using var server = ChildProcess.Start("tls server", self, childArgs);
        var ready = await server.WaitForLineAsync(l => l.StartsWith(ReadyPrefix, StringComparison.Ordinal), TimeSpan.FromMinutes(1), timeout.Token);
        var (portText, thumbprint) = (ready[ReadyPrefix.Length..].Split(' ')[0], ready[ReadyPrefix.Length..].Split(' ')[^1]);
        var port = int.Parse(portText, CultureInfo.InvariantCulture);

        var certificates = Enumerable.Range(0, nodes).Select(i => NodeCertificate($"bench-{i:D5}")).ToList();
        var rows = new List<(string, string)>();
        var warm = 500;
        await DialAsync(port, thumbprint, certificates.Take(warm), server, warm, timeout.Token);
        var before = server.Resident().Total;
        await DialAsync(port, thumbprint, certificates.Skip(warm), server, nodes, timeout.Token);
        var afterFull = server.Resident().Total;
        await DialAsync(port, thumbprint, certificates.Skip(warm), server, 2 * nodes - warm, timeout.Token);
        var afterResumed = server.Resident().Total;

        var counted = nodes - warm;
        Console.WriteLine($"tickets: {(stateless ? "stateless (OpenSSL's default)" : "stateful (StatefulSessionTickets)")}, {nodes} nodes, the first {warm} to warm up");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("| --- | --- |");
        Console.WriteLine($"| server resident after {warm} nodes connected once | {before / 1024.0 / 1024:F1} MiB |");
        Console.WriteLine($"| after {counted} more connected once (full handshakes): growth per node | {(afterFull - before) / 1024.0 / 1024:F1} MiB: {(afterFull - before) / (double)counted / 1024:F2} KiB |");
        Console.WriteLine($"| after those {counted} reconnected once (resumed): growth per reconnect | {(afterResumed - afterFull) / 1024.0 / 1024:F1} MiB: {(afterResumed - afterFull) / (double)counted / 1024:F2} KiB |");
        return 0;
    }

    /// <summary>Connects once with each certificate, then waits for the server's collection after its <paramref name="served"/>th connection.</summary>
    private static async Task DialAsync(int port, string thumbprint, IEnumerable<X509Certificate2> certificates, ChildProcess server, int served, CancellationToken ct)
    {
        var collected = server.WaitForLineAsync(l => l == CollectedPrefix + served.ToString(CultureInfo.InvariantCulture), TimeSpan.FromMinutes(10), ct);
        foreach (var certificate in certificates)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "verge-bench.invalid",
                ClientCertificates = [certificate],
                // The server's self-signed certificate, pinned by the thumbprint it printed.
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint,
            }, ct);
            await tls.WriteAsync(new byte[] { 1 }, ct);
            var echo = new byte[1];
            await tls.ReadExactlyAsync(echo, ct); // the server has finished with the handshake and its tickets
        }

        await collected;
    }

    private static X509Certificate2 NodeCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=system:node:{name}, O=system:nodes", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The child: serves TLS connections on loopback until killed.</summary>
    public static async Task<int> HostAsync(string[] args)
    {
        var stateless = args.Contains("--stateless");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=verge-bench", key, HashAlgorithmName.SHA256);
        using var serving = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var certificate = X509CertificateLoader.LoadPkcs12(serving.Export(X509ContentType.Pkcs12), null);
        var tickets = new StatefulSessionTickets(NullLogger<StatefulSessionTickets>.Instance);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = true,
            // The bench's nodes present self-signed certificates: one is required, its issuer is not checked.
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null,
        };
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Console.WriteLine(ReadyPrefix + ((IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture) + " " + certificate.GetCertHashString(HashAlgorithmName.SHA256));
        for (var served = 1; ; served++)
        {
            using var tcp = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsServerAsync(options);
            if (!stateless && !tickets.Apply(tls))
            {
                Console.Error.WriteLine("stateful session tickets are not available here");
                return 1;
            }

            var one = new byte[1];
            await tls.ReadExactlyAsync(one);
            await tls.WriteAsync(one);
            if (served % 500 == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                Console.WriteLine(CollectedPrefix + served.ToString(CultureInfo.InvariantCulture));
            }
        }
    }
}
