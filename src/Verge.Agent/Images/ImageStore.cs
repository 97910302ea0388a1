using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Verge.Agent.Images;

/// <summary>
/// The node's image store (see docs/images.md): pulls from OCI distribution registries with every blob verified,
/// imports OCI and docker archives, keeps a content-addressed cache with a persisted reference index, and unpacks
/// images into shared read-only root file systems.
/// </summary>
internal sealed partial class ImageStore : IImageStore, IDisposable
{
    private readonly ImageStoreOptions _options;
    private readonly ILogger<ImageStore> _logger;
    private readonly ContentStore _content;
    private readonly RegistryClient _registry;
    private readonly string _rootfsDir;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ImageInfo> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<ImageInfo>>> _pulls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<long>>> _blobDownloads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _unpacks = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _lifetime = new();

    // Blobs an in-flight pull or import relies on, with how many rely on each: a failed pull removes the blobs it
    // wrote unless another one still needs them.
    private readonly Dictionary<string, int> _pins = new(StringComparer.Ordinal);

    public ImageStore(ImageStoreOptions options, ILogger<ImageStore> logger, HttpMessageHandler? handler = null, TimeProvider? timeProvider = null)
    {
        options.Validate();
        _options = options;
        _logger = logger;
        _content = new ContentStore(options.Root);
        _rootfsDir = Path.Combine(options.Root, "rootfs");
        Directory.CreateDirectory(_rootfsDir);
        _registry = new RegistryClient(options, logger, handler, timeProvider ?? TimeProvider.System);
        CleanTemp();
        LoadIndex();
    }

    public void Dispose()
    {
        _lifetime.Cancel();
        _registry.Dispose();
        _lifetime.Dispose();
    }

    public async Task<ImageInfo> PullAsync(string reference, PullPolicy policy, RegistryCredentials? credentials, CancellationToken ct)
    {
        var parsed = ImageReference.Parse(reference);
        var key = parsed.ToString();
        if (policy != PullPolicy.Always || parsed.Digest is not null)
        {
            if (Find(key) is { } cached)
            {
                if (cached.Reference == key && !IsRecorded(key))
                {
                    Record([cached]); // known by digest under another name: remember this name too
                }

                return cached;
            }
        }

        if (policy == PullPolicy.Never)
        {
            throw new ImagePullException(
                $"image {key} is not present on the node and its pull policy is Never", "ErrImageNeverPull");
        }

        // Concurrent pulls of one reference (with the same credentials) share one download. The shared pull runs
        // on the store's lifetime, so one caller giving up does not fail the others.
        var pullKey = $"{key}|{credentials?.Username}";
        var lazy = _pulls.GetOrAdd(pullKey, _ => new Lazy<Task<ImageInfo>>(() => RunPullAsync(pullKey, parsed, credentials)));
        try
        {
            return await lazy.Value.WaitAsync(ct);
        }
        catch (ImagePullException e) when (policy == PullPolicy.Always && IsUnreachable(e) && Find(key) is { } offline)
        {
            // The edge promise: a node cut off from its registry still restarts its workloads. Always falls back to
            // the cached image when the registry cannot be reached at all (never on "not found" or "unauthorized").
            ImageStoreLog.UsingCachedImage(_logger, key, e.Message);
            return offline;
        }
    }

    private static bool IsUnreachable(ImagePullException e) =>
        e.InnerException is HttpRequestException or TimeoutException or TaskCanceledException;

    private bool IsRecorded(string key)
    {
        lock (_lock)
        {
            return _images.ContainsKey(key);
        }
    }

    public ImageInfo? Find(string reference)
    {
        if (!ImageReference.TryParse(reference, out var parsed, out _))
        {
            return null;
        }

        var key = parsed.ToString();
        lock (_lock)
        {
            if (_images.TryGetValue(key, out var info))
            {
                return info;
            }

            if (parsed.Digest is not null)
            {
                var byDigest = _images.Values.FirstOrDefault(i =>
                    i.Digest == parsed.Digest && ImageReference.TryParse(i.Reference, out var other, out _) && other.Name == parsed.Name);
                return byDigest is null ? null : byDigest with { Reference = key };
            }

            return null;
        }
    }

    public IReadOnlyList<ImageInfo> List()
    {
        lock (_lock)
        {
            return [.. _images.Values.OrderBy(i => i.Reference, StringComparer.Ordinal)];
        }
    }

    public async Task<string> GetRootfsAsync(ImageInfo image, CancellationToken ct)
    {
        var hex = Digests.Hex(image.Digest);
        var final = Path.Combine(_rootfsDir, hex);
        if (Directory.Exists(final))
        {
            return final;
        }

        var lazy = _unpacks.GetOrAdd(image.Digest, digest => new Lazy<Task<string>>(() => RunUnpackAsync(digest, final)));
        return await lazy.Value.WaitAsync(ct);
    }

    public Task<IReadOnlyList<ImageInfo>> ImportArchiveAsync(Stream archive, CancellationToken ct) =>
        ImportArchiveAsync(archive, archive is FileStream file ? NameFromFile(file.Name) : null, ct);

    private async Task<ImageInfo> RunPullAsync(string pullKey, ImageReference image, RegistryCredentials? credentials)
    {
        await Task.Yield();
        try
        {
            return await PullFromRegistryAsync(image, credentials, _lifetime.Token);
        }
        finally
        {
            _pulls.TryRemove(pullKey, out _);
        }
    }

    private async Task<ImageInfo> PullFromRegistryAsync(ImageReference image, RegistryCredentials? credentials, CancellationToken ct)
    {
        var key = image.ToString();
        ImageStoreLog.Pulling(_logger, key);
        try
        {
            var (body, mediaType, digest) = await _registry.GetManifestAsync(image, image.ManifestReference, credentials, ct);
            var manifest = ParseManifest(body, $"{key}: manifest");
            if (IsIndex(manifest, mediaType))
            {
                var chosen = SelectPlatform(manifest, key);
                (body, mediaType, digest) = await _registry.GetManifestAsync(image, chosen.Digest, credentials, ct);
                manifest = ParseManifest(body, $"{key}: manifest {chosen.Digest}");
                if (IsIndex(manifest, mediaType))
                {
                    throw new ImagePullException($"{key}: the index for this platform points at another index, which is not supported");
                }
            }

            CheckManifest(manifest, key);
            var blobs = new[] { manifest.Config! }.Concat(manifest.Layers!).ToList();
            var written = new List<string>();
            Pin(blobs.Select(b => b.Digest));
            try
            {
                long downloaded = 0;
                foreach (var blob in blobs)
                {
                    if (!_content.HasBlob(blob.Digest))
                    {
                        written.Add(blob.Digest);
                    }

                    downloaded += await FetchBlobAsync(image, blob, credentials, ct);
                }

                if (!_content.HasBlob(digest))
                {
                    written.Add(digest);
                    await _content.PutBytesAsync(body, ct);
                }

                var info = Describe(key, digest);
                Record([info]);
                ImageStoreLog.Pulled(_logger, key, digest, downloaded);
                return info;
            }
            catch
            {
                RemoveUnpinned(written, blobs.Select(b => b.Digest));
                throw;
            }
            finally
            {
                Unpin(blobs.Select(b => b.Digest));
            }
        }
        catch (ImagePullException e)
        {
            ImageStoreLog.PullFailed(_logger, key, e.Message);
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            ImageStoreLog.PullFailed(_logger, key, e.Message);
            throw new ImagePullException($"{key}: {e.Message}", e);
        }
    }

    private async Task<long> FetchBlobAsync(ImageReference image, OciDescriptor blob, RegistryCredentials? credentials, CancellationToken ct)
    {
        if (_content.HasBlob(blob.Digest))
        {
            return 0;
        }

        var lazy = _blobDownloads.GetOrAdd(blob.Digest, _ => new Lazy<Task<long>>(async () =>
        {
            try
            {
                using var response = await _registry.GetBlobAsync(image, blob.Digest, credentials, ct);
                await using var stream = await _registry.OpenBodyAsync(response, $"{image.Name}: blob {blob.Digest}", ct);
                await _content.WriteBlobAsync(blob.Digest, stream, blob.Size, $"{image.Name}: blob {blob.Digest}", ct);
                return blob.Size;
            }
            finally
            {
                _blobDownloads.TryRemove(blob.Digest, out Lazy<Task<long>>? _);
            }
        }));
        return await lazy.Value.WaitAsync(ct);
    }

    private OciDescriptor SelectPlatform(OciManifest index, string key)
    {
        var candidates = (index.Manifests ?? [])
            .Where(m => Digests.IsValid(m.Digest) && (m.MediaType is null || MediaTypes.IsManifest(m.MediaType)))
            .Where(m => string.Equals(m.Platform?.Os, _options.Os, StringComparison.OrdinalIgnoreCase) &&
                string.Equals(m.Platform?.Architecture, _options.Architecture, StringComparison.OrdinalIgnoreCase))
            .ToList();
        var chosen =
            candidates.FirstOrDefault(m => _options.Variant is not null && string.Equals(m.Platform?.Variant, _options.Variant, StringComparison.OrdinalIgnoreCase)) ??
            candidates.FirstOrDefault(m => string.IsNullOrEmpty(m.Platform?.Variant)) ??
            (_options.Variant is null or "v8" ? candidates.FirstOrDefault() : null);
        if (chosen is not null)
        {
            return chosen;
        }

        var offered = string.Join(", ", (index.Manifests ?? []).Select(m => PlatformName(m.Platform)));
        throw new ImagePullException(
            $"{key}: no image for this node's platform {_options.Os}/{_options.Architecture}" +
            (_options.Variant is null ? string.Empty : "/" + _options.Variant) + $" (the index offers: {offered})");
    }

    private static string PlatformName(OciPlatform? p) =>
        p is null ? "unknown" : $"{p.Os}/{p.Architecture}" + (string.IsNullOrEmpty(p.Variant) ? string.Empty : "/" + p.Variant);

    private static OciManifest ParseManifest(byte[] body, string what)
    {
        OciManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(body, ImagesJsonContext.Default.OciManifest);
        }
        catch (JsonException e)
        {
            throw new ImagePullException($"{what} is not valid JSON: {e.Message}", e);
        }

        if (manifest is null || manifest.SchemaVersion != 2)
        {
            throw new ImagePullException(
                $"{what} has schemaVersion {manifest?.SchemaVersion}; only schema 2 (OCI and Docker v2) images are supported");
        }

        return manifest;
    }

    private static bool IsIndex(OciManifest manifest, string? mediaType) =>
        MediaTypes.IsIndex(manifest.MediaType) || (!MediaTypes.IsManifest(manifest.MediaType) &&
            (MediaTypes.IsIndex(mediaType) || (manifest.Manifests is not null && manifest.Config is null)));

    private static void CheckManifest(OciManifest manifest, string key)
    {
        if (manifest.Config is null || !Digests.IsValid(manifest.Config.Digest) || manifest.Layers is null)
        {
            throw new ImagePullException($"{key}: the manifest lacks a valid config or layer list");
        }

        foreach (var layer in manifest.Layers)
        {
            if (!Digests.IsValid(layer.Digest))
            {
                throw new ImagePullException($"{key}: layer digest \"{layer.Digest}\" is not a sha256 digest");
            }

            if (layer.MediaType?.Contains("zstd", StringComparison.Ordinal) == true)
            {
                throw new ImagePullException($"{key}: layer {layer.Digest} is zstd-compressed, which Verge does not unpack yet");
            }
        }
    }

    /// <summary>Builds the ImageInfo of a stored manifest (the manifest and config blobs must be present).</summary>
    private ImageInfo Describe(string reference, string digest)
    {
        var (manifest, config) = ReadManifestAndConfig(digest);
        var runtime = config.Config;
        return new ImageInfo(
            reference,
            digest,
            new ImageConfig
            {
                Entrypoint = runtime?.Entrypoint,
                Cmd = runtime?.Cmd,
                Env = runtime?.Env ?? [],
                WorkingDir = string.IsNullOrEmpty(runtime?.WorkingDir) ? null : runtime.WorkingDir,
                User = string.IsNullOrEmpty(runtime?.User) ? null : runtime.User,
                StopSignal = string.IsNullOrEmpty(runtime?.StopSignal) ? null : runtime.StopSignal,
                Os = config.Os ?? "linux",
                Architecture = config.Architecture ?? _options.Architecture,
            },
            [.. manifest.Layers!.Select(l => l.Digest)],
            manifest.Layers!.Sum(l => l.Size));
    }

    private (OciManifest Manifest, OciImageConfig Config) ReadManifestAndConfig(string digest)
    {
        var manifest = ParseManifest(ReadSmallBlob(digest), $"manifest {digest}");
        CheckManifest(manifest, digest);
        OciImageConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(ReadSmallBlob(manifest.Config!.Digest), ImagesJsonContext.Default.OciImageConfig);
        }
        catch (JsonException e)
        {
            throw new ImagePullException($"the config of image {digest} is not valid JSON: {e.Message}", e);
        }

        return (manifest, config ?? new OciImageConfig());
    }

    private byte[] ReadSmallBlob(string digest)
    {
        var path = _content.BlobPath(digest);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ImagePullException($"blob {digest} is missing from the image store");
        }

        if (info.Length > _options.MaxManifestBytes)
        {
            throw new ImagePullException($"blob {digest} is {info.Length} bytes, more than the {_options.MaxManifestBytes} allowed for a manifest or config");
        }

        return File.ReadAllBytes(path);
    }

    private void Record(IEnumerable<ImageInfo> images)
    {
        lock (_lock)
        {
            foreach (var image in images)
            {
                _images[image.Reference] = image;
            }

            _content.SaveIndex(_images.Values.Select(i => new ImageIndexEntry(i.Reference, i.Digest)));
        }
    }

    private void Pin(IEnumerable<string> digests)
    {
        lock (_lock)
        {
            foreach (var digest in digests)
            {
                _pins[digest] = _pins.GetValueOrDefault(digest) + 1;
            }
        }
    }

    private void Unpin(IEnumerable<string> digests)
    {
        lock (_lock)
        {
            foreach (var digest in digests)
            {
                if (_pins.TryGetValue(digest, out var count) && count > 1)
                {
                    _pins[digest] = count - 1;
                }
                else
                {
                    _pins.Remove(digest);
                }
            }
        }
    }

    /// <summary>
    /// After a failed pull or import: removes the blobs it wrote, unless another pull in flight pinned them too or a
    /// recorded image uses them. A failed operation leaves the cache as it found it.
    /// </summary>
    private void RemoveUnpinned(IEnumerable<string> written, IEnumerable<string> pinnedByCaller)
    {
        lock (_lock)
        {
            var mine = pinnedByCaller.GroupBy(d => d, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var used = _images.Values.SelectMany(i => i.LayerDigests).ToHashSet(StringComparer.Ordinal);
            foreach (var digest in written.Distinct(StringComparer.Ordinal))
            {
                if (_pins.GetValueOrDefault(digest) <= mine.GetValueOrDefault(digest) && !used.Contains(digest))
                {
                    ContentStore.TryDelete(_content.BlobPath(digest));
                }
            }
        }
    }

    private void LoadIndex()
    {
        IReadOnlyList<ImageIndexEntry> entries;
        try
        {
            entries = _content.LoadIndex();
        }
        catch (JsonException e)
        {
            ImageStoreLog.DroppedIndexEntry(_logger, "index.json", $"unreadable ({e.Message}); starting with an empty index");
            return;
        }

        foreach (var entry in entries)
        {
            try
            {
                _images[entry.Reference] = Describe(entry.Reference, entry.Digest);
            }
            catch (ImagePullException e)
            {
                ImageStoreLog.DroppedIndexEntry(_logger, entry.Reference, e.Message);
            }
        }
    }

    private async Task<string> RunUnpackAsync(string digest, string final)
    {
        await Task.Yield();
        var temp = _content.NewTempPath("rootfs");
        try
        {
            var (manifest, config) = ReadManifestAndConfig(digest);
            var diffIds = config.Rootfs?.DiffIds;
            if (diffIds is not null && diffIds.Count != manifest.Layers!.Count)
            {
                throw new ImagePullException(
                    $"image {digest}: the config lists {diffIds.Count} diff_ids for {manifest.Layers.Count} layers");
            }

            Directory.CreateDirectory(temp);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, (UnixFileMode)0x1ED); // 0755
            }
            var unpacker = new LayerUnpacker(temp, _logger);
            for (var i = 0; i < manifest.Layers!.Count; i++)
            {
                var layer = manifest.Layers[i].Digest;
                if (!_content.HasBlob(layer))
                {
                    throw new ImagePullException($"image {digest}: layer {layer} is missing from the image store; pull the image again");
                }

                await unpacker.ApplyAsync(_content.BlobPath(layer), layer, diffIds?[i], _lifetime.Token);
            }

            unpacker.Finish();
            try
            {
                Directory.Move(temp, final);
            }
            catch (IOException) when (Directory.Exists(final))
            {
                // Unpacked meanwhile by another store instance over the same root: use theirs.
            }

            ImageStoreLog.Unpacked(_logger, digest, final);
            return final;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidDataException)
        {
            throw new ImagePullException($"image {digest}: unpacking failed: {e.Message}", e);
        }
        finally
        {
            ContentStore.TryDelete(temp);
            _unpacks.TryRemove(digest, out _);
        }
    }

    private void CleanTemp()
    {
        foreach (var leftover in Directory.EnumerateFileSystemEntries(_content.TempDir))
        {
            ContentStore.TryDelete(leftover);
        }
    }
}
