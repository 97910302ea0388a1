using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Verge.Agent.Channel;

namespace Verge.Agent.Tests.Channel;

public sealed class ChannelTlsTests
{
    [Theory]
    [InlineData("10.0.0.1", 6443, "ip0a000001192b.invalid")]
    [InlineData("[::1]", 443, "ip0000000000000000000000000000000101bb.invalid")]
    [InlineData("control.example", 6443, "control.example")]
    public void TargetName_IsTheDnsNameOrAStandInForTheAddressAndPort(string host, int port, string expected) =>
        Assert.Equal(expected, ChannelTls.TargetName(host, port));

    [Fact]
    public void TargetName_DiffersByPort_SoTwoServersOnOneAddressKeepTheirOwnSessions() =>
        Assert.NotEqual(ChannelTls.TargetName("10.0.0.1", 6443), ChannelTls.TargetName("10.0.0.1", 6444));

    [Fact]
    public void IsTrusted_ServerDialledByAddress_AcceptsOnlyACertificateNamingThatAddress()
    {
        using var ca = Ca(out var caKey);
        using var serving = Serving(ca, caKey, "server.example", IPAddress.Parse("10.0.0.1"));

        // TLS reports a name mismatch for the stand-in target name; the address is what counts.
        Assert.True(ChannelTls.IsTrusted(serving, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors, "10.0.0.1", ca));
        Assert.False(ChannelTls.IsTrusted(serving, SslPolicyErrors.RemoteCertificateNameMismatch, "10.0.0.2", ca));
    }

    [Theory]
    [InlineData("[fd00::1]")]
    [InlineData("fd00::1")]
    public void IsTrusted_ServerDialledByIpv6Address_ChecksTheAddress(string host)
    {
        using var ca = Ca(out var caKey);
        using var serving = Serving(ca, caKey, "server.example", IPAddress.Parse("fd00::1"));
        using var other = Serving(ca, caKey, "server.example", IPAddress.Parse("fd00::2"));

        Assert.True(ChannelTls.IsTrusted(serving, SslPolicyErrors.RemoteCertificateNameMismatch, host, ca));
        Assert.False(ChannelTls.IsTrusted(other, SslPolicyErrors.RemoteCertificateNameMismatch, host, ca));
    }

    [Fact]
    public void IsTrusted_ServerDialledByName_RefusesANameMismatch()
    {
        using var ca = Ca(out var caKey);
        using var serving = Serving(ca, caKey, "server.example", IPAddress.Parse("10.0.0.1"));

        Assert.True(ChannelTls.IsTrusted(serving, SslPolicyErrors.RemoteCertificateChainErrors, "server.example", ca));
        Assert.False(ChannelTls.IsTrusted(serving, SslPolicyErrors.RemoteCertificateNameMismatch, "other.example", ca));
    }

    [Fact]
    public void IsTrusted_CertificateFromAnotherCa_IsRefused()
    {
        using var ca = Ca(out _);
        using var other = Ca(out var otherKey);
        using var serving = Serving(other, otherKey, "server.example", IPAddress.Parse("10.0.0.1"));

        Assert.False(ChannelTls.IsTrusted(serving, SslPolicyErrors.RemoteCertificateChainErrors, "10.0.0.1", ca));
        Assert.False(ChannelTls.IsTrusted(null, SslPolicyErrors.RemoteCertificateNotAvailable, "10.0.0.1", ca));
    }

    private static X509Certificate2 Ca(out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Serving(X509Certificate2 ca, ECDsa caKey, string dnsName, IPAddress address)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=server", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        san.AddIpAddress(address);
        request.CertificateExtensions.Add(san.Build());
        return request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3, 4]);
    }
}
