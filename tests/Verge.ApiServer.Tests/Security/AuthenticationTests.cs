using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Security;
using Verge.Store;

namespace Verge.ApiServer.Tests.Security;

public sealed class AuthenticationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "verge-auth-test-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void UserOfCertificate_WhenAskedAgainForTheSameCertificate_ReturnsTheUserFoundFirst()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        var authentication = Authentication(ca);
        using var client = Client(ca, TimeSpan.FromHours(1));

        var first = authentication.UserOfCertificate(client);
        var second = authentication.UserOfCertificate(client);

        Assert.NotNull(first);
        Assert.Equal("user", first.Name);
        Assert.Equal(["group"], first.Groups);
        Assert.Same(first, second);
    }

    [Fact]
    public void UserOfCertificate_WhenTheCertificateExpiresAfterItWasKnown_ReturnsNull()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        var authentication = Authentication(ca);
        using var client = Client(ca, TimeSpan.FromSeconds(30));
        Assert.NotNull(authentication.UserOfCertificate(client));

        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Null(authentication.UserOfCertificate(client));
    }

    [Fact]
    public void UserOfCertificate_WhenTheVerdictLapses_AsksTheCaAgainAndKeepsTheUser()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        var authentication = Authentication(ca);
        using var client = Client(ca, TimeSpan.FromHours(1));
        var first = authentication.UserOfCertificate(client);

        _time.Advance(CertificateAuthority.VerdictLifetime + TimeSpan.FromSeconds(1));
        var again = authentication.UserOfCertificate(client);

        Assert.NotNull(again);
        Assert.Equal(first!.Name, again.Name);
    }

    [Fact]
    public void UserOfCertificate_WhenIssuedByAnotherCa_ReturnsNull()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), _time);
        using var other = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "b"), _time);
        var authentication = Authentication(ca);
        using var foreign = Client(other, TimeSpan.FromHours(1));

        Assert.Null(authentication.UserOfCertificate(foreign));
        Assert.Null(authentication.UserOfCertificate(foreign));
    }

    private Authentication Authentication(CertificateAuthority ca) =>
        new(ca, new BootstrapTokenStore(new ResourceService(new InMemoryKeyValueStore(), _time), _time), _time);

    private static X509Certificate2 Client(CertificateAuthority ca, TimeSpan lifetime)
    {
        var (certificatePem, _) = ca.IssueClient("user", ["group"], lifetime);
        return X509Certificate2.CreateFromPem(certificatePem);
    }
}
