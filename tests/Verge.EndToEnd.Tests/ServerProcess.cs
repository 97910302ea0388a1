using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Verge.EndToEnd.Tests;

/// <summary>A real <c>verge server</c> process on a free loopback port, over its own data dir.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _extraArgs;
    private Process? _process;

    /// <param name="dataDir">The server's data dir; a fresh temp dir when null.</param>
    /// <param name="listenAddress">The IP address to listen on (the serving certificate names it); loopback by default.</param>
    /// <param name="extraArgs">More flags for <c>verge server</c> (e.g. --mqtt-listen).</param>
    public ServerProcess(string? dataDir = null, string listenAddress = "127.0.0.1", IReadOnlyList<string>? extraArgs = null)
    {
        _extraArgs = extraArgs ?? [];
        DataDir = dataDir ?? Directory.CreateTempSubdirectory("verge-e2e-").FullName;
        ListenAddress = listenAddress;
        Port = FreePort(IPAddress.Parse(listenAddress));
    }

    public string ListenAddress { get; }

    public string DataDir { get; }

    public int Port { get; }

    public string Kubeconfig => Path.Combine(DataDir, "admin.kubeconfig");

    public string Url => $"https://{ListenAddress}:{Port}";

    /// <summary>Starts the server and returns once it reports that it serves (it prints its admin kubeconfig then).</summary>
    public async Task StartAsync()
    {
        var start = Verge.StartInfo(["server", "--data-dir", DataDir, "--listen", $"{ListenAddress}:{Port}", .. _extraArgs]);
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start verge server");
        var stderr = _process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                await _process.WaitForExitAsync(timeout.Token);
                throw new InvalidOperationException($"verge server exited with {_process.ExitCode}: {await stderr}");
            }

            if (line.StartsWith("Admin kubeconfig:", StringComparison.Ordinal))
            {
                break;
            }
        }

        // Keep draining stdout so the server never blocks on a full pipe.
        _ = _process.StandardOutput.ReadToEndAsync();
    }

    /// <summary>Ends the process with SIGKILL, as a crash or power cut would.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    public void DeleteData()
    {
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Runs the built <c>verge</c> binary.</summary>
internal static class Verge
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "verge.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Verge.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Verge.slnx) not found");
    }
}
