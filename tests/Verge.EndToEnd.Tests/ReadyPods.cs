using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Verge.EndToEnd.Tests;

/// <summary>
/// Plays the part of the nodes until the agent exists: every pod that appears is marked Running and Ready through
/// the pod status subresource, as a node would report it.
/// </summary>
internal sealed class ReadyPods : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ReadyPods(ServerProcess server, string ns)
    {
        var client = DurabilityTests.AdminClient(server);
        _loop = Task.Run(() => RunAsync(client, ns, _stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private static async Task RunAsync(HttpClient client, string ns, CancellationToken ct)
    {
        using (client)
        {
            while (!ct.IsCancellationRequested)
            {
                var list = JsonNode.Parse(await client.GetStringAsync($"/api/v1/namespaces/{ns}/pods", ct))!;
                foreach (var pod in list["items"]!.AsArray())
                {
                    await MarkReadyAsync(client, ns, pod!, ct);
                }

                var rv = list["metadata"]!["resourceVersion"]!.GetValue<string>();
                using var response = await client.GetAsync($"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=300",
                    HttpCompletionOption.ResponseHeadersRead, ct);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                string? line;
                while ((line = await reader.ReadLineAsync(ct)) is not null)
                {
                    var e = JsonNode.Parse(line)!;
                    if (e["type"]!.GetValue<string>() is "ADDED" or "MODIFIED")
                    {
                        await MarkReadyAsync(client, ns, e["object"]!, ct);
                    }
                }
            }
        }
    }

    private static async Task MarkReadyAsync(HttpClient client, string ns, JsonNode pod, CancellationToken ct)
    {
        var conditions = pod["status"]?["conditions"]?.AsArray();
        if (pod["metadata"]!["deletionTimestamp"] is not null
            || conditions?.Any(c => c!["type"]!.GetValue<string>() == "Ready" && c["status"]!.GetValue<string>() == "True") == true)
        {
            return;
        }

        var name = pod["metadata"]!["name"]!.GetValue<string>();
        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var status = $$$"""{"status":{"phase":"Running","startTime":"{{{now}}}","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"{{{now}}}"}]}}""";
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/pods/{name}/status")
        {
            Content = new StringContent(status, Encoding.UTF8, new MediaTypeHeaderValue("application/merge-patch+json")),
        };
        using var response = await client.SendAsync(patch, ct);
    }
}
