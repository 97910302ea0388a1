using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Verge.Benchmarks.Agent;

/// <summary>
/// A real OCI registry (Debian's docker-registry) on a free loopback port with storage in a temp dir, and a busybox
/// image built offline with umoci (one layer: busybox-static and a symlink per applet) and pushed with skopeo, the
/// way the agent's end-to-end tests build theirs. Dispose stops the registry and deletes its files.
/// </summary>
internal sealed class BenchRegistry : IAsyncDisposable
{
    private readonly string _dir;
    private readonly Process _process;

    private BenchRegistry(string dir, Process process, string host)
    {
        _dir = dir;
        _process = process;
        Host = host;
    }

    /// <summary>host:port as written in image references.</summary>
    public string Host { get; }

    public static async Task<BenchRegistry> StartAsync(CancellationToken ct)
    {
        var binary = Require("docker-registry", "docker-registry");
        var dir = Directory.CreateTempSubdirectory("verge-bench-registry-").FullName;
        var port = FreePort();
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "storage")}
            http:
              addr: 127.0.0.1:{port}
            """, ct);
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start docker-registry");
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var registry = new BenchRegistry(dir, process, $"127.0.0.1:{port}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 30;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://{registry.Host}/v2/"), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return registry;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }

            if (process.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                await registry.DisposeAsync();
                throw new InvalidOperationException($"docker-registry did not answer on {registry.Host}");
            }

            await Task.Delay(50, ct);
        }
    }

    /// <summary>Builds the busybox image and pushes it as HOST/NAME:TAG; returns that reference.</summary>
    public async Task<string> PushBusyboxAsync(string name, string tag, CancellationToken ct)
    {
        var umoci = Require("umoci", "umoci");
        var skopeo = Require("skopeo", "skopeo");
        var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : Require("busybox", "busybox-static");
        var layout = Path.Combine(_dir, "layout");
        var bundle = Path.Combine(_dir, "bundle");
        await RunAsync(umoci, ["init", "--layout", layout], ct);
        await RunAsync(umoci, ["new", "--image", $"{layout}:base"], ct);
        await RunAsync(umoci, ["unpack", "--image", $"{layout}:base", bundle], ct);
        var rootfs = Path.Combine(bundle, "rootfs");
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

        var applets = (await RunAsync(busybox, ["--list"], ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var applet in applets.Where(a => a != "busybox"))
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }

        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", ct);
        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n", ct);
        await RunAsync(umoci, ["repack", "--image", $"{layout}:base", bundle], ct);
        await RunAsync(umoci, ["config", "--image", $"{layout}:base", "--config.env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--config.cmd", "sh"], ct);
        var reference = $"{Host}/{name}:{tag}";
        await RunAsync(skopeo, ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", $"oci:{layout}:base", $"docker://{reference}"], ct);
        return reference;
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The full path of a command, or an error naming the apt package that provides it.</summary>
    public static string Require(string command, string aptPackage)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{command} is not installed: apt-get install -y {aptPackage}");
    }

    /// <summary>Runs a command to completion (at most 2 minutes); a non-zero exit is an error with its output.</summary>
    public static async Task<string> RunAsync(string command, IEnumerable<string> arguments, CancellationToken ct)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {command}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', info.ArgumentList)} did not finish within 2 minutes");
        }

        var output = await stdout;
        var errors = await stderr;
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException(new StringBuilder().Append(command).Append(' ').AppendJoin(' ', info.ArgumentList)
                .Append(" exited with ").Append(process.ExitCode).Append(": ").Append(errors).Append(output).ToString());
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
