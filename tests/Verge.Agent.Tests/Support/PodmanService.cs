using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;
using Verge.Agent.Drivers.Docker;

namespace Verge.Agent.Tests.Support;

/// <summary>
/// A private podman serving the Docker-compatible Engine API (v1.41) on a unix socket, for the docker driver's tests:
/// runc, cgroupfs and vfs storage, with root, runroot, storage and config in a temp dir so nothing leaks into the
/// machine's podman. An image with busybox (from busybox-static) is imported through the API, so no registry or
/// network is needed. Disposing removes every container, stops podman and deletes the temp dir.
/// </summary>
public sealed partial class PodmanService : IAsyncLifetime
{
    /// <summary>The busybox image every docker test task runs.</summary>
    public const string Image = "localhost/verge-busybox:conformance";

    private const string Podman = "/usr/bin/podman";
    private const string Busybox = "/bin/busybox";

    private static readonly string[] Applets =
        ["sh", "echo", "cat", "sleep", "touch", "pwd", "true", "false", "dd", "printf", "env", "ls", "id", "kill", "head", "test", "["];

    private readonly SemaphoreSlim _registryLock = new(1, 1);
    private System.Diagnostics.Process? _service;
    private System.Diagnostics.Process? _registry;
    private string? _registryImage;

    public PodmanService()
    {
        Root = Directory.CreateTempSubdirectory("verge-podman-").FullName;
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        RegistryPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>The port of the plain-HTTP registry that <see cref="RegistryImageAsync"/> starts (podman trusts it).</summary>
    public int RegistryPort { get; }

    /// <summary>The temp dir holding everything podman writes.</summary>
    public string Root { get; }

    public string SocketPath => Path.Combine(Root, "api.sock");

    /// <summary>The endpoint as the driver's options name it.</summary>
    public string Socket => "unix://" + SocketPath;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Podman), "podman is missing: apt-get install -y podman");
        Assert.True(File.Exists("/usr/sbin/runc") || File.Exists("/usr/bin/runc"), "runc is missing: apt-get install -y runc");
        Assert.True(File.Exists(Busybox) && IsStatic(Busybox), "a static busybox is missing: apt-get install -y busybox-static");

        await File.WriteAllTextAsync(Path.Combine(Root, "containers.conf"), """
            [containers]
            default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
            log_driver = "k8s-file"
            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            runtime = "runc"
            """);
        await File.WriteAllTextAsync(Path.Combine(Root, "storage.conf"), $"""
            [storage]
            driver = "vfs"
            runroot = "{Root}/runroot"
            graphroot = "{Root}/root"
            """);

        await File.WriteAllTextAsync(Path.Combine(Root, "registries.conf"), $"""
            [[registry]]
            location = "127.0.0.1:{RegistryPort}"
            insecure = true
            """);

        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var arg in new[] { "-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null", "sh", Path.Combine(Root, "podman.log"), Podman })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in GlobalFlags().Concat(["system", "service", "--time=0", Socket]))
        {
            start.ArgumentList.Add(arg);
        }

        SetEnvironment(start);
        _service = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("podman did not start");

        using var api = new DockerApiClient(SocketPath, "v1.41", TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                if (File.Exists(SocketPath))
                {
                    await api.PingAsync(CancellationToken.None);
                    break;
                }
            }
            catch (DockerApiException)
            {
                // Not listening yet.
            }

            if (_service.HasExited || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"podman system service did not come up:\n{await File.ReadAllTextAsync(Path.Combine(Root, "podman.log"))}");
            }

            await Task.Delay(100);
        }

        using var tar = BusyboxRootfs();
        var answer = await api.ImportImageAsync(tar, "localhost/verge-busybox-import", "latest", CancellationToken.None);
        var id = ImageId().Match(answer);
        Assert.True(id.Success, $"importing the busybox image gave no image id: {answer}");
        await api.TagImageAsync(id.Value, "localhost/verge-busybox", "conformance", CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        // Remove every container with the CLI (it stops their conmon monitors), then stop the service.
        await RunPodmanAsync("rm", "--all", "--force", "--time", "0");
        if (_service is { HasExited: false })
        {
            _service.Kill();
            await _service.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _service?.Dispose();
        if (_registry is { HasExited: false })
        {
            _registry.Kill();
            await _registry.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _registry?.Dispose();
        _registryLock.Dispose();

        // Exec sessions leave conmon monitors behind for a while (--exit-delay); they belong to this podman alone,
        // which their command lines show by naming its root.
        foreach (var pid in ProcScan.Naming(Root))
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException)
            {
                // Gone already.
            }
        }

        foreach (var mount in File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(Root, StringComparison.Ordinal)).Reverse())
        {
            using var umount = System.Diagnostics.Process.Start("/bin/umount", ["-l", mount]);
            await umount.WaitForExitAsync();
        }

        Directory.Delete(Root, recursive: true);
    }

    /// <summary>
    /// The busybox image pushed to a private docker-registry (started on first use, plain HTTP on loopback):
    /// 127.0.0.1:PORT/verge/busybox:pulled, for tests of real pulls.
    /// </summary>
    public async Task<string> RegistryImageAsync()
    {
        await _registryLock.WaitAsync();
        try
        {
            if (_registryImage is not null)
            {
                return _registryImage;
            }

            Assert.True(File.Exists("/usr/bin/docker-registry"), "docker-registry is missing: apt-get install -y docker-registry");
            Assert.True(File.Exists("/usr/bin/skopeo"), "skopeo is missing: apt-get install -y skopeo");
            var config = Path.Combine(Root, "registry.yml");
            await File.WriteAllTextAsync(config, $"""
                version: 0.1
                storage:
                  filesystem:
                    rootdirectory: {Root}/registry
                http:
                  addr: 127.0.0.1:{RegistryPort}
                """);
            var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            foreach (var arg in new[] { "-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null", "sh", Path.Combine(Root, "registry.log"), "/usr/bin/docker-registry", "serve", config })
            {
                start.ArgumentList.Add(arg);
            }

            _registry = System.Diagnostics.Process.Start(start)!;
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    using var response = await http.GetAsync($"http://127.0.0.1:{RegistryPort}/v2/");
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                if (_registry.HasExited || DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"docker-registry did not come up:\n{await File.ReadAllTextAsync(Path.Combine(Root, "registry.log"))}");
                }

                await Task.Delay(50);
            }

            var image = $"127.0.0.1:{RegistryPort}/verge/busybox:pulled";
            var (code, output) = await RunToolAsync(
                "/usr/bin/skopeo",
                "copy",
                "--dest-tls-verify=false",
                $"containers-storage:[vfs@{Root}/root+{Root}/runroot]{Image}",
                "docker://" + image);
            Assert.True(code == 0, $"skopeo copy failed: {output}");
            _registryImage = image;
            return image;
        }
        finally
        {
            _registryLock.Release();
        }
    }

    private async Task<(int Code, string Output)> RunToolAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        SetEnvironment(start);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (process.ExitCode, await stdout + await stderr);
    }

    private string[] GlobalFlags() =>
    [
        "--root", Path.Combine(Root, "root"),
        "--runroot", Path.Combine(Root, "runroot"),
        "--tmpdir", Path.Combine(Root, "tmp"),
        "--storage-driver", "vfs",
        "--runtime", "runc",
        "--cgroup-manager", "cgroupfs",
        "--events-backend", "file",
    ];

    private void SetEnvironment(ProcessStartInfo start)
    {
        start.Environment["CONTAINERS_CONF"] = Path.Combine(Root, "containers.conf");
        start.Environment["CONTAINERS_STORAGE_CONF"] = Path.Combine(Root, "storage.conf");
        start.Environment["CONTAINERS_REGISTRIES_CONF"] = Path.Combine(Root, "registries.conf");
        start.Environment["XDG_RUNTIME_DIR"] = Path.Combine(Root, "xdg");
        Directory.CreateDirectory(Path.Combine(Root, "xdg"));
    }

    private Task<(int Code, string Output)> RunPodmanAsync(params string[] args) => RunToolAsync(Podman, [.. GlobalFlags(), .. args]);

    /// <summary>A root file system tar: static busybox with its applets as symlinks, and /tmp.</summary>
    private static MemoryStream BusyboxRootfs()
    {
        var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var dir in new[] { "bin/", "tmp/", "etc/", "proc/", "sys/", "dev/" })
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir)
                {
                    Mode = dir == "tmp/" ? (UnixFileMode)Convert.ToInt32("1777", 8) : (UnixFileMode)Convert.ToInt32("755", 8),
                });
            }

            using (var busybox = File.OpenRead(Busybox))
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox")
                {
                    Mode = (UnixFileMode)Convert.ToInt32("755", 8),
                    DataStream = busybox,
                });
            }

            foreach (var applet in Applets)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox" });
            }

            var passwd = new MemoryStream(Encoding.ASCII.GetBytes("root:x:0:0:root:/:/bin/sh\n"));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/passwd") { Mode = (UnixFileMode)Convert.ToInt32("644", 8), DataStream = passwd });
        }

        output.Position = 0;
        return output;
    }

    /// <summary>A dynamically linked binary names its ELF interpreter; a static one does not.</summary>
    private static bool IsStatic(string file)
    {
        var bytes = File.ReadAllBytes(file);
        return bytes.AsSpan().IndexOf("/lib64/ld-linux"u8) < 0 && bytes.AsSpan().IndexOf("/lib/ld-linux"u8) < 0;
    }

    [GeneratedRegex("sha256:[0-9a-f]{64}")]
    private static partial Regex ImageId();
}
