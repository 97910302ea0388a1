using System.Diagnostics;

namespace Verge.EndToEnd.Tests;

/// <summary>A <c>verge sim nodes</c> process: hollow nodes that renew leases and run the pods bound to them.</summary>
internal sealed class Simulator : IAsyncDisposable
{
    private readonly Process _process;

    private Simulator(Process process) => _process = process;

    /// <summary>Starts a simulator and returns once it reports its nodes registered.</summary>
    public static async Task<Simulator> StartAsync(ServerProcess server, string prefix, int count, int sites)
    {
        var start = Verge.StartInfo("sim", "nodes", "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--sites", sites.ToString(System.Globalization.CultureInfo.InvariantCulture), "--name-prefix", prefix, "--kubeconfig", server.Kubeconfig);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start verge sim");
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                throw new InvalidOperationException($"verge sim exited: {await stderr}");
            }

            if (line.StartsWith("registered ", StringComparison.Ordinal))
            {
                break;
            }
        }

        _ = process.StandardOutput.ReadToEndAsync();
        return new Simulator(process);
    }

    /// <summary>Kills the simulator: its nodes stop renewing their leases, as a node that loses power would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
