using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization;

namespace Verge.EndToEnd.Tests;

public sealed class DurabilityTests
{
    [Fact]
    public async Task KillDuringWrites_EveryAcknowledgedCreateSurvivesRestart()
    {
        var server = new ServerProcess();
        await server.StartAsync();
        var acknowledged = new ConcurrentBag<string>();
        using (var client = AdminClient(server))
        {
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var name = $"w{w}-{i}";
                    var body = $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}"},"data":{"i":"{{{i}}}"}}""";
                    try
                    {
                        var response = await client.PostAsync("/api/v1/namespaces/default/configmaps",
                            new StringContent(body, Encoding.UTF8, "application/json"));
                        if (response.StatusCode == HttpStatusCode.Created)
                        {
                            acknowledged.Add(name);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                }
            })).ToArray();

            // Let the writers get going, then pull the plug on the server mid-write.
            while (acknowledged.Count < 300 && !writers.All(t => t.IsCompleted))
            {
                await Task.Yield();
            }

            server.Kill();
            stop.Cancel();
            await Task.WhenAll(writers);
        }

        var restarted = new ServerProcess(server.DataDir);
        await restarted.StartAsync();
        try
        {
            using var client = AdminClient(restarted);
            var list = JsonNode.Parse(await client.GetStringAsync("/api/v1/namespaces/default/configmaps"))!;
            var present = list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToHashSet();
            var lost = acknowledged.Where(n => !present.Contains(n)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} of {acknowledged.Count} acknowledged creates were lost, e.g. {string.Join(", ", lost.Take(5))}");
        }
        finally
        {
            await restarted.DisposeAsync();
            restarted.DeleteData();
        }
    }

    internal static HttpClient AdminClient(ServerProcess server)
    {
        var config = YamlReader.ReadSingle(File.ReadAllText(server.Kubeconfig))!;
        var user = config["users"]![0]!["user"]!;
        string Pem(string field) => Encoding.UTF8.GetString(Convert.FromBase64String(user[field]!.GetValue<string>()));
        var certificate = X509Certificate2.CreateFromPem(Pem("client-certificate-data"), Pem("client-key-data"));
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(server.DataDir, "pki", "ca.crt")));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [certificate];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return cert is X509Certificate2 c && chain.Build(c);
        };
        return new HttpClient(handler) { BaseAddress = new Uri(server.Url) };
    }
}
