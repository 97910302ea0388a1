using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Identity;
using Verge.Core.Security;

namespace Verge.Agent.Tests.Identity;

/// <summary>Agents joining a real API server over HTTPS, pinning its CA by the hash in the token.</summary>
public sealed class AgentJoinTests(JoinServerFixture server) : IClassFixture<JoinServerFixture>, IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("verge-agent-join-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private AgentJoinOptions Options(string node, string? token, string? hash = null, params Uri[] servers) => new()
    {
        Servers = servers.Length > 0 ? servers : [server.Address],
        Token = token,
        CaCertHash = hash,
        DataDir = _dataDir,
        NodeName = node,
        RequestTimeout = TimeSpan.FromSeconds(20),
    };

    private static Task<NodeIdentity> JoinAsync(AgentJoinOptions options) =>
        AgentJoin.LoadOrJoinAsync(options, NullLogger.Instance, CancellationToken.None);

    private string IdentityDir => Path.Combine(_dataDir, NodeIdentity.DirectoryName);

    [Fact]
    public async Task LoadOrJoin_WithPinnedToken_GetsNodeCertificateThatTheServerAccepts()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));

        var identity = await JoinAsync(Options("edge-a", token.ToString()));

        Assert.Equal("edge-a", identity.NodeName);
        Assert.Equal("O=system:nodes, CN=system:node:edge-a", identity.ClientCertificate.Subject);
        Assert.True(identity.ClientCertificate.HasPrivateKey);
        Assert.Equal(CaPin.Compute(server.Ca), CaPin.Compute(identity.ClusterCa));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(IdentityDir, NodeIdentity.KeyFile)));
        }

        using var client = server.Client(identity.ClientCertificate);
        using var own = await client.GetAsync("/api/v1/nodes/edge-a");
        using var secrets = await client.GetAsync("/api/v1/namespaces/kube-system/secrets");
        Assert.Equal(HttpStatusCode.NotFound, own.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, secrets.StatusCode);
    }

    [Fact]
    public async Task LoadOrJoin_AfterRestart_ReusesSavedIdentityWithoutToken()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));
        var first = await JoinAsync(Options("edge-b", token.ToString()));

        var second = await JoinAsync(Options("edge-b", token: null, servers: new Uri("https://127.0.0.1:1")));

        Assert.Equal(first.ClientCertificate.Thumbprint, second.ClientCertificate.Thumbprint);
        Assert.True(second.ClientCertificate.HasPrivateKey);
    }

    [Fact]
    public async Task LoadOrJoin_WhenSavedIdentityIsForAnotherName_Fails()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));
        await JoinAsync(Options("edge-c", token.ToString()));

        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-other", token.ToString())));

        Assert.Equal(JoinFailure.BadIdentity, error.Failure);
        Assert.Contains("system:node:edge-c", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadOrJoin_WhenServerCaDoesNotMatchPin_RefusesAndSavesNothing()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));
        var forged = new JoinToken(token.Id, token.Secret, "sha256:" + new string('a', 64));

        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-d", forged.ToString())));

        Assert.Equal(JoinFailure.CaMismatch, error.Failure);
        Assert.Contains("the server's CA does not match the token's hash", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(IdentityDir));
    }

    [Fact]
    public async Task LoadOrJoin_WithUnknownToken_FailsUnauthorized()
    {
        var unknown = JoinToken.Generate(CaPin.Compute(server.Ca));

        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-e", unknown.ToString())));

        Assert.Equal(JoinFailure.Unauthorized, error.Failure);
        Assert.Contains("401", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(IdentityDir));
    }

    [Fact]
    public async Task LoadOrJoin_WithExpiredToken_FailsUnauthorized()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromMinutes(-1));

        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-f", token.ToString())));

        Assert.Equal(JoinFailure.Unauthorized, error.Failure);
    }

    [Theory]
    [InlineData("abcdef.0123456789")]
    [InlineData("ABCDEF.0123456789abcdef")]
    [InlineData("K10xyz::abcdef.0123456789abcdef")]
    [InlineData("not a token")]
    public async Task LoadOrJoin_WithMalformedToken_FailsBeforeDialling(string token)
    {
        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-g", token)));

        Assert.Equal(JoinFailure.InvalidToken, error.Failure);
        Assert.StartsWith("invalid token format", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadOrJoin_WithBareTokenAndNoHash_RefusesToJoin()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));

        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-h", token.BootstrapToken)));

        Assert.Equal(JoinFailure.Configuration, error.Failure);
        Assert.Contains("--ca-cert-hash", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadOrJoin_WithBareTokenAndCaCertHash_Joins()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));

        var identity = await JoinAsync(Options("edge-i", token.BootstrapToken, CaPin.Compute(server.Ca).ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal)));

        Assert.Equal("O=system:nodes, CN=system:node:edge-i", identity.ClientCertificate.Subject);
    }

    [Fact]
    public async Task LoadOrJoin_WhenFirstServerIsDown_JoinsThroughTheNext()
    {
        var token = await server.CreateTokenAsync(TimeSpan.FromHours(1));
        var down = new Uri($"https://127.0.0.1:{ClosedPort()}");

        var identity = await JoinAsync(Options("edge-j", token.ToString(), null, down, server.Address));

        Assert.Equal("edge-j", identity.NodeName);
    }

    [Fact]
    public async Task LoadOrJoin_WhenIdentityIsIncomplete_FailsWithClearError()
    {
        Directory.CreateDirectory(IdentityDir);
        await File.WriteAllTextAsync(Path.Combine(IdentityDir, NodeIdentity.CaFile), server.Ca.ExportCertificatePem());

        var error = await Assert.ThrowsAsync<AgentJoinException>(() => JoinAsync(Options("edge-k", token: null)));

        Assert.Equal(JoinFailure.BadIdentity, error.Failure);
        Assert.Contains("incomplete", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChainsTo_WhenServerCertificateIsFromAnotherCa_Refuses()
    {
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(server.DataDir, "pki", "server.crt")));
        var otherDir = Directory.CreateTempSubdirectory("verge-other-ca-").FullName;
        try
        {
            using var other = Verge.ApiServer.Security.CertificateAuthority.LoadOrCreate(otherDir, TimeProvider.System);

            Assert.False(AgentJoin.ChainsTo(leaf, other.Certificate, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.True(AgentJoin.ChainsTo(leaf, server.Ca, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.False(AgentJoin.ChainsTo(leaf, server.Ca, System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch));
        }
        finally
        {
            Directory.Delete(otherDir, recursive: true);
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
