using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Verge.Core.Edge;

/// <summary>
/// The node channel's digest of the objects an agent holds (Hello.held_sha256): the SHA-256 of one line per key,
/// "KIND\0NAMESPACE\0NAME\n" in UTF-8 with KIND the protocol's ObjectKind number in decimal, the lines sorted
/// ordinally. Agent and server compute it the same way over their own views; equal digests mean equal key sets.
/// </summary>
public static class HeldKeyDigest
{
    public static byte[] Compute(IEnumerable<(int Kind, string Namespace, string Name)> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var lines = keys.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Kind}\0{k.Namespace}\0{k.Name}\n")).ToList();
        lines.Sort(StringComparer.Ordinal);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var line in lines)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(line));
        }

        return hash.GetHashAndReset();
    }
}
