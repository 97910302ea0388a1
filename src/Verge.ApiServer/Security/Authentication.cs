using System.Runtime.CompilerServices;
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
internal sealed class Authentication(CertificateAuthority ca, Nodes.BootstrapTokenStore tokens, TimeProvider time)
{
    /// <summary>The group of cloud applications: the cloud MQTT endpoint, and devices and their commands on the API.</summary>
    public const string CloudGroup = "verge:cloud";

    private const string UserKey = "verge.user";

    private static readonly HashSet<string> Public = new(StringComparer.Ordinal) { "/healthz", "/readyz", "/livez" };

    public static bool IsPublic(PathString path) => Public.Contains(path.Value ?? "");

    /// <summary>
    /// The user of each client certificate object: a TLS connection hands every request on it the same object, so a
    /// request after the first costs a lookup instead of the certificate's hash and the parse of its subject (a
    /// node's lease renewal, every second or two, paid for both). Held weakly: an entry goes with its connection.
    /// </summary>
    private readonly ConditionalWeakTable<X509Certificate2, CertificateUser> _certificateUsers = new();

    private sealed record CertificateUser(UserInfo User, DateTimeOffset Until);

    public static UserInfo? UserOf(HttpContext context) => context.Items[UserKey] as UserInfo;

    public async Task<UserInfo?> AuthenticateAsync(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate ?? await context.Connection.GetClientCertificateAsync(context.RequestAborted);
        UserInfo? user;
        if (certificate is not null && UserOfCertificate(certificate) is { } named)
        {
            user = named;
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

    /// <summary>
    /// The user a certificate names when it chains to the cluster CA, or null. The answer for a certificate object is
    /// kept until the CA's verdict lapses (at most a minute, never past the certificate's expiry), then asked again.
    /// </summary>
    internal UserInfo? UserOfCertificate(X509Certificate2 certificate)
    {
        if (_certificateUsers.TryGetValue(certificate, out var known) && time.GetUtcNow() < known.Until)
        {
            return known.User;
        }

        if (!ca.Verify(certificate, out var until))
        {
            _certificateUsers.Remove(certificate);
            return null;
        }

        var user = FromCertificate(certificate);
        _certificateUsers.AddOrUpdate(certificate, new CertificateUser(user, until));
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
