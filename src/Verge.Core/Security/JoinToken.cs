using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Verge.Core.Security;

/// <summary>
/// A bootstrap token that lets an agent join: <c>ID.SECRET</c> (ID 6 and SECRET 16 characters of [a-z0-9], as
/// Kubernetes bootstrap tokens), optionally prefixed with the cluster CA pin in the K3s shape
/// <c>K10&lt;sha256 hex of the CA's SubjectPublicKeyInfo&gt;::ID.SECRET</c>.
/// </summary>
public sealed record JoinToken
{
    public const int IdLength = 6;
    public const int SecretLength = 16;
    private const string PinPrefix = "K10";
    private const string PinSeparator = "::";
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public JoinToken(string id, string secret, string? caHash = null)
    {
        if (!IsTokenPart(id, IdLength) || !IsTokenPart(secret, SecretLength))
        {
            throw new FormatException("a bootstrap token ID must be 6 and its secret 16 characters of [a-z0-9]");
        }

        Id = id;
        Secret = secret;
        CaHash = caHash is null ? null : CaPin.Normalize(caHash);
    }

    /// <summary>The public part: names the token's Secret (<c>bootstrap-token-ID</c>).</summary>
    public string Id { get; }

    /// <summary>The private part; the server keeps only its SHA-256.</summary>
    public string Secret { get; }

    /// <summary>The cluster CA pin (<c>sha256:hex</c>) when the token carries one.</summary>
    public string? CaHash { get; }

    /// <summary>The bare token, <c>ID.SECRET</c>, as sent to the join endpoint.</summary>
    public string BootstrapToken => $"{Id}.{Secret}";

    /// <summary>A new random token (cryptographically random characters of [a-z0-9]).</summary>
    public static JoinToken Generate(string? caHash = null) =>
        new(RandomNumberGenerator.GetString(Alphabet, IdLength), RandomNumberGenerator.GetString(Alphabet, SecretLength), caHash);

    /// <summary>Parses <c>ID.SECRET</c> or <c>K10HEX::ID.SECRET</c>; throws <see cref="FormatException"/> with a clear message otherwise.</summary>
    public static JoinToken Parse(string text)
    {
        if (!TryParse(text, out var token, out var error))
        {
            throw new FormatException(error);
        }

        return token;
    }

    public static bool TryParse(string? text, [NotNullWhen(true)] out JoinToken? token, [NotNullWhen(false)] out string? error)
    {
        token = null;
        const string Shape = "a join token must be ID.SECRET (6 and 16 characters of [a-z0-9]) or K10<sha256 hex>::ID.SECRET";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the join token is empty: " + Shape;
            return false;
        }

        text = text.Trim();
        string? hash = null;
        var separator = text.IndexOf(PinSeparator, StringComparison.Ordinal);
        if (separator >= 0)
        {
            var pin = text[..separator];
            if (!pin.StartsWith(PinPrefix, StringComparison.Ordinal) || pin.Length != PinPrefix.Length + 64
                || !pin[PinPrefix.Length..].All(Uri.IsHexDigit))
            {
                error = "the join token's CA hash is not K10 followed by 64 hex digits: " + Shape;
                return false;
            }

            hash = CaPin.Prefix + pin[PinPrefix.Length..].ToLowerInvariant();
            text = text[(separator + PinSeparator.Length)..];
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0 || !IsTokenPart(text[..dot], IdLength) || !IsTokenPart(text[(dot + 1)..], SecretLength))
        {
            error = "the join token is malformed: " + Shape;
            return false;
        }

        token = new JoinToken(text[..dot], text[(dot + 1)..], hash);
        error = null;
        return true;
    }

    /// <summary>The SHA-256 of a token secret, in lower-case hex: what the server stores instead of the secret.</summary>
    public static string HashSecret(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>The token as printed for operators: with the CA pin when known.</summary>
    public override string ToString() =>
        CaHash is null ? BootstrapToken : $"{PinPrefix}{CaHash[CaPin.Prefix.Length..]}{PinSeparator}{BootstrapToken}";

    private static bool IsTokenPart(string value, int length) =>
        value.Length == length && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9'));
}
