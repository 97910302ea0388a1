using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Verge.Agent.Images;

/// <summary>
/// Applies image layers (tar, optionally gzip-compressed) in order onto a directory, the way a union file system
/// would see them: later entries replace earlier ones, <c>.wh.NAME</c> deletes NAME from lower layers and
/// <c>.wh..wh..opq</c> hides everything lower layers put in its directory. No entry can write outside the root:
/// names with ".." are refused, absolute names are taken relative to the root, and symbolic links met on the way
/// are resolved inside the root (as a chroot would), never on the host.
/// </summary>
internal sealed class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    private readonly string _root;
    private readonly ILogger _logger;
    private readonly Dictionary<string, DateTime> _directoryTimes = new(StringComparer.Ordinal);
    private HashSet<string> _writtenInLayer = new(StringComparer.Ordinal);

    public LayerUnpacker(string root, ILogger logger)
    {
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _logger = logger;
    }

    /// <summary>
    /// Applies one layer blob. When <paramref name="diffId"/> is given, the uncompressed tar must hash to it.
    /// </summary>
    public async Task ApplyAsync(string blobPath, string layerDigest, string? diffId, CancellationToken ct)
    {
        _writtenInLayer = new HashSet<string>(StringComparer.Ordinal);
        await using var file = new FileStream(blobPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var magic = new byte[4];
        var got = await file.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, ct);
        file.Position = 0;
        Stream content = file;
        if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            content = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
        }
        else if (got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            throw new ImagePullException(
                $"layer {layerDigest} is zstd-compressed, which Verge does not unpack yet; rebuild the image with gzip layers");
        }

        await using (content)
        {
            await using var hashing = new HashingReadStream(content);
            try
            {
                using var reader = new TarReader(hashing, leaveOpen: true);
                while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
                {
                    await ApplyEntryAsync(entry, layerDigest, ct);
                }
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
            {
                throw new ImagePullException($"layer {layerDigest} is not a valid tar archive: {e.Message}", e);
            }

            await hashing.DrainAsync(ct);
            var actual = hashing.Digest();
            if (diffId is not null && actual != diffId)
            {
                throw new ImagePullException(
                    $"layer {layerDigest}: uncompressed content hashes to {actual}, but the image config's diff_id is {diffId}");
            }
        }
    }

    /// <summary>Sets directory modification times last, since writing into a directory changes its time.</summary>
    public void Finish()
    {
        foreach (var (path, time) in _directoryTimes)
        {
            if (Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                Directory.SetLastWriteTimeUtc(path, time);
            }
        }
    }

    private async Task ApplyEntryAsync(TarEntry entry, string layer, CancellationToken ct)
    {
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes)
        {
            return;
        }

        var parts = CleanName(entry.Name, $"layer {layer}");
        if (parts.Count == 0)
        {
            return;
        }

        var name = parts[^1];
        var parent = ResolveInRoot(parts.Take(parts.Count - 1), followFinal: true);
        if (name == OpaqueMarker)
        {
            if (Directory.Exists(parent))
            {
                RemoveLowerContent(parent);
            }

            return;
        }

        if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            var hiddenName = name[WhiteoutPrefix.Length..];
            if (hiddenName is "" or "." or "..")
            {
                throw new ImagePullException($"layer {layer}: whiteout \"{entry.Name}\" names no file; refused");
            }

            var hidden = Path.Combine(parent, hiddenName);
            EnsureInside(hidden, entry.Name, layer);
            if (!_writtenInLayer.Contains(hidden))
            {
                Remove(hidden);
            }

            return;
        }

        try
        {
            Directory.CreateDirectory(parent);
        }
        catch (IOException e)
        {
            throw new ImagePullException($"layer {layer}: entry \"{entry.Name}\": its parent is not a directory", e);
        }

        var path = Path.Combine(parent, name);
        EnsureInside(path, entry.Name, layer);
        var mode = (UnixFileMode)((int)entry.Mode & 0xFFF);
        var mtime = entry.ModificationTime.UtcDateTime;
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!(Directory.Exists(path) && new FileInfo(path).LinkTarget is null))
                {
                    Remove(path);
                    Directory.CreateDirectory(path);
                }

                SetOwnerAndMode(path, entry, mode);
                _directoryTimes[path] = mtime;
                break;

            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                Remove(path);
                await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                {
                    if (entry.DataStream is { } data)
                    {
                        await data.CopyToAsync(output, ct);
                    }
                }

                SetOwnerAndMode(path, entry, mode);
                File.SetLastWriteTimeUtc(path, mtime);
                break;

            case TarEntryType.SymbolicLink:
                Remove(path);
                File.CreateSymbolicLink(path, entry.LinkName);
                NativeFs.LChown(path, entry.Uid, entry.Gid);
                break;

            case TarEntryType.HardLink:
                var targetParts = CleanName(entry.LinkName, $"layer {layer}");
                var target = ResolveInRoot(targetParts, followFinal: false);
                if (targetParts.Count == 0 || (!File.Exists(target) && new FileInfo(target).LinkTarget is null))
                {
                    throw new ImagePullException($"layer {layer}: hard link \"{entry.Name}\" points at \"{entry.LinkName}\", which does not exist");
                }

                if (Directory.Exists(target) && new FileInfo(target).LinkTarget is null)
                {
                    throw new ImagePullException($"layer {layer}: hard link \"{entry.Name}\" points at a directory");
                }

                if (target != path)
                {
                    Remove(path);
                    NativeFs.Link(target, path);
                }

                break;

            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                ImageStoreLog.SkippedSpecialFile(_logger, entry.Name, entry.EntryType.ToString(), layer);
                return;

            default:
                ImageStoreLog.SkippedSpecialFile(_logger, entry.Name, entry.EntryType.ToString(), layer);
                return;
        }

        _writtenInLayer.Add(path);
    }

    private static void SetOwnerAndMode(string path, TarEntry entry, UnixFileMode mode)
    {
        // Ownership first: chown clears the set-user-id and set-group-id bits.
        NativeFs.LChown(path, entry.Uid, entry.Gid);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>Splits an entry name into components; refuses ".." anywhere. "/a" and "./a" both mean "a".</summary>
    internal static List<string> CleanName(string name, string where)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ImagePullException($"{where}: entry name contains a NUL character");
        }

        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                throw new ImagePullException(
                    $"{where}: entry \"{name}\" contains \"..\" and could write outside the root file system; refused");
            }

            parts.Add(part);
        }

        return parts;
    }

    /// <summary>
    /// The host path of a path inside the root, following symbolic links as the container would see them: an
    /// absolute link target starts again at the root and ".." never climbs above it.
    /// </summary>
    internal string ResolveInRoot(IEnumerable<string> parts, bool followFinal)
    {
        var pending = new Stack<string>(parts.Reverse());
        var resolved = new List<string>();
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            if (pending.Count == 0 && !followFinal)
            {
                resolved.Add(part);
                break;
            }

            var candidate = _root + "/" + string.Join('/', resolved.Append(part));
            var target = new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                resolved.Add(part);
                continue;
            }

            if (++links > 255)
            {
                throw new ImagePullException($"too many levels of symbolic links resolving {string.Join('/', resolved.Append(part))}");
            }

            if (target.StartsWith('/'))
            {
                resolved.Clear();
            }

            foreach (var next in target.Split('/').Reverse())
            {
                pending.Push(next);
            }
        }

        var path = resolved.Count == 0 ? _root : _root + "/" + string.Join('/', resolved);
        EnsureInside(path, string.Join('/', parts), "layer");
        return path;
    }

    private void EnsureInside(string path, string name, string layer)
    {
        if (path != _root && !path.StartsWith(_root + "/", StringComparison.Ordinal))
        {
            throw new ImagePullException($"layer {layer}: entry \"{name}\" resolves outside the root file system; refused");
        }
    }

    /// <summary>Removes what lower layers left in a directory, keeping what this layer wrote.</summary>
    private void RemoveLowerContent(string directory)
    {
        foreach (var child in Directory.EnumerateFileSystemEntries(directory))
        {
            if (!_writtenInLayer.Contains(child))
            {
                Remove(child);
            }
            else if (Directory.Exists(child) && new FileInfo(child).LinkTarget is null)
            {
                RemoveLowerContent(child);
            }
        }
    }

    /// <summary>Removes a path of any kind without following a symbolic link at the end.</summary>
    private static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            File.Delete(path);
        }
        else if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (info.Exists)
        {
            File.Delete(path);
        }
    }

    /// <summary>Hashes what is read through it (the uncompressed layer, for its diff_id).</summary>
    private sealed class HashingReadStream(Stream inner) : ReadOnlyStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string Digest() => Digests.FromHash(_hash.GetHashAndReset());

        public async Task DrainAsync(CancellationToken ct)
        {
            var buffer = new byte[1 << 16];
            while (await ReadAsync(buffer, ct) > 0)
            {
            }
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            _hash.AppendData(buffer, offset, read);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            _hash.AppendData(buffer.Span[..read]);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
