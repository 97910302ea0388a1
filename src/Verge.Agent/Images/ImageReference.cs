using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Verge.Agent.Images;

/// <summary>
/// A parsed image reference, normalised the way Docker does it: "busybox" is
/// "docker.io/library/busybox:latest", "ghcr.io/o/app@sha256:..." keeps its digest, and the first path component is
/// a registry only when it has a dot or a port or is "localhost".
/// </summary>
internal sealed partial record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>registry/repository, the name without tag or digest.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary>What the registry is asked for: the digest when there is one, the tag otherwise.</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    /// <summary>The host (and port) the distribution API is served on: Docker Hub's endpoint for docker.io.</summary>
    public string Endpoint => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    public override string ToString() =>
        Name + (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);

    /// <summary>The same repository pinned to a manifest digest.</summary>
    public ImageReference WithDigest(string digest) => this with { Tag = null, Digest = digest };

    public static ImageReference Parse(string reference)
    {
        if (!TryParse(reference, out var parsed, out var error))
        {
            throw new ImagePullException($"invalid image reference \"{reference}\": {error}", "InvalidImageName");
        }

        return parsed;
    }

    public static bool TryParse(string? reference, [NotNullWhen(true)] out ImageReference? parsed, out string error)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(reference))
        {
            error = "the reference is empty";
            return false;
        }

        if (reference.Length > 4096 || reference.Trim() != reference)
        {
            error = "the reference is too long or has surrounding white space";
            return false;
        }

        var rest = reference;
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!Digests.IsValid(digest))
            {
                error = $"\"{digest}\" is not a sha256 digest (sha256: followed by 64 lowercase hex digits)";
                return false;
            }
        }

        string? tag = null;
        var lastSlash = rest.LastIndexOf('/');
        var colon = rest.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                error = $"\"{tag}\" is not a valid tag";
                return false;
            }
        }

        string registry = DockerHub;
        var firstSlash = rest.IndexOf('/', StringComparison.Ordinal);
        if (firstSlash > 0)
        {
            var first = rest[..firstSlash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) ||
                first == "localhost" || first.Any(char.IsUpper))
            {
                registry = first;
                rest = rest[(firstSlash + 1)..];
                if (!DomainPattern().IsMatch(registry))
                {
                    error = $"\"{registry}\" is not a valid registry host";
                    return false;
                }
            }
        }

        if (registry is "index.docker.io" or "registry-1.docker.io")
        {
            registry = DockerHub;
        }

        if (rest.Length == 0 || rest.Length > 255 || !RepositoryPattern().IsMatch(rest))
        {
            error = $"\"{rest}\" is not a valid repository name (lowercase letters, digits and . _ - separators, " +
                "components joined by /)";
            return false;
        }

        if (registry == DockerHub && !rest.Contains('/', StringComparison.Ordinal))
        {
            rest = "library/" + rest;
        }

        if (tag is null && digest is null)
        {
            tag = "latest";
        }

        parsed = new ImageReference(registry, rest, tag, digest);
        error = string.Empty;
        return true;
    }

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex(@"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainPattern();
}

/// <summary>sha256 digests: validation and the hex part that names a blob file.</summary>
internal static partial class Digests
{
    public const string Prefix = "sha256:";

    public static bool IsValid([NotNullWhen(true)] string? digest) => digest is not null && DigestPattern().IsMatch(digest);

    public static string Hex(string digest) =>
        IsValid(digest) ? digest[Prefix.Length..] : throw new ImagePullException($"\"{digest}\" is not a sha256 digest");

    public static string FromHash(ReadOnlySpan<byte> hash) => Prefix + Convert.ToHexStringLower(hash);

    [GeneratedRegex("^sha256:[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex DigestPattern();
}
