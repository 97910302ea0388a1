using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Verge.ApiServer.NodeChannel;
using Verge.Core.Core;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Http;

internal sealed partial class ResourceEndpoint
{
    /// <summary>
    /// <c>GET pods/{name}/log</c>: relays the request to the agent of the pod's node over its node channel session
    /// and streams the chunks back as text/plain, flushing each one so that <c>kubectl logs -f</c> follows. The
    /// response starts with the agent's first chunk (or after a short wait, for a follow that has nothing yet);
    /// an agent error before that becomes a 400, as the kubelet's errors do.
    /// </summary>
    private async Task LogAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var query = context.Request.Query;
        var request = new LogRequest
        {
            Namespace = path.Namespace!,
            Pod = path.Name!,
            Container = query["container"].ToString(),
            Follow = ParseBool(query["follow"].ToString(), "follow"),
            Previous = ParseBool(query["previous"].ToString(), "previous"),
            Timestamps = ParseBool(query["timestamps"].ToString(), "timestamps"),
            TailLines = ParseLong(query["tailLines"].ToString(), "tailLines", allowZero: true) ?? -1,
            LimitBytes = ParseLong(query["limitBytes"].ToString(), "limitBytes", allowZero: false) ?? 0,
            SinceSeconds = ParseLong(query["sinceSeconds"].ToString(), "sinceSeconds", allowZero: false) ?? 0,
        };
        if (query["sinceTime"].ToString() is { Length: > 0 } sinceTime)
        {
            if (request.SinceSeconds > 0)
            {
                throw ApiException.BadRequest("at most one of sinceTime or sinceSeconds may be specified");
            }

            if (!DateTimeOffset.TryParse(sinceTime, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var since))
            {
                throw ApiException.BadRequest($"sinceTime: Invalid value: \"{sinceTime}\": must be an RFC 3339 time");
            }

            request.SinceSeconds = Math.Max(1, (long)Math.Ceiling((time.GetUtcNow() - since).TotalSeconds));
        }

        var (obj, _) = await service.GetAsync(path.Type, path.Namespace, path.Name!, ct);
        var pod = (Pod)obj;
        request.Container = ContainerFor(pod, request.Container);
        if (string.IsNullOrEmpty(pod.Spec.NodeName))
        {
            throw ApiException.BadRequest($"pod {pod.Metadata.Name} does not have a host assigned");
        }

        var node = pod.Spec.NodeName;
        await using var stream = logRelay?.Open(node, request)
            ?? throw new ApiException(503, "ServiceUnavailable",
                $"node \"{node}\" of pod {pod.Metadata.Name} is not connected to the control plane: its logs cannot be read now");
        var chunks = stream.Chunks;
        var started = false;
        try
        {
            using (var firstWait = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                firstWait.CancelAfter(serverOptions.NodeChannel.LogFirstChunkWait);
                try
                {
                    await chunks.WaitToReadAsync(firstWait.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Nothing yet (a follow of a quiet container): start the response and keep waiting.
                }
            }

            if (chunks.TryPeek(out var first) && first.Error.Length > 0)
            {
                stream.Ended = true;
                throw ApiException.BadRequest(first.Error);
            }

            await StartLogResponseAsync(context, ct);
            started = true;
            while (await chunks.WaitToReadAsync(ct))
            {
                while (chunks.TryRead(out var chunk))
                {
                    if (!chunk.Data.IsEmpty)
                    {
                        await context.Response.Body.WriteAsync(chunk.Data.Memory, ct);
                        stream.Taken();
                    }

                    if (chunk.End || chunk.Error.Length > 0)
                    {
                        stream.Ended = true;
                        await context.Response.Body.FlushAsync(ct);
                        return;
                    }
                }

                await context.Response.Body.FlushAsync(ct);
            }
        }
        catch (IOException e) when (!ct.IsCancellationRequested)
        {
            // The node's session ended mid-stream.
            stream.Ended = true;
            if (!started)
            {
                throw new ApiException(503, "ServiceUnavailable", e.Message);
            }
        }
    }

    private static async Task StartLogResponseAsync(HttpContext context, CancellationToken ct)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await context.Response.StartAsync(ct);
        await context.Response.Body.FlushAsync(ct);
    }

    /// <summary>The container to read: the one named, or the pod's only container, as the API server decides.</summary>
    private static string ContainerFor(Pod pod, string named)
    {
        var containers = pod.Spec.Containers ?? [];
        var all = (pod.Spec.InitContainers ?? []).Concat(containers).Select(c => c.Name).ToList();
        if (named.Length > 0)
        {
            if (!all.Contains(named))
            {
                throw ApiException.BadRequest($"container {named} is not valid for pod {pod.Metadata.Name}");
            }

            return named;
        }

        if (containers.Count == 1)
        {
            return containers[0].Name;
        }

        if (pod.Metadata.Annotations?.GetValueOrDefault("kubectl.kubernetes.io/default-container") is { Length: > 0 } annotated && all.Contains(annotated))
        {
            return annotated;
        }

        var init = pod.Spec.InitContainers is { Count: > 0 } inits ? " or one of the init containers: [" + string.Join(' ', inits.Select(c => c.Name)) + "]" : "";
        throw ApiException.BadRequest(
            $"a container name must be specified for pod {pod.Metadata.Name}, choose one of: [{string.Join(' ', containers.Select(c => c.Name))}]{init}");
    }

    private static bool ParseBool(string text, string name) => text switch
    {
        "" or "false" or "0" => false,
        "true" or "1" => true,
        _ => throw ApiException.BadRequest($"{name}: Invalid value: \"{text}\": must be true or false"),
    };

    private static long? ParseLong(string text, string name, bool allowZero)
    {
        if (text.Length == 0)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || (!allowZero && value == 0))
        {
            throw ApiException.BadRequest($"{name}: Invalid value: \"{text}\": must be {(allowZero ? "0 or" : "")} a positive integer".Replace("  ", " ", StringComparison.Ordinal));
        }

        return value;
    }
}
