using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Verge.Benchmarks.Api;

/// <summary>Reads every pod in the cluster with paged LISTs (<c>limit</c> and <c>continue</c>), as an informer's initial list does.</summary>
internal static class ListScan
{
    public sealed record Result(int Items, int Pages, TimeSpan Elapsed, Latencies PageLatency);

    public static async Task<Result> RunAsync(HttpClient client, int limit, CancellationToken ct)
    {
        var pageTimes = new List<long>();
        var items = 0;
        string? token = null;
        var started = Stopwatch.GetTimestamp();
        do
        {
            var url = token is null ? $"/api/v1/pods?limit={limit}" : $"/api/v1/pods?limit={limit}&continue={Uri.EscapeDataString(token)}";
            var t0 = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead, ct);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            pageTimes.Add(Stopwatch.GetTimestamp() - t0);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"LIST page {pageTimes.Count} failed: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
            }

            using var page = JsonDocument.Parse(body);
            items += page.RootElement.GetProperty("items").GetArrayLength();
            token = page.RootElement.GetProperty("metadata").TryGetProperty("continue", out var c) ? c.GetString() : null;
        }
        while (!string.IsNullOrEmpty(token));

        return new Result(items, pageTimes.Count, Stopwatch.GetElapsedTime(started), new Latencies(pageTimes));
    }
}
