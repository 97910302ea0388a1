using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Verge.Cli.Tests.Integration;

/// <summary>Writes a minimal OCI image archive (one layer with one file) for this machine's platform.</summary>
internal static class OciArchive
{
    public static async Task WriteAsync(string path, string refName)
    {
        var layer = await TarOfAsync([("hello.txt", Encoding.UTF8.GetBytes("hello from an imported image\n"))]);
        var architecture = RuntimeInformation.OSArchitecture switch
        {
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            _ => "amd64",
        };
        var config = Json(new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/sh") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(Digest(layer)) },
        });
        var manifest = Json(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config),
            ["layers"] = new JsonArray(Descriptor("application/vnd.oci.image.layer.v1.tar", layer)),
        });
        var descriptor = Descriptor("application/vnd.oci.image.manifest.v1+json", manifest);
        descriptor["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = refName };
        var index = Json(new JsonObject { ["schemaVersion"] = 2, ["manifests"] = new JsonArray(descriptor) });
        var archive = await TarOfAsync(
        [
            ("oci-layout", Encoding.UTF8.GetBytes("""{"imageLayoutVersion":"1.0.0"}""")),
            ("index.json", index),
            (BlobPath(layer), layer),
            (BlobPath(config), config),
            (BlobPath(manifest), manifest),
        ]);
        await File.WriteAllBytesAsync(path, archive);
    }

    private static byte[] Json(JsonObject obj) => Encoding.UTF8.GetBytes(obj.ToJsonString());

    private static JsonObject Descriptor(string mediaType, byte[] blob) =>
        new() { ["mediaType"] = mediaType, ["digest"] = Digest(blob), ["size"] = blob.Length };

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static string BlobPath(byte[] data) => "blobs/sha256/" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static async Task<byte[]> TarOfAsync(IEnumerable<(string Name, byte[] Data)> files)
    {
        using var buffer = new MemoryStream();
        await using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0b110_100_100 };
                await tar.WriteEntryAsync(entry);
            }
        }

        return buffer.ToArray();
    }
}
