using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Security;
using Verge.Core.Security;

namespace Verge.ApiServer.Tests.Nodes;

/// <summary>POST /verge/v1/join over real HTTPS, without a client certificate.</summary>
public sealed class JoinEndpointTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _anonymous = server.AnonymousClient();

    private BootstrapTokenStore Tokens => server.Host.Services.GetRequiredService<BootstrapTokenStore>();

    private CertificateAuthority Ca => server.Host.Services.GetRequiredService<CertificateAuthority>();

    private static string EcCsr(ECCurve curve, string cn = "anything")
    {
        using var key = ECDsa.Create(curve);
        return new CertificateRequest("CN=" + cn, key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }

    private static string RsaCsr(int bits)
    {
        using var key = RSA.Create(bits);
        return new CertificateRequest("CN=rsa", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
    }

    private static string Body(string? token, string? node, string? csr)
    {
        var body = new JsonObject();
        if (token is not null)
        {
            body["token"] = token;
        }

        if (node is not null)
        {
            body["nodeName"] = node;
        }

        if (csr is not null)
        {
            body["csr"] = csr;
        }

        return body.ToJsonString();
    }

    private async Task<string> TokenAsync(TimeSpan? ttl = null) =>
        (await Tokens.CreateAsync(ttl ?? TimeSpan.FromHours(1), "join test", null, CancellationToken.None)).BootstrapToken;

    private Task<HttpResponseMessage> JoinAsync(string body) => _anonymous.PostAsync("/verge/v1/join", Api.Json(body));

    [Fact]
    public async Task Join_WithValidTokenAndCsr_IssuesNodeClientCertificateForOneYear()
    {
        var response = await JoinAsync(Body(await TokenAsync(), "edge-1", EcCsr(ECCurve.NamedCurves.nistP256, "someone-else")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.ReadObjectAsync();
        using var cert = X509Certificate2.CreateFromPem(answer["certificate"]!.GetValue<string>());
        using var ca = X509Certificate2.CreateFromPem(answer["caCertificate"]!.GetValue<string>());
        Assert.Equal(CaPin.Compute(Ca.Certificate), CaPin.Compute(ca));
        Assert.True(Ca.Verify(cert));
        var user = Authentication.FromCertificate(cert);
        Assert.Equal("system:node:edge-1", user.Name);
        Assert.Equal(["system:nodes"], user.Groups);
        var eku = Assert.Single(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        Assert.InRange(cert.NotAfter - cert.NotBefore, TimeSpan.FromDays(365), TimeSpan.FromDays(365) + TimeSpan.FromMinutes(6));
        Assert.False(Assert.Single(cert.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
    }

    [Theory]
    [InlineData("rsa2048")]
    [InlineData("p384")]
    public async Task Join_WithOtherAcceptedKeys_Succeeds(string kind)
    {
        var csr = kind == "rsa2048" ? RsaCsr(2048) : EcCsr(ECCurve.NamedCurves.nistP384);

        var response = await JoinAsync(Body(await TokenAsync(), "edge-" + kind, csr));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Join_WithUnknownToken_Is401()
    {
        var status = await Api.StatusOf(await JoinAsync(Body(JoinToken.Generate().BootstrapToken, "edge-2", EcCsr(ECCurve.NamedCurves.nistP256))), 401);

        Assert.Equal("Unauthorized", status["reason"]!.GetValue<string>());
        Assert.Equal("the bootstrap token is invalid or has expired", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Join_WithWrongSecret_Is401()
    {
        var id = (await TokenAsync()).Split('.')[0];

        await Api.StatusOf(await JoinAsync(Body(id + ".zzzzzzzzzzzzzzzz", "edge-3", EcCsr(ECCurve.NamedCurves.nistP256))), 401);
    }

    [Fact]
    public async Task Join_WithExpiredToken_Is401()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow - TimeSpan.FromDays(2));
        var expired = await new BootstrapTokenStore(server.Host.Services.GetRequiredService<Registry.ResourceService>(), time)
            .CreateAsync(TimeSpan.FromHours(1), null, null, CancellationToken.None);

        await Api.StatusOf(await JoinAsync(Body(expired.BootstrapToken, "edge-4", EcCsr(ECCurve.NamedCurves.nistP256))), 401);
    }

    [Fact]
    public async Task Join_WithPinnedTokenForm_Is401()
    {
        // The pin is for the agent; the endpoint takes the bare ID.SECRET only.
        var token = JoinToken.Parse(await TokenAsync());
        var pinned = new JoinToken(token.Id, token.Secret, CaPin.Compute(Ca.Certificate)).ToString();

        await Api.StatusOf(await JoinAsync(Body(pinned, "edge-5", EcCsr(ECCurve.NamedCurves.nistP256))), 401);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"token\":1}")]
    [InlineData("")]
    public async Task Join_WithMalformedBody_Is400(string body)
    {
        await Api.StatusOf(await JoinAsync(body), 400);
    }

    [Fact]
    public async Task Join_WithMissingCsr_Is400()
    {
        await Api.StatusOf(await JoinAsync(Body(await TokenAsync(), "edge-6", null)), 400);
    }

    [Theory]
    [InlineData("Edge_7")]
    [InlineData("-edge")]
    [InlineData("edge..7")]
    public async Task Join_WithInvalidNodeName_Is422(string name)
    {
        var status = await Api.StatusOf(await JoinAsync(Body(await TokenAsync(), name, EcCsr(ECCurve.NamedCurves.nistP256))), 422);

        Assert.Contains("nodeName", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Join_WithGarbageCsr_Is422()
    {
        await Api.StatusOf(await JoinAsync(Body(await TokenAsync(), "edge-8", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")), 422);
    }

    [Fact]
    public async Task Join_WithTamperedCsrSignature_Is422()
    {
        var pem = EcCsr(ECCurve.NamedCurves.nistP256);
        var der = PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : [];
        der[^3] ^= 0x01;
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);

        var status = await Api.StatusOf(await JoinAsync(Body(await TokenAsync(), "edge-9", tampered)), 422);

        Assert.Contains("signature", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Join_WithWeakRsaKey_Is422()
    {
        var status = await Api.StatusOf(await JoinAsync(Body(await TokenAsync(), "edge-10", RsaCsr(1024))), 422);

        Assert.Contains("2048", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Join_WithP521Key_Is422()
    {
        await Api.StatusOf(await JoinAsync(Body(await TokenAsync(), "edge-11", EcCsr(ECCurve.NamedCurves.nistP521))), 422);
    }

    [Fact]
    public async Task Join_WithGet_Is405()
    {
        await Api.StatusOf(await _anonymous.GetAsync("/verge/v1/join"), 405);
    }

    [Fact]
    public async Task CaCerts_ServesTheClusterCaWithoutAuthentication()
    {
        var pem = await _anonymous.GetStringAsync("/verge/v1/cacerts");

        using var ca = X509Certificate2.CreateFromPem(pem);
        Assert.Equal(CaPin.Compute(Ca.Certificate), CaPin.Compute(ca));
    }

    [Fact]
    public async Task Api_WithNodeCertificateFromAnotherCa_Is401()
    {
        var otherDir = Directory.CreateTempSubdirectory("verge-forged-ca-").FullName;
        try
        {
            using var forger = CertificateAuthority.LoadOrCreate(otherDir, TimeProvider.System);
            var (cert, key) = forger.IssueClient("system:node:edge-1", ["system:nodes"], TimeSpan.FromHours(1));
            using var forged = X509Certificate2.CreateFromPem(cert, key);
            using var client = NodeAuthorizationTests.ClientWith(server, forged);

            await Api.StatusOf(await client.GetAsync("/api/v1/nodes/edge-1"), 401);
            await Api.StatusOf(await client.GetAsync("/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-1"), 401);
        }
        finally
        {
            Directory.Delete(otherDir, recursive: true);
        }
    }
}
