using System.Diagnostics;
using System.Net;
using System.Text;

namespace Verge.Benchmarks.Api;

/// <summary>
/// Creates pods through the API with a fixed number of closed-loop clients: each client has its own HTTP/2
/// connection and keeps one request in flight, so concurrency equals the client count.
/// </summary>
internal static class CreateLoad
{
    public sealed record Result(int Created, TimeSpan Elapsed, Latencies Latency, int Failures, string? FirstFailure)
    {
        public double PerSecond => Created / Elapsed.TotalSeconds;
    }

    public static async Task<Result> RunAsync(IReadOnlyList<HttpClient> clients, string prefix, int count, CancellationToken ct)
    {
        var next = -1;
        var failures = 0;
        string? firstFailure = null;
        var perClient = new List<long>[clients.Count];
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
        {
            var latencies = perClient[c] = new List<long>(count / clients.Count + 1);
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var body = PodBody($"{prefix}-{i}");
                var t0 = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync("/api/v1/namespaces/default/pods", body, ct);
                var text = await response.Content.ReadAsByteArrayAsync(ct);
                var t1 = Stopwatch.GetTimestamp();
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    latencies.Add(t1 - t0);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure, $"{(int)response.StatusCode}: {Encoding.UTF8.GetString(text)}", null);
                }
            }
        }, ct)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var all = new Latencies(perClient.SelectMany(l => l));
        return new Result(all.Count, elapsed, all, failures, firstFailure);
    }

    private static ByteArrayContent PodBody(string name)
    {
        var json = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name + "\"}," +
            "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}";
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }
}
