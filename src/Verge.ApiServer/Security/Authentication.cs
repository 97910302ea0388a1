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
/// is the user and each O a group. Requests without a valid certificate get 401, except the health endpoints.
/// </summary>
internal sealed class Authentication(CertificateAuthority ca)
{
    private const string UserKey = "verge.user";

    private static readonly HashSet<string> Public = new(StringComparer.Ordinal) { "/healthz", "/readyz", "/livez" };

    public static bool IsPublic(PathString path) => Public.Contains(path.Value ?? "");

    public static UserInfo? UserOf(HttpContext context) => context.Items[UserKey] as UserInfo;

    public async Task<UserInfo?> AuthenticateAsync(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate ?? await context.Connection.GetClientCertificateAsync(context.RequestAborted);
        if (certificate is null || !ca.Verify(certificate))
        {
            return null;
        }

        var user = FromCertificate(certificate);
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
