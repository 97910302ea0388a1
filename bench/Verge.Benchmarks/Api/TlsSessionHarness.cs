using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Channel;
using Verge.ApiServer.Hosting;
using Verge.Benchmarks.Agent;

namespace Verge.Benchmarks.Api;

/// <summary>
/// What the server's TLS session cache costs: a child process serves TLS as the API server does (an ECDSA serving
/// certificate, client certificates accepted, <see cref="StatefulSessionTickets"/> applied unless
/// <c>--stateless</c>). This process connects as <c>--nodes</c> distinct nodes (an ECDSA certificate each, as a joined
/// node has): 500 to warm up, then half of the rest once each (full handshakes), then the other half each followed by
/// a reconnect that must resume. After each phase the child reports the bytes its native heap has in use (glibc's
/// mallinfo2; OpenSSL allocates with malloc), a figure that resident memory, with malloc's free lists in it, blurs. A .NET client keeps TLS sessions only for its few dozen most recent client
/// certificates, so the second half goes in groups of 16: connect each, then reconnect each.
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
                case "--nodes" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n >= 1000 && n % 2 == 0:
                    nodes = n;
                    i++;
                    break;
                case "--stateless":
                    stateless = true;
                    break;
                default:
                    throw new ArgumentException($"unknown or invalid option {args[i]} (--nodes takes an even number, at least 1000)");
            }
        }

        var warm = 500;
        var half = (nodes - warm) / 2;
        var checkpoints = new[] { warm, warm + half, warm + half + (2 * half) };
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var childArgs = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            childArgs.Add(typeof(TlsSessionHarness).Assembly.Location);
        }

        childArgs.AddRange(["tls-sessions-host", "--collect-at", string.Join(',', checkpoints)]);
        if (stateless)
        {
            childArgs.Add("--stateless");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        await using var server = ChildProcess.Start("tls server", self, childArgs);
        var ready = await server.WaitForLineAsync(l => l.StartsWith(ReadyPrefix, StringComparison.Ordinal), TimeSpan.FromMinutes(1), timeout.Token);
        var fields = ready[ReadyPrefix.Length..].Split(' ');
        var (port, serving) = (int.Parse(fields[0], CultureInfo.InvariantCulture), new ServerIdentity(fields[1], int.Parse(fields[2], CultureInfo.InvariantCulture)));

        var certificates = Enumerable.Range(0, nodes).Select(i => NodeCertificate($"bench-{i:D5}")).ToList();

        // Runs one phase of connections and returns the native heap in use after it, as the server reported it.
        async Task<long> PhaseAsync(int served, Func<Task> connect)
        {
            var prefix = string.Create(CultureInfo.InvariantCulture, $"{CollectedPrefix}{served} ");
            var collected = server.WaitForLineAsync(l => l.StartsWith(prefix, StringComparison.Ordinal), TimeSpan.FromMinutes(10), timeout.Token);
            await connect();
            return long.Parse((await collected)[prefix.Length..], CultureInfo.InvariantCulture);
        }

        async Task ConnectOnceAsync(IEnumerable<X509Certificate2> connecting, bool resumed)
        {
            foreach (var certificate in connecting)
            {
                (await DialAsync(port, serving, certificate, resumed, timeout.Token)).Dispose();
            }
        }

        var before = await PhaseAsync(checkpoints[0], () => ConnectOnceAsync(certificates.Take(warm), resumed: false));
        var afterFull = await PhaseAsync(checkpoints[1], () => ConnectOnceAsync(certificates.Skip(warm).Take(half), resumed: false));
        var afterResumed = await PhaseAsync(checkpoints[2], async () =>
        {
            foreach (var group in certificates.Skip(warm + half).Take(half).Chunk(16))
            {
                // The first connections stay undisposed until the reconnects are done: a client context in use is not
                // dropped from .NET's cache, and its session with it.
                var open = new List<IDisposable>();
                try
                {
                    foreach (var certificate in group)
                    {
                        open.Add(await DialAsync(port, serving, certificate, resumed: false, timeout.Token));
                    }

                    await ConnectOnceAsync(group, resumed: true);
                }
                finally
                {
                    open.ForEach(connection => connection.Dispose());
                }
            }
        });

        var perFull = (afterFull - before) / (double)half;
        var perPair = (afterResumed - afterFull) / (double)half;
        Console.WriteLine($"tickets: {(stateless ? "stateless (OpenSSL's default)" : "stateful (StatefulSessionTickets)")}, {nodes} nodes, the first {warm} to warm up");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("| --- | --- |");
        Console.WriteLine($"| native heap in use after {warm} nodes connected once | {before / 1024.0 / 1024:F1} MiB |");
        Console.WriteLine($"| {half} more nodes connected once (full handshakes): growth per node | {perFull / 1024:F2} KiB |");
        Console.WriteLine($"| {half} more nodes connected and reconnected (resumed): growth per node | {perPair / 1024:F2} KiB, so {(perPair - perFull) / 1024:F2} KiB per resumed reconnect |");
        return 0;
    }

    /// <summary>
    /// Connects once with <paramref name="certificate"/> and exchanges a byte, so the server has finished with the
    /// handshake and its tickets. With <paramref name="resumed"/> the handshake must have been resumed: it received less
    /// than the server's certificate alone.
    /// </summary>
    private static async Task<IDisposable> DialAsync(int port, ServerIdentity serving, X509Certificate2 certificate, bool resumed, CancellationToken ct)
    {
        var tcp = new TcpClient();
        SslStream? tls = null;
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
            var received = 0L;
            tls = new SslStream(new CountingStream(tcp.GetStream(), _ => { }, n => received += n));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "verge-bench.invalid",
                ClientCertificates = [certificate],
                // The server's self-signed certificate, pinned by the thumbprint it printed.
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(HashAlgorithmName.SHA256) == serving.Thumbprint,
            }, ct);
            if (resumed && received >= serving.Length)
            {
                throw new InvalidOperationException($"a reconnect was not resumed: its handshake received {received} B, the server certificate alone is {serving.Length} B");
            }

            await tls.WriteAsync(new byte[] { 1 }, ct);
            var echo = new byte[1];
            await tls.ReadExactlyAsync(echo, ct);
            return new Connection(tcp, tls);
        }
        catch
        {
            tls?.Dispose();
            tcp.Dispose();
            throw;
        }
    }

    private sealed class Connection(TcpClient tcp, SslStream tls) : IDisposable
    {
        public void Dispose()
        {
            tls.Dispose();
            tcp.Dispose();
        }
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
        var collectAt = args.SkipWhile(a => a != "--collect-at").Skip(1).FirstOrDefault()?.Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToHashSet()
            ?? throw new ArgumentException("--collect-at is required");
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
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{ReadyPrefix}{((IPEndPoint)listener.LocalEndpoint).Port} {certificate.GetCertHashString(HashAlgorithmName.SHA256)} {certificate.RawData.Length}"));
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
            if (collectAt.Contains(served))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{CollectedPrefix}{served} {MallocInfo().InUse}"));
            }
        }
    }

    private sealed record ServerIdentity(string Thumbprint, int Length);

    // glibc's mallinfo2: uordblks, the bytes malloc has handed out and not taken back (OpenSSL allocates with malloc).
    [DllImport("libc", EntryPoint = "mallinfo2")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern MallocStatistics MallocInfo();

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallocStatistics
    {
        private readonly nuint _arena;
        private readonly nuint _ordblks;
        private readonly nuint _smblks;
        private readonly nuint _hblks;
        private readonly nuint _hblkhd;
        private readonly nuint _usmblks;
        private readonly nuint _fsmblks;
        private readonly nuint _uordblks;
        private readonly nuint _fordblks;
        private readonly nuint _keepcost;

        public long InUse => (long)_uordblks + (long)_hblkhd;
    }
}
