using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.ApiServer.Security;
using Verge.Core.Core;
using Verge.Core.Security;
using Verge.Core.Serialization;

namespace Verge.Agent.Tests.Identity;

/// <summary>A real API server on 127.0.0.1 (a free port) that agents join, with an admin client to make tokens.</summary>
public sealed class JoinServerFixture : IAsyncLifetime
{
    private HttpClient _admin = null!;

    public string DataDir { get; } = Directory.CreateTempSubdirectory("verge-join-server-").FullName;

    public ApiServerHost Host { get; private set; } = null!;

    public X509Certificate2 Ca { get; private set; } = null!;

    public Uri Address => Host.Address;

    public async Task InitializeAsync()
    {
        Host = await ApiServerHost.CreateAsync(new ApiServerOptions { DataDir = DataDir, Listen = "127.0.0.1:0" });
        await Host.StartAsync();
        Ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(DataDir, "pki", "ca.crt")));
        var ca = (CertificateAuthority)Host.Services.GetService(typeof(CertificateAuthority))!;
        var (cert, key) = ca.IssueClient("test-admin", [UserInfo.MastersGroup], TimeSpan.FromHours(1));
        _admin = Client(X509Certificate2.CreateFromPem(cert, key));
    }

    /// <summary>Stores a new join token (optionally already expired) and returns it with the CA pin.</summary>
    public async Task<JoinToken> CreateTokenAsync(TimeSpan? ttl = null)
    {
        var token = JoinToken.Generate(CaPin.Compute(Ca));
        var secret = BootstrapTokenSecret.Create(token, ttl is { } t ? DateTimeOffset.UtcNow + t : null, "test");
        var json = JsonSerializer.Serialize(secret, VergeJson.Options.GetTypeInfo(typeof(Secret)));
        using var response = await _admin.PostAsync("/api/v1/namespaces/kube-system/secrets", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return token;
    }

    /// <summary>An HttpClient that trusts the cluster CA and presents <paramref name="certificate"/>.</summary>
    public HttpClient Client(X509Certificate2? certificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, serverCert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(Ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return serverCert is X509Certificate2 c && chain.Build(c);
        };
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        var client = new HttpClient(handler) { BaseAddress = Address };
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await Host.DisposeAsync();
        Ca.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
