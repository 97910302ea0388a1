using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Verge.Cli.Client;

/// <summary>A response: its HTTP status code and JSON body.</summary>
internal sealed record ApiResponse(int Code, JsonNode? Body);

/// <summary>
/// A small REST client for the Kubernetes API: HTTPS with the server certificate checked against the kubeconfig's
/// cluster CA only, authenticating with a client certificate or a bearer token. Errors come back as
/// <see cref="ApiStatusException"/> (the server said no) or <see cref="CliException"/> (the server could not be reached).
/// </summary>
internal sealed class KubeClient : IDisposable
{
    public const string TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2? _ca;

    /// <summary>How many times a request answered 429 (Too Many Requests) is sent in all (client-go: 10).</summary>
    internal const int MaxThrottledAttempts = 10;

    private static readonly TimeSpan MaxThrottleWait = TimeSpan.FromSeconds(10);

    public KubeClient(ClusterConnection connection)
    {
        Connection = connection;
        // More than one HTTP/2 connection when a busy client (the hollow-node simulator) has more requests in flight
        // than the server allows streams on one.
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), EnableMultipleHttp2Connections = true };
        if (connection.CertificateAuthorityPem is { } caPem)
        {
            try
            {
                _ca = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(caPem));
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new CliException($"error: unable to read kubeconfig: certificate-authority is not a PEM certificate: {e.Message}", e);
            }
        }

        var ca = _ca;
        var insecure = connection.InsecureSkipTlsVerify;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            insecure || ValidateServer(certificate, errors, ca);
        if (connection.ClientCertificatePem is { } certPem)
        {
            if (connection.ClientKeyPem is not { } keyPem)
            {
                throw new CliException("error: unable to read kubeconfig: client-certificate is set but client-key is not");
            }

            try
            {
                using var ephemeral = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(certPem), Encoding.UTF8.GetString(keyPem));
                _clientCertificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new CliException($"error: unable to read kubeconfig: the client certificate or key is not valid PEM: {e.Message}", e);
            }

            var client = _clientCertificate;
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => client;
        }

        // HTTP/2 where the server offers it: many watches and requests share one connection.
        _http = new HttpClient(handler)
        {
            BaseAddress = connection.Server,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("verge", Verge.ApiServer.Hosting.VersionInfo.Verge));
        if (!string.IsNullOrEmpty(connection.Token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.Token);
        }
    }

    public ClusterConnection Connection { get; }

    /// <summary>host:port of the server, as error lines name it.</summary>
    public string ServerHostPort => $"{Connection.Server.Host}:{Connection.Server.Port}";

    /// <summary>GET that returns the JSON body, throwing on any non-2xx answer.</summary>
    public async Task<JsonNode> GetAsync(string path, CancellationToken ct, string accept = "application/json")
    {
        var response = await SendAsync(HttpMethod.Get, path, null, null, accept, ct);
        return response.Body ?? throw new CliException($"error: the server returned an empty body for {path}");
    }

    /// <summary>GET that returns null on 404 instead of throwing.</summary>
    public async Task<JsonNode?> TryGetAsync(string path, CancellationToken ct)
    {
        try
        {
            return await GetAsync(path, ct);
        }
        catch (ApiStatusException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, string? body, string? contentType, string accept, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(RequestTimeout);
        string text;
        int code;
        for (var attempt = 1; ; attempt++)
        {
            using var request = NewRequest(method, path, body, contentType, accept);
            using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token, ct);
            text = await response.Content.ReadAsStringAsync(timeout.Token);
            code = (int)response.StatusCode;
            if (code != 429 || attempt >= MaxThrottledAttempts)
            {
                break;
            }

            // Throttled by the server's flow control: wait as told and try again, as client-go does.
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            await Task.Delay(wait < MaxThrottleWait ? wait : MaxThrottleWait, TimeProvider.System, timeout.Token);
        }

        if (code is < 200 or > 299)
        {
            throw ApiStatusException.FromResponse(code, text);
        }

        try
        {
            return new ApiResponse(code, text.Length == 0 ? null : JsonNode.Parse(text));
        }
        catch (JsonException e)
        {
            throw new CliException($"error: the server returned invalid JSON for {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Opens a WebSocket to <paramref name="path"/> (with its query) over the client's own TLS and credentials,
    /// offering <paramref name="protocols"/>. A server that answers with an error instead of upgrading is asked again
    /// without the upgrade, so that its Status comes back as an <see cref="ApiStatusException"/>, as for any request.
    /// </summary>
    public async Task<ClientWebSocket> ConnectWebSocketAsync(string path, IReadOnlyList<string> protocols, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        foreach (var protocol in protocols)
        {
            socket.Options.AddSubProtocol(protocol);
        }

        if (!string.IsNullOrEmpty(Connection.Token))
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + Connection.Token);
        }

        var address = new UriBuilder(new Uri(Connection.Server, path)) { Scheme = Connection.Server.Scheme == "http" ? "ws" : "wss" }.Uri;
        try
        {
            await socket.ConnectAsync(address, _http, ct);
            return socket;
        }
        catch (WebSocketException e) when (socket.HttpStatusCode is not 0 and not HttpStatusCode.SwitchingProtocols)
        {
            var code = (int)socket.HttpStatusCode;
            socket.Dispose();
            await SendAsync(HttpMethod.Get, path, null, null, "application/json", ct);
            throw new CliException($"error: the server did not upgrade the connection (HTTP {code})", e);
        }
        catch (WebSocketException e) when (e.InnerException is HttpRequestException http)
        {
            socket.Dispose();
            throw ConnectionError(http);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// POSTs <paramref name="body"/> as it is read (an upload of any size, with no overall timeout: it takes as long
    /// as the link needs) and returns the JSON answer, throwing on any non-2xx answer.
    /// </summary>
    public async Task<ApiResponse> UploadAsync(string path, Stream body, string contentType, CancellationToken ct)
    {
        using var request = NewRequest(HttpMethod.Post, path, null, null, "application/json");
        request.Content = new StreamContent(body, 256 * 1024);
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (body.CanSeek)
        {
            request.Content.Headers.ContentLength = body.Length - body.Position;
        }

        using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseContentRead, ct, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        var code = (int)response.StatusCode;
        if (code is < 200 or > 299)
        {
            throw ApiStatusException.FromResponse(code, text);
        }

        try
        {
            return new ApiResponse(code, text.Length == 0 ? null : JsonNode.Parse(text));
        }
        catch (JsonException e)
        {
            throw new CliException($"error: the server returned invalid JSON for {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// GETs a plain-text stream (a pod's log) and copies it to <paramref name="output"/> as it arrives, flushing each
    /// piece, until the server ends it or <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task CopyTextAsync(string path, TextWriter output, CancellationToken ct)
    {
        using var request = NewRequest(HttpMethod.Get, path, null, null, "text/plain, application/json");
        using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseHeadersRead, ct, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw ApiStatusException.FromResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
        }

        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var decoder = Encoding.UTF8.GetDecoder();
        var bytes = new byte[16 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(bytes, ct);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
            {
                throw new CliException($"error: the stream from {ServerHostPort} ended unexpectedly: {e.Message}", e);
            }

            var count = decoder.GetChars(bytes, 0, read, chars, 0, flush: read == 0);
            await output.WriteAsync(chars.AsMemory(0, count), ct);
            await output.FlushAsync(ct);
            if (read == 0)
            {
                return;
            }
        }
    }

    /// <summary>Streams the JSON lines of a watch until the server ends it or <paramref name="ct"/> is cancelled.</summary>
    public async IAsyncEnumerable<JsonObject> WatchAsync(string path, string accept, [EnumeratorCancellation] CancellationToken ct)
    {
        using var request = NewRequest(HttpMethod.Get, path, null, null, accept);
        using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseHeadersRead, ct, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw ApiStatusException.FromResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
        }

        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(ct);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
            {
                throw new CliException($"error: the watch on {ServerHostPort} ended unexpectedly: {e.Message}", e);
            }

            if (line is null)
            {
                yield break;
            }

            if (line.Length == 0)
            {
                continue;
            }

            if (JsonNode.Parse(line) is JsonObject frame)
            {
                yield return frame;
            }
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _clientCertificate?.Dispose();
        _ca?.Dispose();
    }

    private static HttpRequestMessage NewRequest(HttpMethod method, string path, string? body, string? contentType, string accept)
    {
        // A request message is HTTP/1.1 unless told otherwise; ask for HTTP/2 as the client does.
        var request = new HttpRequestMessage(method, path)
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.TryAddWithoutValidation("Accept", accept);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? "application/json");
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken token, CancellationToken callerToken)
    {
        try
        {
            return await _http.SendAsync(request, completion, token);
        }
        catch (OperationCanceledException e) when (!callerToken.IsCancellationRequested)
        {
            throw new CliException($"error: the request to {ServerHostPort} timed out", e);
        }
        catch (HttpRequestException e)
        {
            throw ConnectionError(e);
        }
    }

    private CliException ConnectionError(HttpRequestException e)
    {
        if (e.InnerException is SocketException socket)
        {
            return socket.SocketErrorCode == SocketError.ConnectionRefused
                ? new CliException($"error: the connection to the server {ServerHostPort} was refused - is `verge server` running, and is this the right host and port?", e)
                : new CliException($"error: unable to connect to the server {ServerHostPort}: {socket.Message}", e);
        }

        if (e.HttpRequestError == HttpRequestError.SecureConnectionError || e.InnerException is AuthenticationException)
        {
            return new CliException($"error: unable to connect to the server {ServerHostPort}: the TLS handshake failed (is the certificate-authority in the kubeconfig the cluster's CA?): {Innermost(e).Message}", e);
        }

        if (e.HttpRequestError == HttpRequestError.NameResolutionError)
        {
            return new CliException($"error: unable to connect to the server {ServerHostPort}: the host name could not be resolved", e);
        }

        return new CliException($"error: unable to connect to the server {ServerHostPort}: {Innermost(e).Message}", e);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    private static bool ValidateServer(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2? ca)
    {
        if (certificate is not X509Certificate2 server || ca is null)
        {
            return false;
        }

        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }
}
