using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Verge.ApiServer.Serialization;

namespace Verge.Benchmarks.Api;

/// <summary>
/// Makes HTTPS clients for the API server from its admin kubeconfig: the client certificate authenticates, and the
/// server's certificate must chain to the kubeconfig's CA (no system roots, no skipped validation).
/// </summary>
internal sealed class ClusterConnection : IDisposable
{
    private readonly X509Certificate2 _clientCertificate;
    private readonly X509Certificate2 _ca;

    private ClusterConnection(Uri address, X509Certificate2 clientCertificate, X509Certificate2 ca)
    {
        Address = address;
        _clientCertificate = clientCertificate;
        _ca = ca;
    }

    public Uri Address { get; }

    /// <summary>TCP connections opened by every client made here (diagnostics).</summary>
    public static int Connects;

    public static ClusterConnection FromKubeconfig(string path)
    {
        var config = YamlReader.ReadSingle(File.ReadAllText(path)) ?? throw new InvalidOperationException("empty kubeconfig");
        var cluster = config["clusters"]![0]!["cluster"]!;
        var user = config["users"]![0]!["user"]!;
        var server = new Uri((string)cluster["server"]!);
        var ca = X509Certificate2.CreateFromPem(Decode(cluster["certificate-authority-data"]));
        var client = X509Certificate2.CreateFromPem(Decode(user["client-certificate-data"]), Decode(user["client-key-data"]));
        return new ClusterConnection(server, client, ca);
    }

    /// <summary>
    /// A client with its own connection pool. <paramref name="http2"/> pins HTTP/2 (ALPN h2); otherwise HTTP/1.1.
    /// With HTTP/2 and <paramref name="extraConnections"/> the handler opens another connection when the server's
    /// stream limit is reached instead of queueing requests.
    /// </summary>
    public HttpClient CreateClient(bool http2, bool extraConnections = false)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = extraConnections,
            MaxConnectionsPerServer = http2 ? int.MaxValue : 1,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            ConnectCallback = async (context, ct) =>
            {
                Interlocked.Increment(ref Connects);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = new X509CertificateCollection { _clientCertificate },
                RemoteCertificateValidationCallback = ValidateServer,
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = Address,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public void Dispose()
    {
        _clientCertificate.Dispose();
        _ca.Dispose();
    }

    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(_ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private static string Decode(System.Text.Json.Nodes.JsonNode? base64) =>
        Encoding.UTF8.GetString(Convert.FromBase64String((string?)base64 ?? throw new InvalidOperationException("kubeconfig lacks a certificate")));
}
