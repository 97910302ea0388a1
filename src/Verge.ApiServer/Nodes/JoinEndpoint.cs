using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.ApiServer.Security;
using Verge.Core.Security;
using Verge.Core.Validation;

namespace Verge.ApiServer.Nodes;

/// <summary>
/// <c>GET /verge/v1/cacerts</c> serves the cluster CA in PEM (public, like K3s' /cacerts: an agent checks it
/// against the pin in its token, then requires the server's chain to end in it). <c>POST /verge/v1/join</c> trades a bootstrap token and a certificate signing request for a node client
/// certificate (CN <c>system:node:NAME</c>, O <c>system:nodes</c>, client auth, one year) signed by the cluster CA.
/// The only endpoint a caller without a certificate may use besides the health checks. Every failure is a
/// Kubernetes Status: 400 for a malformed body, 401 for a token that is unknown, wrong or expired (one message for
/// all, so the answer says nothing about which tokens exist), 422 for a bad node name or request.
/// </summary>
internal sealed partial class JoinEndpoint(
    BootstrapTokenStore tokens,
    CertificateAuthority ca,
    ApiServerOptions options,
    TimeProvider time,
    ILogger<JoinEndpoint> logger)
{
    /// <summary>How long a node certificate lasts.</summary>
    public static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(365);

    private static readonly TimeSpan FailureWindow = TimeSpan.FromMinutes(1);
    private readonly Queue<DateTimeOffset> _failures = new();
    private readonly Lock _failuresLock = new();

    public static bool Matches(PathString path) => path.Value is JoinRequest.Path or JoinRequest.CaPath;

    public async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path.Value == JoinRequest.CaPath)
        {
            if (context.Request.Method is not ("GET" or "HEAD"))
            {
                throw ApiException.MethodNotAllowed(context.Request.Method);
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-pem-file";
            await context.Response.WriteAsync(ca.CertificatePem, context.RequestAborted);
            return;
        }

        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        try
        {
            await JoinAsync(context, remote);
        }
        catch (ApiException e) when (e.Code is 400 or 401 or 422)
        {
            LogJoinRefused(logger, remote, e.Code, e.Message, CountFailure());
            throw;
        }
    }

    private async Task JoinAsync(HttpContext context, string remote)
    {
        if (context.Request.Method != "POST")
        {
            throw ApiException.MethodNotAllowed(context.Request.Method);
        }

        var ct = context.RequestAborted;
        var body = await RequestBody.ReadAsync(context.Request, Math.Min(options.MaxRequestBodyBytes, 64 * 1024), ct);
        JoinRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(body, JoinJsonContext.Default.JoinRequest);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the join request is not valid JSON: {e.Message}");
        }

        if (request is null || string.IsNullOrEmpty(request.Token) || string.IsNullOrEmpty(request.NodeName) || string.IsNullOrEmpty(request.Csr))
        {
            throw ApiException.BadRequest("a join request needs token, nodeName and csr");
        }

        var rejection = await tokens.ValidateAsync(request.Token, ct);
        if (rejection != TokenRejection.None)
        {
            LogTokenRejected(logger, remote, rejection);
            throw new ApiException(401, "Unauthorized", "the bootstrap token is invalid or has expired");
        }

        var nameErrors = NameValidation.IsDns1123Subdomain(request.NodeName);
        if (nameErrors.Count > 0)
        {
            throw ApiException.Unprocessable($"nodeName \"{request.NodeName}\" is invalid: {string.Join("; ", nameErrors)}");
        }

        PublicKey key;
        try
        {
            key = CertificateAuthority.ReadClientCsr(request.Csr);
        }
        catch (FormatException e)
        {
            throw ApiException.Unprocessable(e.Message);
        }

        var user = NodeIdentityNames.UserName(request.NodeName);
        using var certificate = ca.IssueClientFor(key, user, [NodeIdentityNames.NodesGroup], CertificateLifetime);
        LogJoined(logger, request.NodeName, remote, certificate.NotAfter.ToUniversalTime());
        var response = new JoinResponse { Certificate = certificate.ExportCertificatePem(), CaCertificate = ca.CertificatePem };
        await ResourceEndpoint.WriteJsonAsync(context, 200, JsonSerializer.SerializeToUtf8Bytes(response, JoinJsonContext.Default.JoinResponse));
    }

    /// <summary>Records a failed attempt and returns how many failed in the last minute.</summary>
    private int CountFailure()
    {
        var now = time.GetUtcNow();
        lock (_failuresLock)
        {
            _failures.Enqueue(now);
            while (_failures.TryPeek(out var oldest) && now - oldest > FailureWindow)
            {
                _failures.Dequeue();
            }

            return _failures.Count;
        }
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Node {Node} joined from {Remote}; its certificate expires {NotAfter:o}")]
    private static partial void LogJoined(ILogger logger, string node, string remote, DateTime notAfter);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Join from {Remote} refused ({Code}: {Reason}); {Failures} failed join attempts in the last minute")]
    private static partial void LogJoinRefused(ILogger logger, string remote, int code, string reason, int failures);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Debug, Message = "Join from {Remote}: bootstrap token refused ({Rejection})")]
    private static partial void LogTokenRejected(ILogger logger, string remote, TokenRejection rejection);
}

/// <summary>The identity a node certificate carries, as Kubernetes' node authorizer expects.</summary>
internal static class NodeIdentityNames
{
    public const string NodesGroup = "system:nodes";
    public const string UserPrefix = "system:node:";

    public static string UserName(string nodeName) => UserPrefix + nodeName;

    /// <summary>The node a user is, when the user is a node (name system:node:NAME in group system:nodes).</summary>
    public static string? NodeNameOf(UserInfo user) =>
        user.Groups.Contains(NodesGroup) && user.Name.StartsWith(UserPrefix, StringComparison.Ordinal) && user.Name.Length > UserPrefix.Length
            ? user.Name[UserPrefix.Length..]
            : null;
}
