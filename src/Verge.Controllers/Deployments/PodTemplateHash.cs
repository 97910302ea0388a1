using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.ApiServer.OpenApi;
using Verge.Core.Core;
using Verge.Core.Serialization;

namespace Verge.Controllers.Deployments;

/// <summary>
/// The <c>pod-template-hash</c> of a Deployment's template, computed as Kubernetes' <c>controller.ComputeHash</c>:
/// FNV-32a over the template, then the collision count as eight little-endian bytes when it is set, and the decimal
/// value mapped onto the alphabet of Kubernetes' <c>rand.SafeEncodeString</c> (no vowels, no 0/1/3).
/// </summary>
/// <remarks>
/// Kubernetes feeds the hash with Go's printout of the struct; Verge feeds it with the canonical JSON of the
/// template (keys in ordinal order). Names therefore differ from the ones a Kubernetes cluster would pick for the
/// same template, but they have the same shape and properties: stable for a template, changed by any change, and
/// moved on by collisionCount.
/// </remarks>
internal static class PodTemplateHash
{
    public const string Label = "pod-template-hash";

    private const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";

    public static string Compute(PodTemplateSpec template, int? collisionCount)
    {
        var node = JsonSerializer.SerializeToNode(template, VergeJson.Options.GetTypeInfo(typeof(PodTemplateSpec))) ?? new JsonObject();
        var hash = Fnv32a(CanonicalJson.ToUtf8Bytes(node), 2166136261);
        if (collisionCount is { } count)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, unchecked((uint)count));
            hash = Fnv32a(bytes, hash);
        }

        return SafeEncode(hash.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>FNV-1a, 32 bits, continuing from <paramref name="hash"/> (2166136261 to start).</summary>
    public static uint Fnv32a(ReadOnlySpan<byte> data, uint hash)
    {
        foreach (var b in data)
        {
            hash ^= b;
            hash = unchecked(hash * 16777619);
        }

        return hash;
    }

    /// <summary>Kubernetes' <c>rand.SafeEncodeString</c>: each character's code modulo 27 picks a safe character.</summary>
    public static string SafeEncode(string text) => string.Create(text.Length, text, static (span, s) =>
    {
        for (var i = 0; i < s.Length; i++)
        {
            span[i] = Alphabet[s[i] % Alphabet.Length];
        }
    });
}
