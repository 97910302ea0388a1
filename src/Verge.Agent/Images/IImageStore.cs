namespace Verge.Agent.Images;

/// <summary>
/// The node's content-addressed image cache: pulls from OCI distribution registries (every blob verified against
/// its digest), imports OCI image archives, and unpacks images into root filesystems for the runc driver.
/// </summary>
public interface IImageStore
{
    /// <summary>
    /// Makes the image available locally according to <paramref name="policy"/> (IfNotPresent uses a cached copy,
    /// Always checks the registry, Never fails if absent). Throws <see cref="ImagePullException"/>.
    /// </summary>
    Task<ImageInfo> PullAsync(string reference, PullPolicy policy, RegistryCredentials? credentials, CancellationToken ct);

    /// <summary>Imports every image of an OCI image archive (a tar of an OCI image layout); returns what was imported.</summary>
    Task<IReadOnlyList<ImageInfo>> ImportArchiveAsync(Stream archive, CancellationToken ct);

    /// <summary>The locally known image for a reference, or null.</summary>
    ImageInfo? Find(string reference);

    /// <summary>
    /// A directory holding the image's unpacked root filesystem (layers applied in order, whiteouts honoured). It
    /// is shared by every container of that image and must be treated as read-only; the runc driver layers a
    /// writable directory over it.
    /// </summary>
    Task<string> GetRootfsAsync(ImageInfo image, CancellationToken ct);

    /// <summary>Every image in the cache (for the Node's status.images).</summary>
    IReadOnlyList<ImageInfo> List();
}

public enum PullPolicy
{
    IfNotPresent,
    Always,
    Never,
}

/// <summary>Credentials for a registry: basic auth, or a bearer token obtained from the registry's token service.</summary>
public sealed record RegistryCredentials(string Username, string Password);

/// <summary>A pulled or imported image.</summary>
/// <param name="Reference">The reference it was asked for by, normalised (registry/repository:tag or @digest).</param>
/// <param name="Digest">The digest of the image manifest (the imageID users see).</param>
/// <param name="Config">The parts of the OCI image config a runtime needs.</param>
/// <param name="LayerDigests">The layer blob digests, base first.</param>
/// <param name="Size">Total compressed size of the layers.</param>
public sealed record ImageInfo(string Reference, string Digest, ImageConfig Config, IReadOnlyList<string> LayerDigests, long Size);

/// <summary>The runtime-relevant part of an OCI image config.</summary>
public sealed record ImageConfig
{
    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string> Env { get; init; } = [];

    public string? WorkingDir { get; init; }

    /// <summary>"uid", "uid:gid", or a user name resolved against the image's /etc/passwd by the driver.</summary>
    public string? User { get; init; }

    public string? StopSignal { get; init; }

    public string Os { get; init; } = "linux";

    public string Architecture { get; init; } = "amd64";
}

/// <summary>An image could not be had. Reason is what Kubernetes shows: ErrImagePull, ErrImageNeverPull, InvalidImageName.</summary>
public sealed class ImagePullException : Exception
{
    public ImagePullException(string message, string reason = "ErrImagePull")
        : base(message) => Reason = reason;

    public ImagePullException(string message, Exception inner, string reason = "ErrImagePull")
        : base(message, inner) => Reason = reason;

    public ImagePullException()
        : this("image pull failed")
    {
    }

    public ImagePullException(string message, Exception inner)
        : this(message, inner, "ErrImagePull")
    {
    }

    public string Reason { get; }
}
