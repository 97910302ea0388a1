using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Verge.Core.Security;
using Verge.Core.Serialization;

namespace Verge.Agent.Identity;

/// <summary>
/// Gives the agent its identity: loads it from <c>DATA_DIR/identity</c> when a previous start saved it, otherwise
/// joins. Joining generates an ECDSA P-256 key that never leaves the node, sends a CSR with the bootstrap token to
/// <c>POST /verge/v1/join</c> on each server in turn, and trusts the server only if its TLS chain ends in a CA whose
/// SubjectPublicKeyInfo hashes to the pin the token carries (the system roots play no part). A TLS server does not
/// send its self-signed root, so the agent first reads the CA from <c>GET /verge/v1/cacerts</c> (sending nothing
/// secret), keeps it only if it has the pin and the server's certificate chains to it, and then sends the token on a
/// connection that must chain to that CA. The files are written
/// to a fresh folder that is renamed into place, so a crash leaves either no identity or a whole one.
/// </summary>
internal static partial class AgentJoin
{
    public static async Task<NodeIdentity> LoadOrJoinAsync(AgentJoinOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        var dir = Path.Combine(Path.GetFullPath(options.DataDir), NodeIdentity.DirectoryName);
        if (Directory.Exists(dir))
        {
            var loaded = Load(dir, options.NodeName);
            LogLoaded(logger, options.NodeName, loaded.ClientCertificate.NotAfter.ToUniversalTime());
            return loaded;
        }

        return await JoinAsync(options, dir, logger, ct);
    }

    /// <summary>Loads a saved identity and checks it is whole and for <paramref name="nodeName"/>.</summary>
    internal static NodeIdentity Load(string dir, string nodeName)
    {
        var certPath = Path.Combine(dir, NodeIdentity.CertificateFile);
        var keyPath = Path.Combine(dir, NodeIdentity.KeyFile);
        var caPath = Path.Combine(dir, NodeIdentity.CaFile);
        if (!File.Exists(certPath) || !File.Exists(keyPath) || !File.Exists(caPath))
        {
            throw new AgentJoinException(JoinFailure.BadIdentity,
                $"the identity in {dir} is incomplete (it needs {NodeIdentity.CertificateFile}, {NodeIdentity.KeyFile} and {NodeIdentity.CaFile}); remove the folder to join again");
        }

        X509Certificate2 certificate;
        X509Certificate2 ca;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            ca = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        }
        catch (CryptographicException e)
        {
            throw new AgentJoinException(JoinFailure.BadIdentity, $"the identity in {dir} cannot be read: {e.Message}", e);
        }

        var user = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (user != NodeIdentity.UserName(nodeName))
        {
            certificate.Dispose();
            ca.Dispose();
            throw new AgentJoinException(JoinFailure.BadIdentity,
                $"the identity in {dir} is for \"{user}\", not node \"{nodeName}\": a node keeps its name (start it with its old name, or remove the folder and join again)");
        }

        return new NodeIdentity(nodeName, certificate, ca);
    }

    private static async Task<NodeIdentity> JoinAsync(AgentJoinOptions options, string dir, ILogger logger, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(options.Token))
        {
            throw new AgentJoinException(JoinFailure.Configuration, $"there is no identity in {dir} and no join token to get one: pass --token");
        }

        if (!JoinToken.TryParse(options.Token, out var token, out var tokenError))
        {
            throw new AgentJoinException(JoinFailure.InvalidToken, "invalid token format: " + tokenError);
        }

        var pin = Pin(token, options.CaCertHash);
        if (options.Servers.Count == 0)
        {
            throw new AgentJoinException(JoinFailure.Configuration, "no server to join: pass --server https://HOST:PORT");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(NodeIdentity.NodesGroup);
        subject.AddCommonName(NodeIdentity.UserName(options.NodeName));
        var csr = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new JoinRequest { Token = token.BootstrapToken, NodeName = options.NodeName, Csr = csr }, JoinJsonContext.Default.JoinRequest);

        var failures = new List<AgentJoinException>();
        foreach (var server in options.Servers)
        {
            try
            {
                using var ca = await FetchPinnedCaAsync(server, pin, options.RequestTimeout, ct);
                var response = await PostAsync(server, body, ca, options.RequestTimeout, ct);
                var identity = Save(dir, options.NodeName, key, response, pin);
                LogJoined(logger, options.NodeName, server, identity.ClientCertificate.NotAfter.ToUniversalTime());
                return identity;
            }
            catch (AgentJoinException e)
            {
                LogServerFailed(logger, server, e.Message);
                failures.Add(e);
            }
        }

        // The most telling failure wins: a refused token or a wrong CA says more than an unreachable server.
        var worst = failures.FirstOrDefault(f => f.Failure == JoinFailure.Unauthorized)
            ?? failures.FirstOrDefault(f => f.Failure == JoinFailure.CaMismatch)
            ?? failures.FirstOrDefault(f => f.Failure == JoinFailure.Refused)
            ?? failures[^1];
        var detail = failures.Count == 1 ? worst.Message : worst.Message + " (" + string.Join("; ", failures.Select(f => f.Message)) + ")";
        throw new AgentJoinException(worst.Failure, detail, worst);
    }

    private static string Pin(JoinToken token, string? caCertHash)
    {
        string? given = null;
        if (!string.IsNullOrWhiteSpace(caCertHash))
        {
            try
            {
                given = CaPin.Normalize(caCertHash.Trim());
            }
            catch (FormatException e)
            {
                throw new AgentJoinException(JoinFailure.Configuration, "invalid --ca-cert-hash: " + e.Message, e);
            }
        }

        if (token.CaHash is not null && given is not null && token.CaHash != given)
        {
            throw new AgentJoinException(JoinFailure.Configuration, "the token's CA hash and --ca-cert-hash differ");
        }

        return token.CaHash ?? given ?? throw new AgentJoinException(JoinFailure.Configuration,
            "the token carries no CA hash: use the full token from 'verge token create' (K10...::ID.SECRET) or pass --ca-cert-hash sha256:HEX; the agent never joins a server it cannot authenticate");
    }

    /// <summary>
    /// Fetches the cluster CA from <paramref name="server"/> and returns it only if it has the pin and the server's
    /// own certificate chains to it. Nothing secret travels on this connection: the server is not trusted yet.
    /// </summary>
    private static async Task<X509Certificate2> FetchPinnedCaAsync(Uri server, string pin, TimeSpan timeout, CancellationToken ct)
    {
        X509Certificate2? leaf = null;
        var errors = SslPolicyErrors.None;
        using var handler = new SocketsHttpHandler { ConnectTimeout = timeout };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, policyErrors) =>
        {
            // Accepted provisionally, to read the CA; checked against the pinned CA below, before any token is sent.
            leaf = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            errors = policyErrors;
            return leaf is not null;
        };
        using var client = new HttpClient(handler) { Timeout = timeout };
        var (code, text) = await SendAsync(client, server, new HttpRequestMessage(HttpMethod.Get, new Uri(server, JoinRequest.CaPath)), null, ct);
        using (leaf)
        {
            if (code != HttpStatusCode.OK)
            {
                throw new AgentJoinException(JoinFailure.Refused,
                    $"{server}: the server does not serve its CA at {JoinRequest.CaPath} ({(int)code}): is it a Verge server?");
            }

            var bundle = new X509Certificate2Collection();
            try
            {
                bundle.ImportFromPem(Encoding.UTF8.GetString(text));
            }
            catch (CryptographicException e)
            {
                throw new AgentJoinException(JoinFailure.Refused, $"{server}: the server's CA bundle cannot be read: {e.Message}", e);
            }

            var ca = bundle.FirstOrDefault(c => IsCa(c) && CaPin.Matches(c, pin));
            foreach (var other in bundle.Where(c => !ReferenceEquals(c, ca)))
            {
                other.Dispose();
            }

            if (ca is null)
            {
                throw new AgentJoinException(JoinFailure.CaMismatch, $"{server}: the server's CA does not match the token's hash");
            }

            if (!ChainsTo(leaf, ca, errors))
            {
                ca.Dispose();
                throw new AgentJoinException(JoinFailure.CaMismatch,
                    $"{server}: the server's certificate is not issued by the CA the token's hash names, or not for this address");
            }

            return ca;
        }
    }

    /// <summary>Sends the join request on a connection whose server chain must end in <paramref name="ca"/>.</summary>
    private static async Task<JoinResponse> PostAsync(Uri server, byte[] body, X509Certificate2 ca, TimeSpan timeout, CancellationToken ct)
    {
        var refused = false;
        using var handler = new SocketsHttpHandler { ConnectTimeout = timeout };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            var accepted = ChainsTo(certificate as X509Certificate2, ca, errors);
            refused |= !accepted;
            return accepted;
        };
        using var client = new HttpClient(handler) { Timeout = timeout };
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, JoinRequest.Path))
        {
            Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } },
        };
        var (code, text) = await SendAsync(client, server, request, () => refused, ct);
        if (code == HttpStatusCode.OK)
        {
            try
            {
                return JsonSerializer.Deserialize(text, JoinJsonContext.Default.JoinResponse) is { Certificate: not null, CaCertificate: not null } answer
                    ? answer
                    : throw new AgentJoinException(JoinFailure.Refused, $"{server}: the join answer lacks certificate or caCertificate");
            }
            catch (JsonException e)
            {
                throw new AgentJoinException(JoinFailure.Refused, $"{server}: the join answer is not valid JSON: {e.Message}", e);
            }
        }

        var message = StatusMessage(text) ?? $"HTTP {(int)code}";
        throw code == HttpStatusCode.Unauthorized
            ? new AgentJoinException(JoinFailure.Unauthorized, $"{server}: the server refused the join token (401): {message}")
            : new AgentJoinException(JoinFailure.Refused, $"{server}: the server refused the join ({(int)code}): {message}");
    }

    private static async Task<(HttpStatusCode Code, byte[] Body)> SendAsync(
        HttpClient client, Uri server, HttpRequestMessage request, Func<bool>? certificateRefused, CancellationToken ct)
    {
        using (request)
        {
            try
            {
                using var response = await client.SendAsync(request, ct);
                return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(ct));
            }
            catch (HttpRequestException e) when (certificateRefused?.Invoke() == true || e.InnerException is AuthenticationException)
            {
                throw new AgentJoinException(JoinFailure.CaMismatch, $"{server}: the server's certificate does not chain to the pinned CA: {e.Message}", e);
            }
            catch (HttpRequestException e)
            {
                throw new AgentJoinException(JoinFailure.Unreachable, $"{server}: {e.Message}", e);
            }
            catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new AgentJoinException(JoinFailure.Unreachable, $"{server}: no answer within {client.Timeout.TotalSeconds:0} s", e);
            }
        }
    }

    /// <summary>
    /// Whether the server certificate <paramref name="leaf"/> chains to <paramref name="ca"/> alone (no system roots)
    /// and names the address dialled.
    /// </summary>
    internal static bool ChainsTo(X509Certificate2? leaf, X509Certificate2 ca, SslPolicyErrors errors)
    {
        if (leaf is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    private static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    private static string? StatusMessage(byte[] body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, NodeJsonContext.Default.Status)?.Message;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static NodeIdentity Save(string dir, string nodeName, ECDsa key, JoinResponse response, string pin)
    {
        X509Certificate2 ca;
        X509Certificate2 certificate;
        try
        {
            ca = X509Certificate2.CreateFromPem(response.CaCertificate);
            using var issued = X509Certificate2.CreateFromPem(response.Certificate);
            certificate = issued.CopyWithPrivateKey(key);
        }
        catch (CryptographicException e)
        {
            throw new AgentJoinException(JoinFailure.Refused, $"the server's certificates cannot be read: {e.Message}", e);
        }

        if (!CaPin.Matches(ca, pin))
        {
            throw new AgentJoinException(JoinFailure.CaMismatch, "the server's CA does not match the token's hash");
        }

        if (certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) != NodeIdentity.UserName(nodeName))
        {
            throw new AgentJoinException(JoinFailure.Refused, $"the server issued a certificate for \"{certificate.Subject}\", not node \"{nodeName}\"");
        }

        var parent = Path.GetDirectoryName(dir)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{NodeIdentity.DirectoryName}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            WritePrivate(Path.Combine(staging, NodeIdentity.KeyFile), key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(staging, NodeIdentity.CertificateFile), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(staging, NodeIdentity.CaFile), ca.ExportCertificatePem());
            Directory.Move(staging, dir);
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }

        certificate.Dispose();
        ca.Dispose();
        return Load(dir, nodeName);
    }

    private static void WritePrivate(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(content));
        stream.Flush(flushToDisk: true);
    }

    [LoggerMessage(EventId = 5601, Level = LogLevel.Information, Message = "Loaded the identity of node {Node}; its certificate expires {NotAfter:o}")]
    private static partial void LogLoaded(ILogger logger, string node, DateTime notAfter);

    [LoggerMessage(EventId = 5602, Level = LogLevel.Information, Message = "Node {Node} joined through {Server}; its certificate expires {NotAfter:o}")]
    private static partial void LogJoined(ILogger logger, string node, Uri server, DateTime notAfter);

    [LoggerMessage(EventId = 5603, Level = LogLevel.Warning, Message = "Join through {Server} failed: {Reason}")]
    private static partial void LogServerFailed(ILogger logger, Uri server, string reason);
}
