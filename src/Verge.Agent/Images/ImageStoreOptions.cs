using System.Net;
using System.Runtime.InteropServices;

namespace Verge.Agent.Images;

/// <summary>Where the image store keeps its content and how it reaches registries.</summary>
public sealed record ImageStoreOptions
{
    /// <summary>The store's directory (under the agent's data directory): blobs, the reference index, root filesystems.</summary>
    public required string Root { get; init; }

    /// <summary>
    /// Registries (host or host:port, as written in image references) spoken to over plain HTTP. Loopback
    /// registries (localhost, 127.0.0.0/8, ::1) are always treated as insecure.
    /// </summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>
    /// Registry mirrors: image references naming the key registry (as normalised: "docker.io", "ghcr.io") are pulled
    /// from the mirror (host or host:port) instead, like containerd's registry mirrors. Sites without internet
    /// access point docker.io at a registry of their own, so manifests that say <c>image: app:latest</c> work
    /// unchanged. The reference and cache keys keep the original name.
    /// </summary>
    public IReadOnlyDictionary<string, string> Mirrors { get; init; } = new Dictionary<string, string>();

    /// <summary>The platform an image index is resolved to.</summary>
    public string Os { get; init; } = "linux";

    public string Architecture { get; init; } = DefaultArchitecture();

    /// <summary>The CPU variant preferred in an image index ("v7" for arm, "v8" for arm64); null matches any.</summary>
    public string? Variant { get; init; } = DefaultVariant(DefaultArchitecture());

    /// <summary>The largest manifest or config accepted from a registry or archive.</summary>
    public int MaxManifestBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long one registry request may take before it is abandoned (blob downloads included).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a response body may send nothing before the pull fails as stalled.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Root) || !Path.IsPathRooted(Root))
        {
            throw new ArgumentException($"ImageStoreOptions.Root must be an absolute directory path, not \"{Root}\"");
        }

        if (string.IsNullOrWhiteSpace(Os) || string.IsNullOrWhiteSpace(Architecture))
        {
            throw new ArgumentException("ImageStoreOptions.Os and Architecture must be set");
        }

        if (MaxManifestBytes < 1024 || RequestTimeout <= TimeSpan.Zero || StallTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                "ImageStoreOptions.MaxManifestBytes must be at least 1 KiB, RequestTimeout and StallTimeout positive");
        }
    }

    /// <summary>Whether the registry (host or host:port) is spoken to over plain HTTP.</summary>
    /// <summary>The host[:port] that serves <paramref name="registry"/>: its mirror, or itself.</summary>
    public string EndpointFor(string registry, string defaultEndpoint) =>
        Mirrors.TryGetValue(registry, out var mirror) ? mirror : defaultEndpoint;

    public bool IsInsecure(string registry)
    {
        if (InsecureRegistries.Any(r => string.Equals(r, registry, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        var host = registry;
        if (host.StartsWith('['))
        {
            host = host[1..host.IndexOf(']', StringComparison.Ordinal)];
        }
        else if (host.Count(c => c == ':') == 1)
        {
            host = host[..host.IndexOf(':', StringComparison.Ordinal)];
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>The OCI name of this machine's architecture.</summary>
    public static string DefaultArchitecture() => Registration.NodeInfoCollector.Architecture(RuntimeInformation.OSArchitecture);

    private static string? DefaultVariant(string architecture) => architecture switch
    {
        "arm64" => "v8",
        "arm" => RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Armv6 ? "v6" : "v7",
        _ => null,
    };
}
