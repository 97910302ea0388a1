using System.Security.Cryptography;
using System.Text.Json;

namespace Verge.Agent.Images;

/// <summary>
/// The content-addressed part of the image store: blobs under blobs/sha256/&lt;hex&gt;, each written to a temp file,
/// verified against its digest, fsynced and renamed into place, and the reference index (reference → manifest
/// digest) persisted atomically. A blob file that exists has been verified.
/// </summary>
internal sealed class ContentStore
{
    private readonly string _blobs;
    private readonly string _indexPath;
    private readonly Lock _indexLock = new();

    public ContentStore(string root)
    {
        Root = root;
        _blobs = Path.Combine(root, "blobs", "sha256");
        TempDir = Path.Combine(root, "tmp");
        _indexPath = Path.Combine(root, "index.json");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(TempDir);
    }

    public string Root { get; }

    /// <summary>Scratch space on the same file system as the blobs, so renames are atomic.</summary>
    public string TempDir { get; }

    public string BlobPath(string digest) => Path.Combine(_blobs, Digests.Hex(digest));

    public bool HasBlob(string digest) => File.Exists(BlobPath(digest));

    public string NewTempPath(string prefix) => Path.Combine(TempDir, $"{prefix}-{Guid.NewGuid():N}");

    /// <summary>
    /// Streams <paramref name="source"/> into the blob <paramref name="digest"/>, verifying size and digest on the
    /// way. Nothing is left behind when the content does not match.
    /// </summary>
    public async Task WriteBlobAsync(string digest, Stream source, long? expectedSize, string what, CancellationToken ct)
    {
        var final = BlobPath(digest);
        var temp = NewTempPath("blob");
        try
        {
            var (actual, size) = await CopyHashedAsync(source, temp, expectedSize, what, ct);
            if (expectedSize is { } expected && size != expected)
            {
                throw new ImagePullException($"{what}: size mismatch for {digest}: expected {expected} bytes, got {size}");
            }

            if (actual != digest)
            {
                throw new ImagePullException($"{what}: digest mismatch: expected {digest}, content hashes to {actual}");
            }

            File.Move(temp, final, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>Stores bytes already verified or produced here; returns their digest.</summary>
    public async Task<string> PutBytesAsync(byte[] content, CancellationToken ct)
    {
        var digest = Digests.FromHash(SHA256.HashData(content));
        if (!HasBlob(digest))
        {
            using var source = new MemoryStream(content, writable: false);
            await WriteBlobAsync(digest, source, content.Length, "blob", ct);
        }

        return digest;
    }

    /// <summary>Copies a stream to a new file, fsyncs it, and returns its digest and length.</summary>
    public static async Task<(string Digest, long Size)> CopyHashedAsync(
        Stream source, string path, long? maxSize, string what, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await source.ReadAsync(buffer, ct)) > 0)
            {
                size += read;
                if (maxSize is { } max && size > max)
                {
                    throw new ImagePullException($"{what}: more data than the {max} bytes its descriptor declares");
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
            }

            await file.FlushAsync(ct);
            file.Flush(flushToDisk: true);
        }

        return (Digests.FromHash(hash.GetHashAndReset()), size);
    }

    /// <summary>Reads a small blob (manifest, config) whole.</summary>
    public async Task<byte[]> ReadBlobAsync(string digest, int maxBytes, CancellationToken ct)
    {
        var path = BlobPath(digest);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ImagePullException($"blob {digest} is missing from the image store");
        }

        if (info.Length > maxBytes)
        {
            throw new ImagePullException($"blob {digest} is {info.Length} bytes, more than the {maxBytes} allowed for a manifest or config");
        }

        return await File.ReadAllBytesAsync(path, ct);
    }

    public IReadOnlyList<ImageIndexEntry> LoadIndex()
    {
        lock (_indexLock)
        {
            if (!File.Exists(_indexPath))
            {
                return [];
            }

            var index = JsonSerializer.Deserialize(File.ReadAllBytes(_indexPath), ImagesJsonContext.Default.ImageIndexFile);
            return index?.Images ?? [];
        }
    }

    /// <summary>Writes the whole index: temp file, fsync, rename over the old one.</summary>
    public void SaveIndex(IEnumerable<ImageIndexEntry> entries)
    {
        lock (_indexLock)
        {
            var file = new ImageIndexFile { Images = [.. entries.OrderBy(e => e.Reference, StringComparer.Ordinal)] };
            var temp = NewTempPath("index");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                {
                    JsonSerializer.Serialize(stream, file, ImagesJsonContext.Default.ImageIndexFile);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, _indexPath, overwrite: true);
            }
            finally
            {
                TryDelete(temp);
            }
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
