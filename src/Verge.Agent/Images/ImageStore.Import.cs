using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Verge.Agent.Images;

/// <summary>
/// Importing image archives: an OCI image layout in a tar (what <c>skopeo copy ... oci-archive:FILE:TAG</c> and
/// umoci produce), or a docker-archive (<c>docker save</c>, manifest.json). Every file is staged and hashed while the
/// tar streams past; files named by digest must match it; only what the archive's images reference enters the store.
/// </summary>
internal sealed partial class ImageStore
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private const string ContainerdNameAnnotation = "io.containerd.image.name";

    /// <summary>The name given to images whose archive carries only a tag, or nothing, when the file name is unknown.</summary>
    internal const string FallbackImportName = "imported";

    /// <summary>
    /// Imports every image of an archive. Naming rule: the io.containerd.image.name annotation when present; else
    /// an org.opencontainers.image.ref.name that is a full reference (has "/" or ":"); else that ref.name as a tag
    /// of <paramref name="defaultName"/> (the archive's file name without extensions); an image with no name at all
    /// is recorded as defaultName@digest.
    /// </summary>
    internal async Task<IReadOnlyList<ImageInfo>> ImportArchiveAsync(Stream archive, string? defaultName, CancellationToken ct)
    {
        var name = defaultName is not null && ImageReference.TryParse(defaultName, out var named, out _) && named.Tag == "latest" && named.Digest is null
            ? defaultName
            : FallbackImportName;
        var staging = _content.NewTempPath("import");
        Directory.CreateDirectory(staging);
        var archiveContent = new ArchiveContent();
        try
        {
            await ReadArchiveAsync(await OpenMaybeGzipAsync(archive, ct), staging, archiveContent, ct);
            var imported = archiveContent.Metadata.TryGetValue("index.json", out var index)
                ? ImportOciLayout(index, archiveContent, name)
                : archiveContent.Metadata.TryGetValue("manifest.json", out var dockerManifest)
                    ? await ImportDockerArchiveAsync(dockerManifest, archiveContent, name, ct)
                    : throw new ImagePullException(
                        "the archive is neither an OCI image layout (no index.json) nor a docker-archive (no manifest.json)");
            if (imported.Count == 0)
            {
                throw new ImagePullException("the archive holds no image for this node's platform");
            }

            Record(imported);
            foreach (var image in imported)
            {
                ImageStoreLog.Imported(_logger, image.Reference, image.Digest);
            }

            return imported;
        }
        catch (Exception e)
        {
            RemoveUnpinned(archiveContent.Promoted, archiveContent.Promoted);
            if (e is IOException or UnauthorizedAccessException or JsonException or InvalidDataException or FormatException)
            {
                throw new ImagePullException($"importing the archive failed: {e.Message}", e);
            }

            throw;
        }
        finally
        {
            Unpin(archiveContent.Promoted);
            ContentStore.TryDelete(staging);
        }
    }

    private static async Task<Stream> OpenMaybeGzipAsync(Stream archive, CancellationToken ct)
    {
        var magic = new byte[2];
        var read = await archive.ReadAtLeastAsync(magic, 2, throwOnEndOfStream: false, ct);
        Stream whole = new PrefixedStream(magic.AsMemory(0, read), archive);
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(whole, CompressionMode.Decompress) : whole;
    }

    private async Task ReadArchiveAsync(Stream input, string staging, ArchiveContent content, CancellationToken ct)
    {
        using var reader = new TarReader(input, leaveOpen: true);
        var count = 0;
        while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            var path = string.Join('/', LayerUnpacker.CleanName(entry.Name, "archive"));
            switch (entry.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    break;
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    // docker save links repeated layers to their first copy.
                    var target = entry.EntryType == TarEntryType.HardLink || entry.LinkName.StartsWith('/')
                        ? entry.LinkName
                        : string.Join('/', path.Split('/')[..^1].Append(entry.LinkName));
                    content.Links[path] = NormalizeArchivePath(target);
                    continue;
                default:
                    continue;
            }

            if (path is "index.json" or "manifest.json" or "oci-layout" or "repositories")
            {
                using var buffer = new MemoryStream();
                if (entry.Length > _options.MaxManifestBytes)
                {
                    throw new ImagePullException($"archive entry {path} is larger than {_options.MaxManifestBytes} bytes");
                }

                if (entry.DataStream is { } metadata)
                {
                    await metadata.CopyToAsync(buffer, ct);
                }

                content.Metadata[path] = buffer.ToArray();
                continue;
            }

            var staged = Path.Combine(staging, (count++).ToString(System.Globalization.CultureInfo.InvariantCulture));
            var (digest, size) = await ContentStore.CopyHashedAsync(entry.DataStream ?? Stream.Null, staged, null, path, ct);
            if (BlobPathPattern().Match(path) is { Success: true } match && "sha256:" + match.Groups[1].Value != digest)
            {
                throw new ImagePullException($"archive entry {path}: digest mismatch: content hashes to {digest}");
            }

            content.Files[path] = new StagedFile(staged, digest, size);
        }
    }

    private static string NormalizeArchivePath(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part is not ("" or "."))
            {
                parts.Add(part);
            }
        }

        return string.Join('/', parts);
    }

    private List<ImageInfo> ImportOciLayout(byte[] indexBytes, ArchiveContent content, string name)
    {
        var index = ParseManifest(indexBytes, "the archive's index.json");
        var imported = new List<ImageInfo>();
        foreach (var descriptor in index.Manifests ?? [])
        {
            var manifestDescriptor = descriptor;
            if (descriptor.Platform is { } platform && !MediaTypes.IsIndex(descriptor.MediaType) &&
                (!string.Equals(platform.Os, _options.Os, StringComparison.OrdinalIgnoreCase) ||
                    !string.Equals(platform.Architecture, _options.Architecture, StringComparison.OrdinalIgnoreCase)))
            {
                // A multi-platform layout may list each platform's manifest directly: import only this node's.
                ImageStoreLog.SkippedArchiveImage(_logger, descriptor.Digest, $"it is for {PlatformName(platform)}");
                continue;
            }

            if (MediaTypes.IsIndex(descriptor.MediaType))
            {
                var nested = ParseManifest(ReadArchiveBlob(content, descriptor, "index"), $"index {descriptor.Digest}");
                try
                {
                    manifestDescriptor = SelectPlatform(nested, descriptor.Digest);
                }
                catch (ImagePullException e)
                {
                    ImageStoreLog.SkippedArchiveImage(_logger, descriptor.Digest, e.Message);
                    continue;
                }
            }

            var manifestBytes = ReadArchiveBlob(content, manifestDescriptor, "manifest");
            var manifest = ParseManifest(manifestBytes, $"manifest {manifestDescriptor.Digest}");
            CheckManifest(manifest, manifestDescriptor.Digest);
            foreach (var blob in new[] { manifest.Config! }.Concat(manifest.Layers!))
            {
                Promote(content, blob, manifestDescriptor.Digest);
            }

            Promote(content, manifestDescriptor, "the archive's index");
            if (manifestDescriptor != descriptor)
            {
                Promote(content, descriptor, "the archive's index");
            }

            var reference = ReferenceFor(descriptor.Annotations, name, manifestDescriptor.Digest);
            imported.Add(Describe(reference, manifestDescriptor.Digest));
        }

        return imported;
    }

    private async Task<List<ImageInfo>> ImportDockerArchiveAsync(byte[] manifestJson, ArchiveContent content, string name, CancellationToken ct)
    {
        var entries = JsonSerializer.Deserialize(manifestJson, ImagesJsonContext.Default.ListDockerArchiveEntry) ?? [];
        var imported = new List<ImageInfo>();
        foreach (var entry in entries)
        {
            var config = Staged(content, entry.Config ?? string.Empty);
            var layers = (entry.Layers ?? []).Select(l => Staged(content, l)).ToList();
            var manifest = new OciManifest
            {
                SchemaVersion = 2,
                MediaType = MediaTypes.OciManifest,
                Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = config.Digest, Size = config.Size },
                Layers = [.. layers.Select(l => new OciDescriptor
                {
                    MediaType = IsGzip(l.Path) ? MediaTypes.OciLayerGzip : MediaTypes.OciLayer,
                    Digest = l.Digest,
                    Size = l.Size,
                })],
            };
            foreach (var file in layers.Append(config))
            {
                Promote(content, file);
            }

            var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ImagesJsonContext.Default.OciManifest);
            var staged = Path.Combine(Path.GetDirectoryName(config.Path)!, "manifest-" + content.Promoted.Count);
            await File.WriteAllBytesAsync(staged, manifestBytes, ct);
            var digest = DigestOf(manifestBytes);
            Promote(content, new StagedFile(staged, digest, manifestBytes.Length));
            var tags = entry.RepoTags is { Count: > 0 } repoTags ? repoTags : [$"{name}@{digest}"];
            foreach (var tag in tags)
            {
                var reference = ImageReference.TryParse(tag, out var parsed, out _) ? parsed.ToString() : ImageReference.Parse($"{name}@{digest}").ToString();
                imported.Add(Describe(reference, digest));
            }
        }

        return imported;
    }

    private static string ReferenceFor(Dictionary<string, string>? annotations, string name, string digest)
    {
        var refName = annotations?.GetValueOrDefault(RefNameAnnotation);
        if (annotations?.GetValueOrDefault(ContainerdNameAnnotation) is { } full && ImageReference.TryParse(full, out var containerd, out _))
        {
            return containerd.ToString();
        }

        if (!string.IsNullOrEmpty(refName))
        {
            var candidate = refName.Contains('/', StringComparison.Ordinal) || refName.Contains(':', StringComparison.Ordinal) ||
                refName.Contains('@', StringComparison.Ordinal)
                ? refName
                : $"{name}:{refName}";
            return ImageReference.Parse(candidate).ToString();
        }

        return ImageReference.Parse($"{name}@{digest}").ToString();
    }

    private static byte[] ReadArchiveBlob(ArchiveContent content, OciDescriptor descriptor, string what)
    {
        var file = Staged(content, $"blobs/sha256/{Digests.Hex(descriptor.Digest)}");
        if (file.Size != descriptor.Size && descriptor.Size != 0)
        {
            throw new ImagePullException($"archive {what} {descriptor.Digest}: size mismatch: expected {descriptor.Size} bytes, got {file.Size}");
        }

        return File.ReadAllBytes(file.Path);
    }

    private void Promote(ArchiveContent content, OciDescriptor descriptor, string referrer)
    {
        if (!Digests.IsValid(descriptor.Digest))
        {
            throw new ImagePullException($"{referrer} names an invalid digest \"{descriptor.Digest}\"");
        }

        if (_content.HasBlob(descriptor.Digest))
        {
            return;
        }

        var path = $"blobs/sha256/{Digests.Hex(descriptor.Digest)}";
        if (!content.Files.ContainsKey(path) && !content.Links.ContainsKey(path))
        {
            throw new ImagePullException($"the archive lacks blob {descriptor.Digest} that {referrer} references");
        }

        var file = Staged(content, path);
        if (file.Size != descriptor.Size)
        {
            throw new ImagePullException($"archive blob {descriptor.Digest}: size mismatch: expected {descriptor.Size} bytes, got {file.Size}");
        }

        Promote(content, file);
    }

    /// <summary>Moves a staged (hashed, fsynced) file into the store; remembers it to undo a failed import.</summary>
    private void Promote(ArchiveContent content, StagedFile file)
    {
        if (_content.HasBlob(file.Digest))
        {
            return;
        }

        Pin([file.Digest]);
        content.Promoted.Add(file.Digest);
        var temp = _content.NewTempPath("promote");
        File.Copy(file.Path, temp);
        using (var copy = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite))
        {
            copy.Flush(flushToDisk: true);
        }

        File.Move(temp, _content.BlobPath(file.Digest), overwrite: true);
    }

    private static string DigestOf(byte[] content) =>
        Digests.FromHash(System.Security.Cryptography.SHA256.HashData(content));

    private static StagedFile Staged(ArchiveContent content, string path)
    {
        var normalized = NormalizeArchivePath(path);
        for (var hops = 0; hops < 16 && content.Links.TryGetValue(normalized, out var target); hops++)
        {
            normalized = target;
        }

        return content.Files.TryGetValue(normalized, out var file)
            ? file
            : throw new ImagePullException($"the archive lacks {path}, which its manifest references");
    }

    private static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
    }

    /// <summary>The default name of images in an archive file: its file name, lowercased, without extensions.</summary>
    internal static string? NameFromFile(string path)
    {
        var name = Path.GetFileName(path);
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            name = name[..dot];
        }

        name = InvalidNameChars().Replace(name.ToLowerInvariant(), "-").Trim('-', '_', '.');
        return name.Length == 0 ? null : name;
    }

    [GeneratedRegex("^blobs/sha256/([a-f0-9]{64})$", RegexOptions.CultureInvariant)]
    private static partial Regex BlobPathPattern();

    [GeneratedRegex("[^a-z0-9._-]+", RegexOptions.CultureInvariant)]
    private static partial Regex InvalidNameChars();

    /// <summary>The bytes read to sniff the format, then the rest of the stream (which stays open).</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : ReadOnlyStream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty)
            {
                return rest.Read(buffer);
            }

            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _prefix.IsEmpty ? rest.ReadAsync(buffer, cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

    }

    private sealed record StagedFile(string Path, string Digest, long Size);

    private sealed class ArchiveContent
    {
        public Dictionary<string, byte[]> Metadata { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, StagedFile> Files { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Links { get; } = new(StringComparer.Ordinal);

        /// <summary>Blobs this import added to the store (removed again if it fails).</summary>
        public List<string> Promoted { get; } = [];
    }
}
