using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// A real OCI registry (Debian's docker-registry) on a free port of every address (0.0.0.0), so agents in network
/// namespaces reach it through their link's host address; filesystem storage in a temp dir, plain HTTP.
/// </summary>
internal sealed class EdgeRegistry : IAsyncDisposable
{
    private Process? _process;

    private EdgeRegistry(string dir, int port)
    {
        Dir = dir;
        Port = port;
    }

    public string Dir { get; }

    public int Port { get; }

    /// <summary>The registry's storage root (docker/registry/v2/... below it).</summary>
    public string StorageDir => Path.Combine(Dir, "storage");

    /// <summary>host:port as seen from this host.</summary>
    public string LocalHost => $"127.0.0.1:{Port}";

    public static async Task<EdgeRegistry> StartAsync()
    {
        var binary = EdgeTools.Require("docker-registry", "docker-registry");
        var port = FreePort();
        var registry = new EdgeRegistry(EdgeTools.TempDir("verge-e2e-registry"), port);
        var config = Path.Combine(registry.Dir, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {registry.StorageDir}
              delete:
                enabled: true
            http:
              addr: 0.0.0.0:{port}
            """);
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        registry._process = Process.Start(info)!;
        registry._process.StandardInput.Close();
        registry._process.OutputDataReceived += (_, _) => { };
        registry._process.ErrorDataReceived += (_, _) => { };
        registry._process.BeginOutputReadLine();
        registry._process.BeginErrorReadLine();
        try
        {
            await registry.WaitReadyAsync();
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }

        return registry;
    }

    /// <summary>Where the registry keeps a blob's bytes (to corrupt it).</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(StorageDir, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    public ValueTask DisposeAsync()
    {
        if (_process is not null)
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
            _process = null;
        }

        EdgeTools.DeleteDir(Dir);
        return ValueTask.CompletedTask;
    }

    private async Task WaitReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {_process.ExitCode} before answering");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://{LocalHost}/v2/"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"docker-registry did not answer on {LocalHost} within 30 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
