using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Verge.ApiServer.Security;

/// <summary>Who is calling: a user name and groups, as Kubernetes' user.Info.</summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups)
{
    public const string MastersGroup = "system:masters";

    public bool IsAdmin => Groups.Contains(MastersGroup);
}

/// <summary>
/// Authenticates every request by its TLS client certificate, which must chain to the cluster CA: the subject's CN
/// is the user and each O a group; or, without one, by an API token as <c>Authorization: Bearer ID.SECRET</c>
/// (<c>verge token create --usage api</c>: user <c>verge:token:ID</c> in the token's groups). Requests with neither
/// get 401, except the health endpoints.
/// </summary>
internal sealed class Authentication(CertificateAuthority ca, Nodes.BootstrapTokenStore tokens)
{
    /// <summary>The group of cloud applications: the cloud MQTT endpoint, and devices and their commands on the API.</summary>
    public const string CloudGroup = "verge:cloud";

    private const string UserKey = "verge.user";

    private static readonly HashSet<string> Public = new(StringComparer.Ordinal) { "/healthz", "/readyz", "/livez" };

    public static bool IsPublic(PathString path) => Public.Contains(path.Value ?? "");

    public static UserInfo? UserOf(HttpContext context) => context.Items[UserKey] as UserInfo;

    public async Task<UserInfo?> AuthenticateAsync(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate ?? await context.Connection.GetClientCertificateAsync(context.RequestAborted);
        UserInfo? user;
        if (certificate is not null && ca.Verify(certificate))
        {
            user = FromCertificate(certificate);
        }
        else if (context.Request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            user = await tokens.AuthenticateApiAsync(header["Bearer ".Length..].Trim(), context.RequestAborted);
        }
        else
        {
            return null;
        }

        if (user is null)
        {
            return null;
        }

        context.Items[UserKey] = user;
        return user;
    }

    internal static UserInfo FromCertificate(X509Certificate2 certificate)
    {
        string? name = null;
        var groups = new List<string>();
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            var oid = rdn.GetSingleElementType().Value;
            var value = rdn.GetSingleElementValue();
            if (value is null)
            {
                continue;
            }

            if (oid == "2.5.4.3")
            {
                name = value;
            }
            else if (oid == "2.5.4.10")
            {
                groups.Add(value);
            }
        }

        return new UserInfo(name ?? "", groups);
    }
}
