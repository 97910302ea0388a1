using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Verge.ApiServer.Security;

namespace Verge.ApiServer.Tests.Security;

public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "verge-ca-test-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Verify_WhenVerifiedBefore_StaysTrueOnRepeatedCalls()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        using var client = Client(ca, TimeSpan.FromHours(1));

        Assert.True(ca.Verify(client));
        Assert.True(ca.Verify(client));
        _time.Advance(CertificateAuthority.VerdictLifetime + TimeSpan.FromSeconds(1));
        Assert.True(ca.Verify(client));
    }

    [Fact]
    public void Verify_WhenCertificateExpiresAfterAVerdict_ReturnsFalse()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        using var client = Client(ca, TimeSpan.FromSeconds(30));
        Assert.True(ca.Verify(client));

        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.False(ca.Verify(client));
    }

    [Fact]
    public void Verify_WhenIssuedByAnotherCa_ReturnsFalseEveryTime()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        using var other = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "b"), _time);
        using var foreign = Client(other, TimeSpan.FromHours(1));
        using var own = Client(ca, TimeSpan.FromHours(1));
        Assert.True(ca.Verify(own));

        Assert.False(ca.Verify(foreign));
        Assert.False(ca.Verify(foreign));
    }

    private static X509Certificate2 Client(CertificateAuthority ca, TimeSpan lifetime)
    {
        var (certificatePem, _) = ca.IssueClient("user", ["group"], lifetime);
        return X509Certificate2.CreateFromPem(certificatePem);
    }
}
