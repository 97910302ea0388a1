using System.Text.Json.Nodes;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// The test images, built offline with umoci from busybox-static and pushed with skopeo as
/// <c>library/NAME:TAG</c>, which is where a <c>docker.io=REGISTRY</c> mirror finds <c>NAME:TAG</c>. The rootfs holds
/// /bin/busybox with a symlink per applet, /etc/passwd and /etc/group, and /www/index.html.
/// </summary>
internal static class EdgeImages
{
    /// <summary>The text /www/index.html holds.</summary>
    public const string IndexHtml = "hello from verge edge-service";

    /// <summary>The line the seed image prints before serving.</summary>
    public const string StartLine = "edge-service listening on 8080";

    /// <summary>Builds the layout in <paramref name="workDir"/> and pushes every image the tests use.</summary>
    public static async Task PushAllAsync(EdgeRegistry registry, string workDir)
    {
        var umoci = EdgeTools.Require("umoci", "umoci");
        var skopeo = EdgeTools.Require("skopeo", "skopeo");
        var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : EdgeTools.Require("busybox", "busybox-static");
        var layout = Path.Combine(workDir, "layout");
        var bundle = Path.Combine(workDir, "bundle");
        await EdgeTools.RunAsync(umoci, ["init", "--layout", layout]);
        await EdgeTools.RunAsync(umoci, ["new", "--image", $"{layout}:base"]);
        await EdgeTools.RunAsync(umoci, ["unpack", "--image", $"{layout}:base", bundle]);
        await PopulateRootfsAsync(Path.Combine(bundle, "rootfs"), busybox);
        await EdgeTools.RunAsync(umoci, ["repack", "--image", $"{layout}:base", bundle]);
        await EdgeTools.RunAsync(umoci, ["config", "--image", $"{layout}:base",
            "--config.env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--config.cmd", "sh"]);

        // The seed's image: prints a line, then serves /www on 8080 in the foreground.
        await EdgeTools.RunAsync(umoci, ["config", "--image", $"{layout}:base", "--tag", "seed",
            "--config.entrypoint=/bin/sh", "--config.entrypoint=-c",
            $"--config.entrypoint=echo {StartLine}; exec /bin/httpd -f -p 8080 -h /www",
            "--clear=config.cmd"]);
        await PushAsync(skopeo, registry, $"oci:{layout}:seed", "edge-service-image:latest");
        await PushAsync(skopeo, registry, $"oci:{layout}:base", "busybox:e2e");

        // An image whose config blob no other image shares, for the corruption test.
        await EdgeTools.RunAsync(umoci, ["config", "--image", $"{layout}:base", "--tag", "corrupt",
            "--config.label=verge.dev/e2e=corrupt-config"]);
        await PushAsync(skopeo, registry, $"oci:{layout}:corrupt", "corrupt:v1");
    }

    /// <summary>The config blob digest of <c>library/NAME:TAG</c> in the registry.</summary>
    public static async Task<string> ConfigDigestAsync(EdgeRegistry registry, string name, string tag)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{registry.LocalHost}/v2/library/{name}/manifests/{tag}"));
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var manifest = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return manifest["config"]!["digest"]!.GetValue<string>();
    }

    private static Task<string> PushAsync(string skopeo, EdgeRegistry registry, string source, string nameTag) =>
        EdgeTools.RunAsync(skopeo, ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", source,
            $"docker://{registry.LocalHost}/library/{nameTag}"]);

    private static async Task PopulateRootfsAsync(string rootfs, string busybox)
    {
        foreach (var dir in new[] { "bin", "etc", "proc", "sys", "dev", "root", "var", "usr/bin", "tmp", "www" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }

        File.Copy(busybox, Path.Combine(rootfs, "bin", "busybox"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)Convert.ToInt32("1777", 8));
            File.SetUnixFileMode(Path.Combine(rootfs, "bin", "busybox"), (UnixFileMode)Convert.ToInt32("755", 8));
        }
        var applets = (await EdgeTools.RunAsync(busybox, ["--list"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var applet in applets.Where(a => a != "busybox"))
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }

        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        await File.WriteAllTextAsync(Path.Combine(rootfs, "www", "index.html"), IndexHtml + "\n");
    }
}
