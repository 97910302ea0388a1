using System.Diagnostics;

namespace Verge.Benchmarks.Cluster;

/// <summary>
/// One <c>verge sim nodes</c> process (the built Release CLI run with <c>dotnet</c>), so the simulated nodes' CPU is
/// not in the server process. Its output is kept; <see cref="DisposeAsync"/> kills it if it still runs.
/// </summary>
internal sealed class SimulatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _lines = [];

    private SimulatorProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public string LastLine
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count > 0 ? _lines[^1] : "";
            }
        }
    }

    /// <summary>CPU the simulator process has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            try
            {
                _process.Refresh();
                return _process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                return TimeSpan.Zero;
            }
        }
    }

    /// <summary>Starts a simulator; <paramref name="renewInterval"/> overrides the lease timings it picks from its own count.</summary>
    public static SimulatorProcess Start(string vergeDll, string kubeconfig, int count, int sites, string prefix, TimeSpan? renewInterval = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { vergeDll, "sim", "nodes", "--count", count.ToString(), "--sites", sites.ToString(), "--name-prefix", prefix, "--kubeconfig", kubeconfig })
        {
            info.ArgumentList.Add(arg);
        }

        if (renewInterval is { } interval)
        {
            info.ArgumentList.Add("--renew-interval");
            info.ArgumentList.Add($"{(int)interval.TotalMilliseconds}ms");
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var sim = new SimulatorProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                sim._registered.TrySetException(new InvalidOperationException($"simulator {prefix} ended before registering: {sim.LastLine}"));
                return;
            }

            lock (sim._lines)
            {
                sim._lines.Add(e.Data);
            }

            Console.WriteLine($"  [sim {prefix}] {e.Data}");
            if (e.Data.StartsWith("registered ", StringComparison.Ordinal))
            {
                sim._registered.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.WriteLine($"  [sim {prefix} stderr] {e.Data}");
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sim;
    }

    public Task<string> WaitRegisteredAsync(TimeSpan timeout, CancellationToken ct) => _registered.Task.WaitAsync(timeout, ct);

    /// <summary>SIGKILL: the nodes' leases stop at once, as when a site loses power.</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }

        _process.Dispose();
    }
}
