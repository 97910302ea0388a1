using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Verge.Agent.Images;

/// <summary>
/// A client of the OCI distribution API (GET only): manifests with the four accepted media types, blobs with
/// redirects followed, and authentication: anonymous, Basic, or a Bearer token from the registry's token service
/// (WWW-Authenticate challenge), cached per registry, scope and user until it expires.
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    private static readonly string[] ManifestTypes =
        [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest];

    private readonly HttpClient _http;
    private readonly ImageStoreOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, CachedToken> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _basicRegistries = new(StringComparer.OrdinalIgnoreCase);

    public RegistryClient(ImageStoreOptions options, ILogger logger, HttpMessageHandler? handler, TimeProvider time)
    {
        _options = options;
        _logger = logger;
        _time = time;
        handler ??= new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = options.RequestTimeout };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("verge-agent/1.0");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// A response body that fails with a clear error when the registry sends nothing for
    /// <see cref="ImageStoreOptions.StallTimeout"/> (HttpClient's timeout stops at the headers).
    /// </summary>
    public async Task<Stream> OpenBodyAsync(HttpResponseMessage response, string what, CancellationToken ct) =>
        new StallGuardStream(await response.Content.ReadAsStreamAsync(ct), _options.StallTimeout, what);

    /// <summary>A manifest or index, its bytes verified against the digest when asked for by digest.</summary>
    public async Task<(byte[] Body, string? MediaType, string Digest)> GetManifestAsync(
        ImageReference image, string reference, RegistryCredentials? credentials, CancellationToken ct)
    {
        using var response = await SendAsync(image, $"manifests/{reference}", ManifestTypes, credentials, ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ImagePullException($"{image.Name}:{reference}: not found (the registry has no such manifest)");
        }

        await EnsureSuccessAsync(response, image, $"manifest {reference}", ct);
        var body = await ReadLimitedAsync(await OpenBodyAsync(response, $"{image.Name}: manifest {reference}", ct), response.Content.Headers.ContentLength, _options.MaxManifestBytes, $"manifest {reference}", ct);
        var digest = Digests.FromHash(SHA256.HashData(body));
        if (Digests.IsValid(reference) && digest != reference)
        {
            throw new ImagePullException(
                $"{image.Name}: manifest digest mismatch: asked for {reference}, content hashes to {digest}");
        }

        if (response.Headers.TryGetValues("Docker-Content-Digest", out var claimed) &&
            claimed.FirstOrDefault() is { } header && header.StartsWith(Digests.Prefix, StringComparison.Ordinal) &&
            header != digest)
        {
            throw new ImagePullException(
                $"{image.Name}:{reference}: manifest digest mismatch: the registry claims {header}, content hashes to {digest}");
        }

        return (body, response.Content.Headers.ContentType?.MediaType, digest);
    }

    /// <summary>Opens a blob for reading (redirects followed). The caller disposes the response.</summary>
    public async Task<HttpResponseMessage> GetBlobAsync(
        ImageReference image, string digest, RegistryCredentials? credentials, CancellationToken ct)
    {
        var response = await SendAsync(image, $"blobs/{digest}", null, credentials, ct);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ImagePullException($"{image.Name}: blob {digest} not found in the registry");
            }

            await EnsureSuccessAsync(response, image, $"blob {digest}", ct);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private Uri BaseUri(ImageReference image)
    {
        var endpoint = _options.EndpointFor(image.Registry, image.Endpoint);
        var scheme = _options.IsInsecure(endpoint) || _options.IsInsecure(image.Registry) ? "http" : "https";
        return new Uri($"{scheme}://{endpoint}/v2/{image.Repository}/");
    }

    private async Task<HttpResponseMessage> SendAsync(
        ImageReference image, string path, string[]? accept, RegistryCredentials? credentials, CancellationToken ct)
    {
        var registryUri = BaseUri(image);
        var scope = $"repository:{image.Repository}:pull";
        var tokenKey = $"{image.Registry}|{scope}|{credentials?.Username}";
        var uri = new Uri(registryUri, path);
        var authRetried = false;
        for (var hops = 0; hops < 10; hops++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (var type in accept ?? [])
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            var sameOrigin = Uri.Compare(uri, registryUri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
            if (sameOrigin)
            {
                if (_tokens.TryGetValue(tokenKey, out var cached) && cached.ExpiresAt > _time.GetUtcNow())
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", cached.Token);
                }
                else if (credentials is not null && _basicRegistries.ContainsKey(image.Registry))
                {
                    request.Headers.Authorization = BasicHeader(credentials);
                }
            }

            var response = await SendOnceAsync(request, image.Name, $"registry {uri.GetLeftPart(UriPartial.Authority)}", ct);

            if (response.StatusCode == HttpStatusCode.Unauthorized && sameOrigin && !authRetried)
            {
                authRetried = true;
                var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
                response.Dispose();
                if (challenge is null)
                {
                    throw new ImagePullException($"{image.Name}: unauthorized, and the registry sent no WWW-Authenticate challenge");
                }

                if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
                {
                    if (credentials is null)
                    {
                        throw new ImagePullException($"{image.Name}: unauthorized: the registry requires credentials");
                    }

                    _basicRegistries[image.Registry] = true;
                    ImageStoreLog.AuthChallenge(_logger, image.Registry, "Basic");
                    continue;
                }

                if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
                {
                    ImageStoreLog.AuthChallenge(_logger, image.Registry, "Bearer");
                    var token = await FetchTokenAsync(image, ParseChallenge(challenge.Parameter), scope, credentials, ct);
                    _tokens[tokenKey] = token;
                    continue;
                }

                throw new ImagePullException($"{image.Name}: unauthorized: unsupported authentication scheme {challenge.Scheme}");
            }

            if (IsRedirect(response.StatusCode) && response.Headers.Location is { } location)
            {
                response.Dispose();
                uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                continue;
            }

            return response;
        }

        throw new ImagePullException($"{image.Name}: too many redirects fetching {path}");
    }

    private async Task<CachedToken> FetchTokenAsync(
        ImageReference image, Dictionary<string, string> challenge, string scope, RegistryCredentials? credentials,
        CancellationToken ct)
    {
        if (!challenge.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) ||
            (realmUri.Scheme != Uri.UriSchemeHttps && realmUri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ImagePullException($"{image.Name}: unauthorized: the Bearer challenge has no usable realm");
        }

        var query = new StringBuilder();
        if (challenge.TryGetValue("service", out var service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        query.Append(query.Length > 0 ? "&" : string.Empty).Append("scope=")
            .Append(Uri.EscapeDataString(challenge.GetValueOrDefault("scope") ?? scope));
        var builder = new UriBuilder(realmUri) { Query = query.ToString() };
        using var request = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        if (credentials is not null)
        {
            request.Headers.Authorization = BasicHeader(credentials);
        }

        var response = await SendOnceAsync(request, image.Name, $"token service {realmUri.GetLeftPart(UriPartial.Authority)}", ct);
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new ImagePullException(
                    $"{image.Name}: unauthorized: token service {realmUri.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            var body = await ReadLimitedAsync(await OpenBodyAsync(response, $"{image.Name}: token", ct), response.Content.Headers.ContentLength, 1 << 20, "token", ct);
            TokenResponse? token;
            try
            {
                token = JsonSerializer.Deserialize(body, ImagesJsonContext.Default.TokenResponse);
            }
            catch (JsonException e)
            {
                throw new ImagePullException($"{image.Name}: the token service answered with invalid JSON: {e.Message}", e);
            }

            var value = token?.Token ?? token?.AccessToken;
            if (string.IsNullOrEmpty(value))
            {
                throw new ImagePullException($"{image.Name}: the token service answered without a token");
            }

            // Tokens are reused until shortly before they expire; the default lifetime is 60 s per the token spec.
            var lifetime = TimeSpan.FromSeconds(Math.Max(token!.ExpiresIn ?? 60, 10) - 5);
            return new CachedToken(value, _time.GetUtcNow() + lifetime);
        }
    }

    /// <summary>Sends one request; the response headers must arrive within the stall timeout.</summary>
    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, string imageName, string target, CancellationToken ct)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(_options.StallTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token);
        }
        catch (HttpRequestException e)
        {
            throw new ImagePullException($"{imageName}: cannot reach {target}: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new ImagePullException(
                $"{imageName}: {target} did not answer within {_options.StallTimeout.TotalSeconds:0.#} s", new TimeoutException(e.Message, e));
        }
    }

    /// <summary>Parses the parameters of a challenge: key="value" pairs separated by commas.</summary>
    internal static Dictionary<string, string> ParseChallenge(string? parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(parameter))
        {
            return result;
        }

        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            var eq = parameter.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var key = parameter[i..eq].Trim();
            i = eq + 1;
            var value = new StringBuilder();
            if (i < parameter.Length && parameter[i] == '"')
            {
                i++;
                while (i < parameter.Length && parameter[i] != '"')
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length)
                    {
                        i++;
                    }

                    value.Append(parameter[i++]);
                }

                i++;
            }
            else
            {
                while (i < parameter.Length && parameter[i] != ',')
                {
                    value.Append(parameter[i++]);
                }
            }

            result[key] = value.ToString().Trim();
        }

        return result;
    }

    private static AuthenticationHeaderValue BasicHeader(RegistryCredentials credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}")));

    private static bool IsRedirect(HttpStatusCode code) =>
        code is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther or
            HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private async Task EnsureSuccessAsync(HttpResponseMessage response, ImageReference image, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string detail;
        try
        {
            detail = Encoding.UTF8.GetString(await ReadLimitedAsync(await OpenBodyAsync(response, what, ct), null, 4096, what, ct, truncate: true)).Trim();
        }
        catch (Exception e) when (e is IOException or ImagePullException)
        {
            detail = string.Empty;
        }

        var prefix = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? "unauthorized: " : string.Empty;
        throw new ImagePullException(
            $"{image.Name}: {prefix}{what}: the registry answered {(int)response.StatusCode} {response.ReasonPhrase}" +
            (detail.Length > 0 ? $": {detail}" : string.Empty));
    }

    private static async Task<byte[]> ReadLimitedAsync(Stream body, long? contentLength, int max, string what, CancellationToken ct, bool truncate = false)
    {
        if (!truncate && contentLength is { } length && length > max)
        {
            throw new ImagePullException($"{what} is {length} bytes, more than the {max} allowed");
        }

        await using var stream = body;
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max)
            {
                if (truncate)
                {
                    buffer.Write(chunk, 0, (int)(max - buffer.Length));
                    break;
                }

                throw new ImagePullException($"{what} is more than the {max} bytes allowed");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private sealed record CachedToken(string Token, DateTimeOffset ExpiresAt);

    private sealed class StallGuardStream(Stream inner, TimeSpan stallTimeout, string what) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stall.CancelAfter(stallTimeout);
            try
            {
                return await inner.ReadAsync(buffer, stall.Token);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ImagePullException(
                    $"{what}: the registry sent no data for {stallTimeout.TotalSeconds:0.#} s; giving up", new TimeoutException(e.Message, e));
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
