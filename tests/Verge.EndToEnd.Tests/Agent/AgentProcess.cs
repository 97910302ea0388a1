using System.Diagnostics;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// A real <c>verge agent</c> process (the built verge.dll), optionally inside a <see cref="NetworkNamespace"/>. It
/// enters only the namespace's network (<c>nsenter --net</c>), not a private mount namespace as <c>ip netns exec</c>
/// would: the agent's overlay and pod-netns mounts must stay visible to the host and to the next agent started on
/// the same data dir. Its stdout and stderr lines are kept. <see cref="Kill"/> is SIGKILL (a crash) and
/// <see cref="StopAsync"/> SIGTERM; neither touches the containers the agent started.
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly List<string> _lines = [];
    private readonly Process _process;

    private AgentProcess(Process process, string dataDir)
    {
        _process = process;
        DataDir = dataDir;
    }

    public string DataDir { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Every line the agent wrote so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Starts <c>verge agent --data-dir DATADIR ARGS...</c>, inside <paramref name="netns"/> when given.</summary>
    public static AgentProcess Start(string dataDir, IEnumerable<string> args, NetworkNamespace? netns = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "verge.dll");
        var command = new List<string> { dll, "agent", "--data-dir", dataDir };
        command.AddRange(args);
        var start = new ProcessStartInfo(netns is null ? "dotnet" : "nsenter")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            start.ArgumentList.Add($"--net=/var/run/netns/{netns.Name}");
            start.ArgumentList.Add("dotnet");
        }

        foreach (var arg in command)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start verge agent");
        var agent = new AgentProcess(process, dataDir);
        process.OutputDataReceived += (_, e) => agent.Add(e.Data);
        process.ErrorDataReceived += (_, e) => agent.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return agent;
    }

    /// <summary>Waits until a line containing <paramref name="text"/> was written; fails if the agent exits first.</summary>
    public async Task WaitForLineAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"the agent exited ({_process.ExitCode}) before writing \"{text}\":\n{Output}");
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the agent did not write \"{text}\" within {timeout.TotalSeconds} s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the agent to exit by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the agent did not exit within {timeout.TotalSeconds} s:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL to the agent alone: its containers (children of their own shims) keep running.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGTERM, then waits for the agent to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        await EdgeTools.ExecAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Removes what an agent leaves on the host once it is gone: its runc containers (runc --root DATA/runc/state delete -f), mounts under
    /// its data dir (overlay root file systems, tmpfs volumes), the pods' network namespaces, and the data dir.
    /// </summary>
    public static async Task CleanUpAsync(string dataDir)
    {
        var runcRoot = Path.Combine(dataDir, "runc", "state");
        if (Directory.Exists(runcRoot))
        {
            var list = await EdgeTools.ExecAsync("runc", ["--root", runcRoot, "list", "-q"]);
            foreach (var id in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await EdgeTools.ExecAsync("runc", ["--root", runcRoot, "delete", "-f", id]);
            }
        }

        var prefix = dataDir.TrimEnd('/') + "/";
        var mounts = (await File.ReadAllLinesAsync("/proc/self/mounts"))
            .Select(line => line.Split(' ')[1].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounts)
        {
            await EdgeTools.ExecAsync("umount", ["-l", point]);
        }

        // Pods the agent knew (their directories) and pods whose network it set up (the CNI records): an agent
        // killed between creating a pod's namespace and removing it leaves only one of the two behind.
        var podsDir = Path.Combine(dataDir, "pods");
        var cniDir = Path.Combine(dataDir, "cni", "pods");
        var uids = (Directory.Exists(podsDir) ? Directory.GetDirectories(podsDir).Select(Path.GetFileName) : [])
            .Concat(Directory.Exists(cniDir) ? Directory.GetFiles(cniDir, "*.json").Select(Path.GetFileNameWithoutExtension) : [])
            .Distinct(StringComparer.Ordinal);
        {
            foreach (var uid in uids)
            {
                if (File.Exists($"/var/run/netns/verge-{uid}"))
                {
                    await EdgeTools.ExecAsync("ip", ["netns", "delete", $"verge-{uid}"]);
                }
            }
        }

        EdgeTools.DeleteDir(dataDir);
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }
    }
}
