using System.Diagnostics;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Support;

/// <summary>
/// A one-file image: busybox-static and a symlink per applet, plus /etc/passwd and /etc/group, unpacked in a temp
/// dir and served by a fake <see cref="IImageStore"/>.
/// </summary>
internal sealed class BusyboxImage : IImageStore, IDisposable
{
    public const string Reference = "test.local/busybox:latest";

    public BusyboxImage(ImageConfig? config = null)
    {
        var busybox = Tools.Require("/bin/busybox", "busybox-static");
        Directory = System.IO.Directory.CreateTempSubdirectory("verge-image-").FullName;
        Rootfs = Path.Combine(Directory, "rootfs");
        var bin = Path.Combine(Rootfs, "bin");
        System.IO.Directory.CreateDirectory(bin);
        File.Copy(busybox, Path.Combine(bin, "busybox"));
        foreach (var applet in ListApplets(busybox))
        {
            var link = Path.Combine(bin, applet);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, "busybox");
            }
        }

        foreach (var dir in new[] { "etc", "tmp", "proc", "sys", "dev", "root", "home/app", "var/www" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Rootfs, dir));
        }

        File.WriteAllText(Path.Combine(Rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(Rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
        File.WriteAllText(Path.Combine(Rootfs, "var/www/index.html"), "hello from verge\n");
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(Path.Combine(Rootfs, "tmp"), (UnixFileMode)0b1_111_111_111);
        }

        Image = new ImageInfo(Reference, "sha256:" + new string('0', 64), config ?? new ImageConfig { Cmd = ["/bin/sh"] }, [], 0);
    }

    public string Directory { get; }

    public string Rootfs { get; }

    public ImageInfo Image { get; set; }

    public Task<ImageInfo> PullAsync(string reference, PullPolicy policy, RegistryCredentials? credentials, CancellationToken ct) =>
        reference == Reference ? Task.FromResult(Image) : throw new ImagePullException($"image {reference} not found");

    public Task<IReadOnlyList<ImageInfo>> ImportArchiveAsync(Stream archive, CancellationToken ct) => throw new NotSupportedException();

    public ImageInfo? Find(string reference) => reference == Reference ? Image : null;

    public Task<string> GetRootfsAsync(ImageInfo image, CancellationToken ct) => Task.FromResult(Rootfs);

    public IReadOnlyList<ImageInfo> List() => [Image];

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private static string[] ListApplets(string busybox)
    {
        using var process = Process.Start(new ProcessStartInfo(busybox, "--list") { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
