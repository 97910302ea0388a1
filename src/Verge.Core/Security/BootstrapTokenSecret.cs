using System.Globalization;
using System.Text;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Core.Security;

/// <summary>What a stored bootstrap token says: its ID, the SHA-256 of its secret, when it expires, and why it exists.</summary>
public sealed record BootstrapTokenInfo(string Id, string SecretHash, DateTimeOffset? Expires, string? Description, bool ForJoin);

/// <summary>
/// How a bootstrap token is kept: a Secret <c>kube-system/bootstrap-token-ID</c> of type
/// <c>bootstrap.kubernetes.io/token</c>, as Kubernetes keeps them, except that it holds only the SHA-256 of the token
/// secret (<c>token-secret-sha256</c>), never the secret itself. <c>expiration</c> is RFC 3339; the usage
/// <c>verge.dev/join</c> is the data key <c>usage-verge.dev-join: "true"</c> (Secret keys cannot hold a slash).
/// </summary>
public static class BootstrapTokenSecret
{
    public const string Namespace = "kube-system";
    public const string NamePrefix = "bootstrap-token-";
    public const string SecretType = "bootstrap.kubernetes.io/token";
    public const string Usage = "verge.dev/join";
    public const string IdKey = "token-id";
    public const string SecretHashKey = "token-secret-sha256";
    public const string ExpirationKey = "expiration";
    public const string DescriptionKey = "description";
    public const string UsageKey = "usage-verge.dev-join";

    /// <summary>The data key that marks a token usable as an API bearer token (and MQTT password at the cloud endpoint).</summary>
    public const string ApiUsageKey = "usage-verge.dev-api";

    /// <summary>The groups an API token authenticates with, comma-separated (Kubernetes' auth-extra-groups).</summary>
    public const string GroupsKey = "auth-extra-groups";

    /// <summary>The user an API token authenticates as: <c>verge:token:ID</c>.</summary>
    public const string ApiUserPrefix = "verge:token:";

    public static string NameOf(string id) => NamePrefix + id;

    /// <summary>
    /// The Secret that stores an API token (its hash only): usable as <c>Authorization: Bearer ID.SECRET</c> and as
    /// the password at the cloud MQTT endpoint, authenticating as user <c>verge:token:ID</c> in <paramref name="groups"/>.
    /// It is not a join token.
    /// </summary>
    public static Secret CreateForApi(JoinToken token, DateTimeOffset? expires, string? description, IReadOnlyCollection<string> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Count == 0 || groups.Any(g => string.IsNullOrWhiteSpace(g) || g.Contains(',', StringComparison.Ordinal)))
        {
            throw new ArgumentException("an API token needs at least one group, and group names cannot be empty or hold a comma", nameof(groups));
        }

        var secret = Create(token, expires, description);
        secret.Data!.Remove(UsageKey);
        secret.Data[ApiUsageKey] = "true"u8.ToArray();
        secret.Data[GroupsKey] = Encoding.UTF8.GetBytes(string.Join(',', groups));
        return secret;
    }

    /// <summary>Whether the stored token is an API token, and the groups it authenticates with.</summary>
    public static bool IsForApi(Secret secret, out IReadOnlyList<string> groups)
    {
        ArgumentNullException.ThrowIfNull(secret);
        groups = [];
        if (secret.Data is not { } data || !data.TryGetValue(ApiUsageKey, out var usage) || Encoding.UTF8.GetString(usage) != "true")
        {
            return false;
        }

        groups = data.TryGetValue(GroupsKey, out var g)
            ? Encoding.UTF8.GetString(g).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        return true;
    }

    /// <summary>The Secret that stores <paramref name="token"/> (its hash only).</summary>
    public static Secret Create(JoinToken token, DateTimeOffset? expires, string? description)
    {
        ArgumentNullException.ThrowIfNull(token);
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [IdKey] = Encoding.UTF8.GetBytes(token.Id),
            [SecretHashKey] = Encoding.UTF8.GetBytes(JoinToken.HashSecret(token.Secret)),
            [UsageKey] = "true"u8.ToArray(),
        };
        if (expires is { } e)
        {
            data[ExpirationKey] = Encoding.UTF8.GetBytes(e.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }

        if (!string.IsNullOrEmpty(description))
        {
            data[DescriptionKey] = Encoding.UTF8.GetBytes(description);
        }

        return new Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new ObjectMeta { Name = NameOf(token.Id), Namespace = Namespace },
            Type = SecretType,
            Data = data,
        };
    }

    /// <summary>Reads a stored token; false when the Secret is not a well-formed Verge bootstrap token.</summary>
    public static bool TryRead(Secret secret, out BootstrapTokenInfo info)
    {
        ArgumentNullException.ThrowIfNull(secret);
        info = null!;
        var data = secret.Data;
        if (secret.Type != SecretType || data is null
            || !data.TryGetValue(IdKey, out var id) || !data.TryGetValue(SecretHashKey, out var hash))
        {
            return false;
        }

        DateTimeOffset? expires = null;
        if (data.TryGetValue(ExpirationKey, out var exp))
        {
            if (!DateTimeOffset.TryParse(Encoding.UTF8.GetString(exp), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return false;
            }

            expires = parsed;
        }

        info = new BootstrapTokenInfo(
            Encoding.UTF8.GetString(id),
            Encoding.UTF8.GetString(hash),
            expires,
            data.TryGetValue(DescriptionKey, out var d) ? Encoding.UTF8.GetString(d) : null,
            data.TryGetValue(UsageKey, out var u) && Encoding.UTF8.GetString(u) == "true");
        return true;
    }
}
