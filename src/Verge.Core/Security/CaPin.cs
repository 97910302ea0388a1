using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Verge.Core.Security;

/// <summary>
/// The pin of a cluster CA: the SHA-256 of the CA certificate's DER-encoded SubjectPublicKeyInfo, written
/// <c>sha256:&lt;hex&gt;</c> as kubeadm's <c>--discovery-token-ca-cert-hash</c>. A join token carries it so an agent
/// can trust the server's CA without any other file.
/// </summary>
public static class CaPin
{
    public const string Prefix = "sha256:";

    /// <summary>The pin of <paramref name="ca"/>: <c>sha256:</c> and 64 lower-case hex digits.</summary>
    public static string Compute(X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(ca);
        return Prefix + Hex(ca);
    }

    /// <summary>The 64 hex digits of the pin, without the prefix.</summary>
    public static string Hex(X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(ca);
        return Convert.ToHexStringLower(SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    /// <summary>
    /// Reads a pin given as <c>sha256:HEX</c> or bare HEX (any case) and returns it as <c>sha256:hex</c>; throws
    /// <see cref="FormatException"/> for anything else.
    /// </summary>
    public static string Normalize(string pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        var hex = pin.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? pin[Prefix.Length..] : pin;
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            throw new FormatException($"a CA certificate hash must be \"sha256:\" followed by 64 hex digits, got \"{pin}\"");
        }

        return Prefix + hex.ToLowerInvariant();
    }

    /// <summary>Whether <paramref name="ca"/> has the pin <paramref name="pin"/> (compared in constant time).</summary>
    public static bool Matches(X509Certificate2 ca, string pin)
    {
        var expected = System.Text.Encoding.ASCII.GetBytes(Normalize(pin));
        var actual = System.Text.Encoding.ASCII.GetBytes(Compute(ca));
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}
