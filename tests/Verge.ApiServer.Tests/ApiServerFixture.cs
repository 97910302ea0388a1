using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.ApiServer.Serialization;

namespace Verge.ApiServer.Tests;

/// <summary>A real API server on 127.0.0.1 (a free port) over a fresh SQLite data dir, with admin and anonymous clients.</summary>
public class ApiServerFixture : IAsyncLifetime
{
    private readonly List<HttpClient> _clients = [];

    public string DataDir { get; } = Directory.CreateTempSubdirectory("verge-api-").FullName;

    internal ApiServerHost Host { get; private set; } = null!;

    public Uri Address => Host.Address;

    public string KubeconfigPath => Host.AdminKubeconfigPath;

    /// <summary>Options the test may change before the server starts.</summary>
    public ApiServerOptions Options { get; } = new() { Listen = "127.0.0.1:0", MaxRequestBodyBytes = 256 * 1024 };

    public async Task InitializeAsync()
    {
        Options.DataDir = DataDir;
        Configure(Options);
        Host = await ApiServerHost.CreateAsync(Options);
        await Host.StartAsync();
    }

    /// <summary>Lets a derived fixture change the options before the server starts.</summary>
    protected virtual void Configure(ApiServerOptions options)
    {
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        await Host.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>An HttpClient authenticated with the admin client certificate from the kubeconfig.</summary>
    public HttpClient AdminClient(Action<SocketsHttpHandler>? configure = null)
    {
        var config = YamlReader.ReadSingle(File.ReadAllText(KubeconfigPath))!;
        var user = config["users"]![0]!["user"]!;
        var cert = Encoding.UTF8.GetString(Convert.FromBase64String(user["client-certificate-data"]!.GetValue<string>()));
        var key = Encoding.UTF8.GetString(Convert.FromBase64String(user["client-key-data"]!.GetValue<string>()));
        return NewClient(X509Certificate2.CreateFromPem(cert, key), configure);
    }

    /// <summary>An HttpClient that trusts the cluster CA but presents no credentials.</summary>
    public HttpClient AnonymousClient() => NewClient(null);

    /// <summary>An HttpClient with a client certificate from the cluster CA for a user outside system:masters.</summary>
    public HttpClient UserClient(string user, params string[] groups)
    {
        var ca = Host.Services.GetService(typeof(Verge.ApiServer.Security.CertificateAuthority)) as Verge.ApiServer.Security.CertificateAuthority;
        var (cert, key) = ca!.IssueClient(user, groups, TimeSpan.FromHours(1));
        return NewClient(X509Certificate2.CreateFromPem(cert, key));
    }

    private HttpClient NewClient(X509Certificate2? certificate, Action<SocketsHttpHandler>? configure = null)
    {
        var caPem = File.ReadAllText(Path.Combine(DataDir, "pki", "ca.crt"));
        var ca = X509Certificate2.CreateFromPem(caPem);
        var handler = new SocketsHttpHandler();
        configure?.Invoke(handler);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, serverCert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return serverCert is X509Certificate2 c && chain.Build(c);
        };
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        var client = new HttpClient(handler) { BaseAddress = Address };
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _clients.Add(client);
        return client;
    }
}

/// <summary>Helpers for raw API calls.</summary>
internal static class Api
{
    public static StringContent Json(string json, string mediaType = "application/json") => new(json, Encoding.UTF8, mediaType);

    public static async Task<JsonObject> ReadObjectAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static async Task<JsonObject> StatusOf(HttpResponseMessage response, int expectedCode)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expectedCode, $"expected {expectedCode}, got {(int)response.StatusCode}: {body}");
        var status = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal("Failure", status["status"]!.GetValue<string>());
        Assert.Equal(expectedCode, status["code"]!.GetValue<int>());
        return status;
    }

    public static string ConfigMap(string name, string? ns = null, string data = "{\"k\":\"v\"}", string labels = "{}") =>
        $$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{name}}"{{(ns is null ? "" : $",\"namespace\":\"{ns}\"")}},"labels":{{labels}}},"data":{{data}}}""";
}
