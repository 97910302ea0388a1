using System.Security.Cryptography;
using System.Text;
using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Security;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Security;

namespace Verge.ApiServer.Nodes;

/// <summary>Why a bootstrap token was refused.</summary>
internal enum TokenRejection
{
    None,
    Malformed,
    Unknown,
    WrongSecret,
    Expired,
    NotForJoin,
}

/// <summary>
/// Bootstrap tokens kept as Secrets in kube-system (see <see cref="BootstrapTokenSecret"/>): creates them, lists and
/// revokes them, and checks a presented token against the stored hash in constant time. Expired tokens are refused
/// and deleted when they are next presented.
/// </summary>
internal sealed class BootstrapTokenStore(ResourceService service, TimeProvider time)
{
    private static readonly ResourceType SecretType = ResourceCatalog.For<Secret>();
    private static readonly WriteOptions ServerWrite = new(false, "verge-server", FieldValidation.Ignore, false);

    /// <summary>Creates and stores a new token; returns it (with <paramref name="caHash"/> when given, for printing).</summary>
    public async Task<JoinToken> CreateAsync(TimeSpan? ttl, string? description, string? caHash, CancellationToken ct)
    {
        if (ttl is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "a token's TTL must be positive (or absent for a token that never expires)");
        }

        var token = JoinToken.Generate(caHash);
        var secret = BootstrapTokenSecret.Create(token, ttl is { } l ? time.GetUtcNow() + l : null, description);
        await service.CreateAsync(SecretType, BootstrapTokenSecret.Namespace, secret, ServerWrite, null, ct);
        return token;
    }

    /// <summary>Every stored Verge bootstrap token, expired ones included, by ID.</summary>
    public async Task<IReadOnlyList<BootstrapTokenInfo>> ListAsync(CancellationToken ct)
    {
        var prefix = ObjectCodec.Prefix(SecretType, BootstrapTokenSecret.Namespace) + BootstrapTokenSecret.NamePrefix;
        var page = await service.Store.ListAsync(prefix, 0, 0, null, ct);
        var tokens = new List<BootstrapTokenInfo>();
        foreach (var kv in page.Items)
        {
            if (ObjectCodec.Decode(SecretType, kv.Value.Span, kv.ModRevision) is Secret s && BootstrapTokenSecret.TryRead(s, out var info))
            {
                tokens.Add(info);
            }
        }

        return tokens;
    }

    /// <summary>Revokes a token; false when there was none with that ID.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken ct)
    {
        try
        {
            await service.DeleteAsync(SecretType, BootstrapTokenSecret.Namespace, BootstrapTokenSecret.NameOf(id), new DeleteOptions(), ct);
            return true;
        }
        catch (ApiException e) when (e.Code == 404)
        {
            return false;
        }
    }

    /// <summary>Checks a presented bare token (<c>ID.SECRET</c>); <see cref="TokenRejection.None"/> when it may join.</summary>
    public async Task<TokenRejection> ValidateAsync(string? presented, CancellationToken ct)
    {
        if (!JoinToken.TryParse(presented, out var token, out _) || token.CaHash is not null)
        {
            return TokenRejection.Malformed;
        }

        var kv = await service.GetRawAsync(SecretType, BootstrapTokenSecret.Namespace, BootstrapTokenSecret.NameOf(token.Id), ct);
        if (kv is null
            || ObjectCodec.Decode(SecretType, kv.Value.Span, kv.ModRevision) is not Secret secret
            || !BootstrapTokenSecret.TryRead(secret, out var info)
            || info.Id != token.Id)
        {
            return TokenRejection.Unknown;
        }

        var expected = Encoding.ASCII.GetBytes(info.SecretHash);
        var actual = Encoding.ASCII.GetBytes(JoinToken.HashSecret(token.Secret));
        if (!CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            return TokenRejection.WrongSecret;
        }

        if (info.Expires is { } expires && expires <= time.GetUtcNow())
        {
            await DeleteAsync(token.Id, ct);
            return TokenRejection.Expired;
        }

        return info.ForJoin ? TokenRejection.None : TokenRejection.NotForJoin;
    }

    /// <summary>
    /// Authenticates an API token (<c>ID.SECRET</c>, created with usage api): the user <c>verge:token:ID</c> in the
    /// token's groups, or null when the token is malformed, unknown, wrong, expired or not an API token.
    /// </summary>
    public async Task<UserInfo?> AuthenticateApiAsync(string? presented, CancellationToken ct)
    {
        if (!JoinToken.TryParse(presented, out var token, out _) || token.CaHash is not null)
        {
            return null;
        }

        var kv = await service.GetRawAsync(SecretType, BootstrapTokenSecret.Namespace, BootstrapTokenSecret.NameOf(token.Id), ct);
        if (kv is null
            || ObjectCodec.Decode(SecretType, kv.Value.Span, kv.ModRevision) is not Secret secret
            || !BootstrapTokenSecret.TryRead(secret, out var info)
            || info.Id != token.Id
            || !BootstrapTokenSecret.IsForApi(secret, out var groups))
        {
            return null;
        }

        var expected = Encoding.ASCII.GetBytes(info.SecretHash);
        var actual = Encoding.ASCII.GetBytes(JoinToken.HashSecret(token.Secret));
        if (!CryptographicOperations.FixedTimeEquals(expected, actual)
            || (info.Expires is { } expires && expires <= time.GetUtcNow()))
        {
            return null;
        }

        return new UserInfo(BootstrapTokenSecret.ApiUserPrefix + token.Id, groups);
    }
}
