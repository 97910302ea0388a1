using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Verge.Agent.Drivers.Docker;

/// <summary>
/// A small Docker Engine API client over the engine's unix socket, covering exactly what the docker driver uses.
/// Hand-written rather than Docker.DotNet because the agent ships as Native AOT and Docker.DotNet serializes through
/// reflection; here every body goes through the source-generated <see cref="DockerJsonContext"/>.
/// </summary>
internal sealed class DockerApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _prefix;
    private readonly TimeSpan _requestTimeout;

    public DockerApiClient(string socketPath, string apiVersion, TimeSpan requestTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };

        // The host name is never resolved (the connect callback ignores it); streams have no overall timeout.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/"), Timeout = Timeout.InfiniteTimeSpan };
        _prefix = "/" + apiVersion;
        _requestTimeout = requestTimeout;
    }

    public void Dispose() => _http.Dispose();

    public Task<DockerVersion> VersionAsync(CancellationToken ct) =>
        GetJsonAsync("/version", DockerJsonContext.Default.DockerVersion, ct);

    public async Task PingAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "/_ping", null, ct);
    }

    /// <summary>The image, or null when the engine does not have it.</summary>
    public async Task<DockerImageInspect?> InspectImageAsync(string reference, CancellationToken ct)
    {
        try
        {
            return await GetJsonAsync($"/images/{Uri.EscapeDataString(reference)}/json", DockerJsonContext.Default.DockerImageInspect, ct);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Pulls an image, reading the progress stream to its end. The engine reports most failures inside the stream
    /// (HTTP 200 with an "error" object), so both that and an error status end in <see cref="DockerApiException"/>.
    /// </summary>
    public async Task PullImageAsync(string fromImage, string tag, DockerAuthConfig? auth, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(
            HttpMethod.Post,
            $"{_prefix}/images/create?fromImage={Uri.EscapeDataString(fromImage)}&tag={Uri.EscapeDataString(tag)}");
        if (auth is not null)
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(auth, DockerJsonContext.Default.DockerAuthConfig);
            request.Headers.Add("X-Registry-Auth", Convert.ToBase64String(json).Replace('+', '-').Replace('/', '_'));
        }

        using var response = await SendCheckedAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct), Encoding.UTF8);

        // The stream is a sequence of JSON objects; the engines put one per line.
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            DockerPullProgress? progress;
            try
            {
                progress = JsonSerializer.Deserialize(line, DockerJsonContext.Default.DockerPullProgress);
            }
            catch (JsonException)
            {
                continue;
            }

            if (progress?.Error is { } error)
            {
                throw new DockerApiException(HttpStatusCode.OK, progress.ErrorDetail?.Message ?? error);
            }
        }
    }

    /// <summary>Imports a root file system tar as an image (POST /images/create?fromSrc=-); returns the engine's answer.</summary>
    public async Task<string> ImportImageAsync(Stream tar, string repository, string tag, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(
            HttpMethod.Post,
            $"{_prefix}/images/create?fromSrc=-&repo={Uri.EscapeDataString(repository)}&tag={Uri.EscapeDataString(tag)}")
        {
            Content = new StreamContent(tar),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using var response = await SendCheckedAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public async Task TagImageAsync(string image, string repository, string tag, CancellationToken ct)
    {
        using var response = await SendAsync(
            HttpMethod.Post,
            $"/images/{Uri.EscapeDataString(image)}/tag?repo={Uri.EscapeDataString(repository)}&tag={Uri.EscapeDataString(tag)}",
            null,
            ct);
    }

    public async Task<string> CreateContainerAsync(string name, DockerContainerCreate body, CancellationToken ct)
    {
        var content = JsonContent(body, DockerJsonContext.Default.DockerContainerCreate);
        using var response = await SendAsync(HttpMethod.Post, $"/containers/create?name={Uri.EscapeDataString(name)}", content, ct);
        var created = await ReadJsonAsync(response, DockerJsonContext.Default.DockerIdResponse, ct);
        return created.Id;
    }

    public async Task StartContainerAsync(string id, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/containers/{Uri.EscapeDataString(id)}/start", null, ct);
    }

    /// <summary>The container, or null when the engine has no such container.</summary>
    public async Task<DockerContainerInspect?> InspectContainerAsync(string id, CancellationToken ct)
    {
        try
        {
            return await GetJsonAsync($"/containers/{Uri.EscapeDataString(id)}/json", DockerJsonContext.Default.DockerContainerInspect, ct);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Blocks until the container is not running (POST /containers/ID/wait?condition=not-running).</summary>
    public async Task WaitContainerAsync(string id, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_prefix}/containers/{Uri.EscapeDataString(id)}/wait?condition=not-running");
        using var response = await SendCheckedAsync(request, HttpCompletionOption.ResponseContentRead, ct);
    }

    /// <summary>Stop signal, then SIGKILL after <paramref name="seconds"/>; the request returns once the container stopped.</summary>
    public async Task StopContainerAsync(string id, int seconds, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_prefix}/containers/{Uri.EscapeDataString(id)}/stop?t={seconds}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_requestTimeout + TimeSpan.FromSeconds(seconds));
        try
        {
            using var response = await SendCheckedAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotModified)
        {
            // Already stopped.
        }
    }

    public async Task KillContainerAsync(string id, string signal, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/containers/{Uri.EscapeDataString(id)}/kill?signal={Uri.EscapeDataString(signal)}", null, ct);
    }

    /// <summary>Removes the container and its anonymous volumes, killing it first if it runs; false when it was gone.</summary>
    public async Task<bool> RemoveContainerAsync(string id, CancellationToken ct)
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Delete, $"/containers/{Uri.EscapeDataString(id)}?force=true&v=true", null, ct);
            return true;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>One sample of the container's stats (GET /containers/ID/stats?stream=false), as raw JSON.</summary>
    public async Task<JsonDocument> StatsAsync(string id, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/containers/{Uri.EscapeDataString(id)}/stats?stream=false", null, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return await JsonDocument.ParseAsync(body, cancellationToken: ct);
    }

    public async Task<string> CreateExecAsync(string containerId, DockerExecCreate body, CancellationToken ct)
    {
        var content = JsonContent(body, DockerJsonContext.Default.DockerExecCreate);
        using var response = await SendAsync(HttpMethod.Post, $"/containers/{Uri.EscapeDataString(containerId)}/exec", content, ct);
        return (await ReadJsonAsync(response, DockerJsonContext.Default.DockerIdResponse, ct)).Id;
    }

    /// <summary>Starts an exec attached; the response body is the multiplexed output until the command ends.</summary>
    public async Task<HttpResponseMessage> StartExecAsync(string execId, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{_prefix}/exec/{Uri.EscapeDataString(execId)}/start")
        {
            Content = JsonContent(new DockerExecStart(), DockerJsonContext.Default.DockerExecStart),
        };
        try
        {
            return await SendCheckedAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        finally
        {
            request.Dispose();
        }
    }

    public Task<DockerExecInspect> InspectExecAsync(string execId, CancellationToken ct) =>
        GetJsonAsync($"/exec/{Uri.EscapeDataString(execId)}/json", DockerJsonContext.Default.DockerExecInspect, ct);

    /// <summary>
    /// The container's output with engine timestamps, as a multiplexed stream (GET /containers/ID/logs), from
    /// <paramref name="sinceSeconds"/> (a UNIX time) when given; with <paramref name="follow"/> it stays open until the
    /// container stops.
    /// </summary>
    public async Task<HttpResponseMessage> LogsAsync(string id, bool follow, long? sinceSeconds, CancellationToken ct)
    {
        var query = $"stdout=true&stderr=true&timestamps=true&follow={(follow ? "true" : "false")}";
        if (sinceSeconds is { } since)
        {
            query += $"&since={since}";
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_prefix}/containers/{Uri.EscapeDataString(id)}/logs?{query}");
        return await SendCheckedAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    /// <summary>
    /// Decodes the engine's multiplexed stream: frames of an 8-byte header (stream type: 1 stdout, 2 stderr; three
    /// zero bytes; big-endian payload length) followed by the payload. Ends at the end of the stream.
    /// </summary>
    public static async IAsyncEnumerable<(int Stream, byte[] Payload)> ReadFramesAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct)
    {
        var header = new byte[8];
        while (true)
        {
            var read = 0;
            while (read < header.Length)
            {
                var n = await stream.ReadAsync(header.AsMemory(read), ct);
                if (n == 0)
                {
                    if (read == 0)
                    {
                        yield break;
                    }

                    throw new DockerApiException(HttpStatusCode.OK, "the engine's output stream ended inside a frame header");
                }

                read += n;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (header[0] > 3 || length > 64 * 1024 * 1024)
            {
                throw new DockerApiException(HttpStatusCode.OK, "the engine's output is not a multiplexed stream");
            }

            var payload = new byte[length];
            await stream.ReadExactlyAsync(payload, ct);
            yield return (header[0], payload);
        }
    }

    private async Task<T> GetJsonAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, ct);
        return await ReadJsonAsync(response, type, ct);
    }

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken ct)
    {
        // Read the answer whole and parse it in one go: the engine's answers are small, and an asynchronous parse of a
        // stream would compile the serializer's asynchronous reader for every JSON type in the agent, not only these.
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        try
        {
            return JsonSerializer.Deserialize(body, type)
                ?? throw new DockerApiException(response.StatusCode, "the engine answered with an empty body");
        }
        catch (JsonException e)
        {
            throw new DockerApiException(response.StatusCode, $"the engine's answer is not the expected JSON: {e.Message}");
        }
    }

    private static ByteArrayContent JsonContent<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>A plain request with the request timeout; the response is buffered.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, _prefix + path) { Content = content };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_requestTimeout);
        try
        {
            return await SendCheckedAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DockerApiException(HttpStatusCode.RequestTimeout, $"the engine did not answer {method} {path} within {_requestTimeout.TotalSeconds:0} s");
        }
    }

    private async Task<HttpResponseMessage> SendCheckedAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new DockerApiException(0, $"cannot reach the engine: {e.Message}", e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            string? message = null;
            try
            {
                message = JsonSerializer.Deserialize(text, DockerJsonContext.Default.DockerError)?.Message;
            }
            catch (JsonException)
            {
                // Not JSON: the text itself is the message.
            }

            throw new DockerApiException(response.StatusCode, message ?? (text.Length > 0 ? text.Trim() : response.ReasonPhrase ?? "error"));
        }
    }
}

/// <summary>The engine refused a request or could not be reached (StatusCode 0).</summary>
internal sealed class DockerApiException : Exception
{
    public DockerApiException(HttpStatusCode statusCode, string message)
        : base(message) => StatusCode = statusCode;

    public DockerApiException(HttpStatusCode statusCode, string message, Exception inner)
        : base(message, inner) => StatusCode = statusCode;

    public DockerApiException()
    {
    }

    public DockerApiException(string message)
        : base(message)
    {
    }

    public DockerApiException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public HttpStatusCode StatusCode { get; }
}
