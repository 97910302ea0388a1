using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Verge.Agent.Tests.Support;

/// <summary>
/// A real OCI distribution registry (the Debian docker-registry package, Distribution 2.8) on a free loopback port
/// with filesystem storage in a temp directory, for tests that pull images. Start it with <see cref="StartAsync"/>,
/// push with <see cref="TestImages"/>, dispose to stop the process and delete the storage. Plain HTTP: image
/// stores treat loopback registries as insecure by default. Usable as an xunit class fixture
/// (<c>IClassFixture&lt;TestRegistry&gt;</c>): it then starts on first use of <see cref="EnsureStartedAsync"/>.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable, IAsyncLifetime
{
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private Process? _process;
    private string? _dir;

    /// <summary>host:port, as written in image references ("127.0.0.1:40123").</summary>
    public string Host { get; private set; } = string.Empty;

    /// <summary>The registry's storage root (docker/registry/v2/... below it).</summary>
    public string StorageDir => Path.Combine(_dir ?? throw new InvalidOperationException("not started"), "storage");

    public static async Task<TestRegistry> StartAsync(CancellationToken ct = default)
    {
        var registry = new TestRegistry();
        await registry.EnsureStartedAsync(ct);
        return registry;
    }

    /// <summary>Starts the registry unless it runs already; waits until /v2/ answers.</summary>
    public async Task EnsureStartedAsync(CancellationToken ct = default)
    {
        await _startLock.WaitAsync(ct);
        try
        {
            if (_process is not null)
            {
                return;
            }

            var binary = Tools.Require("docker-registry", "docker-registry");
            _dir = Tools.TempDir("verge-registry");
            Exception? last = null;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var port = FreePort();
                var config = Path.Combine(_dir, "config.yml");
                await File.WriteAllTextAsync(config, $"""
                    version: 0.1
                    log:
                      level: warn
                      accesslog:
                        disabled: true
                    storage:
                      filesystem:
                        rootdirectory: {StorageDir}
                      delete:
                        enabled: true
                    http:
                      addr: 127.0.0.1:{port}
                    """, ct);
                var info = new ProcessStartInfo(binary)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    RedirectStandardInput = true,
                    UseShellExecute = false,
                };
                info.ArgumentList.Add("serve");
                info.ArgumentList.Add(config);
                var process = Process.Start(info)!;
                process.StandardInput.Close();
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                Host = $"127.0.0.1:{port}";
                try
                {
                    await WaitReadyAsync(process, ct);
                    _process = process;
                    return;
                }
                catch (InvalidOperationException e)
                {
                    last = e;
                    StopProcess(process);
                }
            }

            throw new InvalidOperationException("docker-registry did not start", last);
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>Where the registry keeps a blob's bytes (to corrupt it in tests).</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(StorageDir, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    public ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            StopProcess(_process);
            _process = null;
        }

        if (_dir is not null)
        {
            Tools.DeleteDir(_dir);
            _dir = null;
        }

        return ValueTask.CompletedTask;
    }

    private async Task WaitReadyAsync(Process process, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {process.ExitCode} before answering");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://{Host}/v2/"), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(50, ct);
        }

        throw new InvalidOperationException($"docker-registry did not answer on {Host} within 30 s");
    }

    private static void StopProcess(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
