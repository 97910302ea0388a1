using System.Text.Json.Serialization;

namespace Verge.Agent.Images;

/// <summary>The media types of the OCI image spec and the Docker v2 schema 2 formats they grew out of.</summary>
internal static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string? mediaType) => mediaType is OciManifest or DockerManifest;
}

/// <summary>An OCI descriptor: what a manifest or index points at.</summary>
internal sealed record OciDescriptor
{
    public string? MediaType { get; init; }

    public string Digest { get; init; } = string.Empty;

    public long Size { get; init; }

    public OciPlatform? Platform { get; init; }

    public Dictionary<string, string>? Annotations { get; init; }
}

internal sealed record OciPlatform
{
    public string? Architecture { get; init; }

    public string? Os { get; init; }

    public string? Variant { get; init; }
}

/// <summary>An image manifest or an image index (manifest list): both read through one shape, told apart by content.</summary>
internal sealed record OciManifest
{
    public int SchemaVersion { get; init; }

    public string? MediaType { get; init; }

    public OciDescriptor? Config { get; init; }

    public List<OciDescriptor>? Layers { get; init; }

    public List<OciDescriptor>? Manifests { get; init; }

    public Dictionary<string, string>? Annotations { get; init; }
}

/// <summary>The image config blob (only what a runtime needs, plus the layer diff ids).</summary>
internal sealed record OciImageConfig
{
    public string? Architecture { get; init; }

    public string? Os { get; init; }

    public string? Variant { get; init; }

    public OciRuntimeConfig? Config { get; init; }

    public OciRootfs? Rootfs { get; init; }
}

/// <summary>The "config" object of an image config, whose keys are capitalised by the spec.</summary>
internal sealed record OciRuntimeConfig
{
    [JsonPropertyName("User")]
    public string? User { get; init; }

    [JsonPropertyName("Env")]
    public List<string>? Env { get; init; }

    [JsonPropertyName("Entrypoint")]
    public List<string>? Entrypoint { get; init; }

    [JsonPropertyName("Cmd")]
    public List<string>? Cmd { get; init; }

    [JsonPropertyName("WorkingDir")]
    public string? WorkingDir { get; init; }

    [JsonPropertyName("StopSignal")]
    public string? StopSignal { get; init; }
}

internal sealed record OciRootfs
{
    public string? Type { get; init; }

    [JsonPropertyName("diff_ids")]
    public List<string>? DiffIds { get; init; }
}

/// <summary>An entry of a docker-archive's manifest.json.</summary>
internal sealed record DockerArchiveEntry
{
    [JsonPropertyName("Config")]
    public string? Config { get; init; }

    [JsonPropertyName("RepoTags")]
    public List<string>? RepoTags { get; init; }

    [JsonPropertyName("Layers")]
    public List<string>? Layers { get; init; }
}

/// <summary>A token service's answer (Docker token authentication).</summary>
internal sealed record TokenResponse
{
    [JsonPropertyName("token")]
    public string? Token { get; init; }

    [JsonPropertyName("access_token")]
    public string? AccessToken { get; init; }

    [JsonPropertyName("expires_in")]
    public int? ExpiresIn { get; init; }
}

/// <summary>The persisted reference index: which manifest each reference names.</summary>
internal sealed record ImageIndexFile
{
    public int Version { get; init; } = 1;

    public List<ImageIndexEntry> Images { get; init; } = [];
}

internal sealed record ImageIndexEntry(string Reference, string Digest);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = false)]
[JsonSerializable(typeof(OciManifest))]
[JsonSerializable(typeof(OciImageConfig))]
[JsonSerializable(typeof(List<DockerArchiveEntry>))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(ImageIndexFile))]
internal sealed partial class ImagesJsonContext : JsonSerializerContext;
