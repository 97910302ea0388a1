using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Support;

/// <summary>
/// Test images, built offline. The busybox image is a real one: umoci builds an OCI layout whose single layer holds
/// busybox-static's /bin/busybox, a symlink per applet in /bin (sh, ls, cat, echo, sleep, httpd, wget, ...), /etc/passwd
/// and /etc/group (root and nobody) and the usual empty directories (proc, sys, dev, tmp, ...); skopeo pushes it to a
/// <see cref="TestRegistry"/> or writes it as an OCI archive. The layout is built once per test process and each
/// entrypoint becomes a tag of it, so pushing is cheap. For crafted layers (whiteouts, hostile entries),
/// <see cref="Layer"/> writes tar layers by hand and <see cref="Build"/> and <see cref="WriteOciArchiveAsync"/> wrap
/// them into an image and an archive.
/// </summary>
public static class TestImages
{
    private static readonly SemaphoreSlim LayoutLock = new(1, 1);
    private static readonly Dictionary<string, string> Tags = new(StringComparer.Ordinal);
    private static string? _layout;

    /// <summary>
    /// Pushes the busybox image as <c>{registry.Host}/{name}:{tag}</c> and returns that reference. The image's
    /// entrypoint is <paramref name="entrypoint"/> (default: none, with Cmd ["sh"]); PATH is set in its env.
    /// </summary>
    public static async Task<string> PushBusyboxAsync(
        TestRegistry registry, string name, string tag, IReadOnlyList<string>? entrypoint = null, CancellationToken ct = default)
    {
        var skopeo = Tools.Require("skopeo", "skopeo");
        var source = await BusyboxLayoutAsync(entrypoint, ct);
        var reference = $"{registry.Host}/{name}:{tag}";
        await Tools.RunAsync(skopeo, ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", source, $"docker://{reference}"], ct);
        return reference;
    }

    /// <summary>
    /// Like <see cref="PushBusyboxAsync"/>, but converted to Docker's v2 schema 2 format on the way (Docker manifest
    /// and config media types, as images built by Docker have).
    /// </summary>
    public static async Task<string> PushBusyboxAsDockerV2Async(
        TestRegistry registry, string name, string tag, IReadOnlyList<string>? entrypoint = null, CancellationToken ct = default)
    {
        var skopeo = Tools.Require("skopeo", "skopeo");
        var source = await BusyboxLayoutAsync(entrypoint, ct);
        var reference = $"{registry.Host}/{name}:{tag}";
        await Tools.RunAsync(skopeo, ["--insecure-policy", "copy", "--quiet", "--format", "v2s2", "--dest-tls-verify=false", source, $"docker://{reference}"], ct);
        return reference;
    }

    /// <summary>
    /// Writes the busybox image as an OCI archive (what <c>skopeo copy ... oci-archive:FILE:REF</c> produces);
    /// <paramref name="refName"/> becomes its org.opencontainers.image.ref.name annotation (a tag like "v1" or a full
    /// reference).
    /// </summary>
    public static async Task WriteBusyboxArchiveAsync(
        string path, string refName, IReadOnlyList<string>? entrypoint = null, CancellationToken ct = default)
    {
        var skopeo = Tools.Require("skopeo", "skopeo");
        var source = await BusyboxLayoutAsync(entrypoint, ct);
        await Tools.RunAsync(skopeo, ["--insecure-policy", "copy", "--quiet", source, $"oci-archive:{path}:{refName}"], ct);
    }

    /// <summary>Copies any image into the registry (e.g. an archive written by <see cref="WriteOciArchiveAsync"/>).</summary>
    public static async Task<string> PushArchiveAsync(TestRegistry registry, string archivePath, string name, string tag, CancellationToken ct = default)
    {
        var skopeo = Tools.Require("skopeo", "skopeo");
        var reference = $"{registry.Host}/{name}:{tag}";
        await Tools.RunAsync(skopeo, ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", $"oci-archive:{archivePath}", $"docker://{reference}"], ct);
        return reference;
    }

    /// <summary>The skopeo source ("oci:DIR:TAG") of the busybox image with this entrypoint, built on first use.</summary>
    public static async Task<string> BusyboxLayoutAsync(IReadOnlyList<string>? entrypoint, CancellationToken ct = default)
    {
        var key = entrypoint is null ? "-" : string.Join('\0', entrypoint);
        await LayoutLock.WaitAsync(ct);
        try
        {
            var umoci = Tools.Require("umoci", "umoci");
            if (_layout is null)
            {
                var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : Tools.Require("busybox", "busybox-static");
                RemoveStaleLayouts();
                var work = Tools.TempDir("verge-busybox");
                AppDomain.CurrentDomain.ProcessExit += (_, _) => Tools.DeleteDir(work);
                var layout = Path.Combine(work, "layout");
                var bundle = Path.Combine(work, "bundle");
                await Tools.RunAsync(umoci, ["init", "--layout", layout], ct);
                await Tools.RunAsync(umoci, ["new", "--image", $"{layout}:base"], ct);
                await Tools.RunAsync(umoci, ["unpack", "--image", $"{layout}:base", bundle], ct);
                await PopulateBusyboxRootfsAsync(Path.Combine(bundle, "rootfs"), busybox, ct);
                await Tools.RunAsync(umoci, ["repack", "--image", $"{layout}:base", bundle], ct);
                await Tools.RunAsync(umoci, ["config", "--image", $"{layout}:base",
                    "--config.env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--config.cmd", "sh"], ct);
                _layout = layout;
            }

            if (!Tags.TryGetValue(key, out var tag))
            {
                tag = $"ep{Tags.Count}";
                var args = new List<string> { "config", "--image", $"{_layout}:base", "--tag", tag };
                if (entrypoint is not null)
                {
                    args.AddRange(entrypoint.Select(e => $"--config.entrypoint={e}"));
                }

                await Tools.RunAsync(umoci, args, ct);
                Tags[key] = tag;
            }

            return $"oci:{_layout}:{tag}";
        }
        finally
        {
            LayoutLock.Release();
        }
    }

    /// <summary>
    /// Test hosts are not always given the chance to run exit handlers: layouts left by earlier runs (older than a
    /// day, so never one a concurrent run still uses) are removed.
    /// </summary>
    private static void RemoveStaleLayouts()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), "verge-busybox-*"))
        {
            if (Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddDays(-1))
            {
                Tools.DeleteDir(dir);
            }
        }
    }

    private static async Task PopulateBusyboxRootfsAsync(string rootfs, string busybox, CancellationToken ct)
    {
        foreach (var dir in new[] { "bin", "etc", "proc", "sys", "dev", "root", "var", "usr/bin", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }

        File.Copy(busybox, Path.Combine(rootfs, "bin", "busybox"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)Convert.ToInt32("1777", 8));
            File.SetUnixFileMode(Path.Combine(rootfs, "bin", "busybox"), (UnixFileMode)Convert.ToInt32("755", 8));
        }
        var applets = (await Tools.RunAsync(busybox, ["--list"], ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var applet in applets.Where(a => a != "busybox"))
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }

        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", ct);
        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n", ct);
    }

    /// <summary>An image assembled in memory: its manifest and every blob by digest.</summary>
    public sealed record BuiltImage(byte[] Manifest, string ManifestDigest, string ConfigDigest, IReadOnlyList<string> LayerDigests,
        IReadOnlyDictionary<string, byte[]> Blobs);

    /// <summary>
    /// Assembles an OCI image from uncompressed tar layers (gzip-compressed when <paramref name="gzip"/>): config with
    /// correct diff_ids for the platform given, manifest, blobs.
    /// </summary>
    public static BuiltImage Build(IReadOnlyList<byte[]> layers, bool gzip = true, string? architecture = null, string os = "linux",
        IReadOnlyList<string>? cmd = null, string? variant = null)
    {
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var diffIds = new JsonArray();
        var layerDescriptors = new JsonArray();
        var layerDigests = new List<string>();
        foreach (var layer in layers)
        {
            diffIds.Add(Digest(layer));
            var blob = gzip ? Gzip(layer) : layer;
            var digest = Digest(blob);
            blobs[digest] = blob;
            layerDigests.Add(digest);
            layerDescriptors.Add(new JsonObject
            {
                ["mediaType"] = gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
                ["digest"] = digest,
                ["size"] = blob.Length,
            });
        }

        var config = new JsonObject
        {
            ["architecture"] = architecture ?? ImageStoreOptions.DefaultArchitecture(),
            ["os"] = os,
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/bin"),
                ["Cmd"] = new JsonArray([.. (cmd ?? ["sh"]).Select(c => (JsonNode)c!)]),
            },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = diffIds },
        };
        if (variant is not null)
        {
            config["variant"] = variant;
        }

        var configBytes = Encoding.UTF8.GetBytes(config.ToJsonString());
        var configDigest = Digest(configBytes);
        blobs[configDigest] = configBytes;
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.config.v1+json",
                ["digest"] = configDigest,
                ["size"] = configBytes.Length,
            },
            ["layers"] = layerDescriptors,
        };
        var manifestBytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        return new BuiltImage(manifestBytes, Digest(manifestBytes), configDigest, layerDigests, blobs);
    }

    /// <summary>An OCI image index over images of several platforms (each given as image, architecture, variant).</summary>
    public static byte[] BuildIndex(IEnumerable<(BuiltImage Image, string Architecture, string? Variant)> images)
    {
        var manifests = new JsonArray();
        foreach (var (image, architecture, variant) in images)
        {
            var platform = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" };
            if (variant is not null)
            {
                platform["variant"] = variant;
            }

            manifests.Add(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = image.ManifestDigest,
                ["size"] = image.Manifest.Length,
                ["platform"] = platform,
            });
        }

        return Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = manifests,
        }.ToJsonString());
    }

    /// <summary>
    /// Writes an OCI archive (tar of an OCI image layout) holding the images, each annotated with its ref name (none
    /// when null) and any extra annotations.
    /// </summary>
    public static async Task WriteOciArchiveAsync(string path, IEnumerable<(BuiltImage Image, string? RefName)> images,
        IReadOnlyDictionary<string, string>? annotations = null, CancellationToken ct = default)
    {
        var manifests = new JsonArray();
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (image, refName) in images)
        {
            var entryAnnotations = new JsonObject();
            if (refName is not null)
            {
                entryAnnotations["org.opencontainers.image.ref.name"] = refName;
            }

            foreach (var (key, value) in annotations ?? new Dictionary<string, string>())
            {
                entryAnnotations[key] = value;
            }

            manifests.Add(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = image.ManifestDigest,
                ["size"] = image.Manifest.Length,
                ["annotations"] = entryAnnotations,
            });
            blobs[image.ManifestDigest] = image.Manifest;
            foreach (var (digest, blob) in image.Blobs)
            {
                blobs[digest] = blob;
            }
        }

        var index = new JsonObject { ["schemaVersion"] = 2, ["manifests"] = manifests };
        await using var file = File.Create(path);
        await using var writer = new TarWriter(file, TarEntryFormat.Pax);
        await WriteFileAsync(writer, "oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}"), ct);
        await WriteFileAsync(writer, "index.json", Encoding.UTF8.GetBytes(index.ToJsonString()), ct);
        foreach (var (digest, blob) in blobs)
        {
            await WriteFileAsync(writer, $"blobs/sha256/{digest["sha256:".Length..]}", blob, ct);
        }
    }

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    private static async Task WriteFileAsync(TarWriter writer, string name, byte[] content, CancellationToken ct)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };
        await writer.WriteEntryAsync(entry, ct);
    }

    /// <summary>Writes a tar layer entry by entry, hostile entries included (names are written verbatim).</summary>
    public sealed class Layer
    {
        private static readonly DateTimeOffset DefaultTime = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        private readonly MemoryStream _buffer = new();
        private readonly TarWriter _writer;

        public Layer() => _writer = new TarWriter(_buffer, TarEntryFormat.Pax, leaveOpen: true);

        public Layer Dir(string name, int mode = 0x1ED, int uid = 0, int gid = 0) =>
            Add(new PaxTarEntry(TarEntryType.Directory, name), mode, uid, gid, null);

        public Layer File(string name, string content, int mode = 0x1A4, int uid = 0, int gid = 0, DateTimeOffset? mtime = null) =>
            Add(new PaxTarEntry(TarEntryType.RegularFile, name), mode, uid, gid, Encoding.UTF8.GetBytes(content), mtime);

        public Layer Symlink(string name, string target) =>
            Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target }, 0x1FF, 0, 0, null);

        public Layer HardLink(string name, string target) =>
            Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target }, 0x1A4, 0, 0, null);

        public Layer CharDevice(string name) =>
            Add(new PaxTarEntry(TarEntryType.CharacterDevice, name) { DeviceMajor = 1, DeviceMinor = 3 }, 0x1B6, 0, 0, null);

        /// <summary>Deletes <paramref name="name"/> (a path) from lower layers.</summary>
        public Layer Whiteout(string name)
        {
            var slash = name.LastIndexOf('/');
            var whiteout = slash < 0 ? ".wh." + name : name[..(slash + 1)] + ".wh." + name[(slash + 1)..];
            return Add(new PaxTarEntry(TarEntryType.RegularFile, whiteout), 0, 0, 0, []);
        }

        /// <summary>Makes <paramref name="directory"/> opaque: lower layers' content of it is hidden.</summary>
        public Layer Opaque(string directory) =>
            Add(new PaxTarEntry(TarEntryType.RegularFile, directory.TrimEnd('/') + "/.wh..wh..opq"), 0, 0, 0, []);

        public byte[] Build()
        {
            _writer.Dispose();
            return _buffer.ToArray();
        }

        private Layer Add(PaxTarEntry entry, int mode, int uid, int gid, byte[]? content, DateTimeOffset? mtime = null)
        {
            entry.Mode = (UnixFileMode)mode;
            entry.Uid = uid;
            entry.Gid = gid;
            entry.ModificationTime = mtime ?? DefaultTime;
            if (content is not null)
            {
                entry.DataStream = new MemoryStream(content);
            }

            _writer.WriteEntry(entry);
            return this;
        }
    }
}
