using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Verge.Agent.Identity;

namespace Verge.Agent.Channel;

/// <summary>
/// The node channel's TLS client: mutual TLS with the node certificate, the server pinned to the cluster CA and
/// checked for the name or address dialled, and TLS 1.3 session resumption on reconnect.
/// </summary>
/// <remarks>
/// .NET on Linux resumes a client session only when the TLS target name is a DNS name (OpenSSL's session cache is
/// keyed by it, and IP addresses are left out). A server dialled by address is therefore given a stand-in target
/// name under <c>.invalid</c> (RFC 6761), one per address; it is sent as the SNI, which the Verge server ignores, and
/// the address is checked against the certificate here instead. A resumed session carries no certificates, which
/// makes a reconnect about a kilobyte smaller.
/// </remarks>
internal static class ChannelTls
{
    /// <summary>The suffix of stand-in target names for servers dialled by IP address (short: it is sent as the SNI).</summary>
    internal const string AddressTargetSuffix = ".invalid";

    /// <summary>
    /// The TLS target name for a server: its host when that is a DNS name; for an address a stand-in made of the
    /// address and port (sessions are cached per target name, and two servers may share an address).
    /// </summary>
    internal static string TargetName(string host, int port)
    {
        var bare = host.Trim('[', ']');
        if (!IPAddress.TryParse(bare, out var address))
        {
            return host;
        }

        // For example 127.0.0.1:6443 becomes "ip7f000001192b.invalid": the address and port in hex.
        return $"ip{Convert.ToHexStringLower(address.GetAddressBytes())}{port:x4}{AddressTargetSuffix}";
    }

    /// <summary>Options for one server: the same target name each time, so that its session is resumed.</summary>
    internal static SslClientAuthenticationOptions ClientOptions(string host, int port, SslStreamCertificateContext clientCertificate, X509Certificate2 clusterCa) =>
        new()
        {
            TargetHost = TargetName(host, port),
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            ClientCertificateContext = clientCertificate,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => IsTrusted(certificate, errors, host, clusterCa),
        };

    /// <summary>
    /// The server's certificate chains to the cluster CA alone (no system roots) and names the host dialled: its DNS
    /// name, or for an address an IP entry of the subject alternative names.
    /// </summary>
    internal static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, string host, X509Certificate2 clusterCa)
    {
        var served = certificate as X509Certificate2;
        if (IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            // The target name was a stand-in, so the name check TLS did is meaningless: check the address here.
            if (served is null || !served.MatchesHostname(host.Trim('[', ']'), allowWildcards: false, allowCommonName: false))
            {
                return false;
            }

            errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
        }

        return AgentJoin.ChainsTo(served, clusterCa, errors);
    }
}

/// <summary>One TLS handshake of the channel as seen on the wire: bytes sent and received until it completed.</summary>
internal sealed record TlsHandshake(long BytesSent, long BytesReceived);
