using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Verge.Core.Core;
using Verge.Core.Security;

namespace Verge.Core.Tests.Security;

public sealed class JoinTokenTests
{
    private static readonly string Hex = new('a', 64);

    [Fact]
    public void Parse_BareToken_HasNoPin()
    {
        var token = JoinToken.Parse("abcdef.0123456789abcdef");

        Assert.Equal(("abcdef", "0123456789abcdef", (string?)null), (token.Id, token.Secret, token.CaHash));
        Assert.Equal("abcdef.0123456789abcdef", token.ToString());
    }

    [Fact]
    public void Parse_PinnedToken_CarriesTheCaHash()
    {
        var token = JoinToken.Parse($"K10{Hex.ToUpperInvariant()}::abcdef.0123456789abcdef");

        Assert.Equal("sha256:" + Hex, token.CaHash);
        Assert.Equal($"K10{Hex}::abcdef.0123456789abcdef", token.ToString());
        Assert.Equal("abcdef.0123456789abcdef", token.BootstrapToken);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abcdef")]
    [InlineData("abcdef.")]
    [InlineData("abcde.0123456789abcdef")]
    [InlineData("abcdef.0123456789abcde")]
    [InlineData("abcdeF.0123456789abcdef")]
    [InlineData("abc-ef.0123456789abcdef")]
    [InlineData("K10abc::abcdef.0123456789abcdef")]
    [InlineData("X10aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa::abcdef.0123456789abcdef")]
    [InlineData("K10gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg::abcdef.0123456789abcdef")]
    [InlineData("abcdef.0123456789abcdef.x")]
    public void TryParse_Malformed_FailsWithMessage(string text)
    {
        Assert.False(JoinToken.TryParse(text, out _, out var error));
        Assert.Contains("ID.SECRET", error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => JoinToken.Parse(text));
    }

    [Fact]
    public void Generate_MakesWellFormedDistinctTokens()
    {
        var tokens = Enumerable.Range(0, 50).Select(_ => JoinToken.Generate()).ToList();

        Assert.All(tokens, t => Assert.Equal(t, JoinToken.Parse(t.ToString())));
        Assert.Equal(50, tokens.Select(t => t.Secret).Distinct().Count());
    }

    [Fact]
    public void HashSecret_IsSha256Hex()
    {
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("0123456789abcdef"))), JoinToken.HashSecret("0123456789abcdef"));
    }

    [Fact]
    public void CaPin_IsSha256OfSubjectPublicKeyInfo()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));

        var pin = CaPin.Compute(ca);

        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo())), pin);
        Assert.True(CaPin.Matches(ca, pin.ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal)));
        Assert.False(CaPin.Matches(ca, "sha256:" + Hex));
        Assert.Throws<FormatException>(() => CaPin.Normalize("sha256:xyz"));
    }

    [Fact]
    public void BootstrapTokenSecret_RoundTripsWithoutTheSecret()
    {
        var token = JoinToken.Parse("abcdef.0123456789abcdef");
        var expires = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var secret = BootstrapTokenSecret.Create(token, expires, "why");

        Assert.Equal(("bootstrap-token-abcdef", "kube-system", "bootstrap.kubernetes.io/token"), (secret.Metadata.Name, secret.Metadata.Namespace, secret.Type));
        Assert.DoesNotContain(secret.Data!.Values, v => Encoding.UTF8.GetString(v).Contains(token.Secret, StringComparison.Ordinal));
        Assert.Equal("2026-01-02T03:04:05Z", Encoding.UTF8.GetString(secret.Data["expiration"]));
        Assert.True(BootstrapTokenSecret.TryRead(secret, out var info));
        Assert.Equal(new BootstrapTokenInfo("abcdef", JoinToken.HashSecret(token.Secret), expires, "why", true), info);
    }

    [Fact]
    public void BootstrapTokenSecret_OtherSecretTypes_AreNotTokens()
    {
        Assert.False(BootstrapTokenSecret.TryRead(new Secret { Type = "Opaque", Data = [] }, out _));
    }
}
