using System.Collections.Concurrent;
using System.Diagnostics;
using Verge.Agent.Drivers;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Fakes;

/// <summary>
/// A minimal driver that runs a container's command as a host process (through /bin/sh so output is appended to the
/// log file with O_APPEND), for tests that want real processes. No images, no isolation, no recovery.
/// </summary>
internal sealed class HostProcessDriver : IWorkloadDriver
{
    private readonly ConcurrentDictionary<string, Process> _processes = new();

    public string Name => "process";

    public Task<DriverFingerprint> FingerprintAsync(CancellationToken ct) =>
        Task.FromResult(File.Exists("/bin/sh") ? new DriverFingerprint(true, "ok") : new DriverFingerprint(false, "/bin/sh is missing (apt-get install dash)"));

    public Task<ImageInfo?> PullImageAsync(ImageRequest request, CancellationToken ct) => Task.FromResult<ImageInfo?>(null);

    public Task<TaskHandle> StartAsync(TaskConfig config, CancellationToken ct)
    {
        var argv = (config.Command ?? []).Concat(config.Args ?? []).ToList();
        if (argv.Count == 0)
        {
            throw new DriverException("the process driver needs a command", "CreateContainerError");
        }

        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$@\" >>\"$VERGE_LOG\" 2>&1 </dev/null");
        start.ArgumentList.Add("sh");
        foreach (var arg in argv)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        start.Environment["VERGE_LOG"] = config.LogPath;
        foreach (var (name, value) in config.Env)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new DriverException("could not start /bin/sh");
        _processes[config.Id] = process;
        return Task.FromResult(new TaskHandle(Name, config.Id, process.Id.ToString(), DateTimeOffset.UtcNow));
    }

    public async Task<TaskExit> WaitAsync(TaskHandle handle, CancellationToken ct)
    {
        var process = _processes[handle.Id];
        await process.WaitForExitAsync(ct);
        var code = process.ExitCode;
        return new TaskExit(code, code > 128 ? code - 128 : null, false, DateTimeOffset.UtcNow);
    }

    public async Task StopAsync(TaskHandle handle, TimeSpan gracePeriod, CancellationToken ct)
    {
        if (!_processes.TryGetValue(handle.Id, out var process) || process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]))
        {
            await kill.WaitForExitAsync(ct);
        }

        using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
        grace.CancelAfter(gracePeriod);
        try
        {
            await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill();
            await process.WaitForExitAsync(ct);
        }
    }

    public Task DestroyAsync(TaskHandle handle, CancellationToken ct)
    {
        if (_processes.TryRemove(handle.Id, out var process))
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
        }

        return Task.CompletedTask;
    }

    public Task<TaskState> InspectAsync(TaskHandle handle, CancellationToken ct) =>
        Task.FromResult(_processes.TryGetValue(handle.Id, out var p)
            ? p.HasExited ? new TaskState(TaskPhase.Exited, new TaskExit(p.ExitCode, null, false, p.ExitTime.ToUniversalTime()), null) : new TaskState(TaskPhase.Running, null, p.Id)
            : new TaskState(TaskPhase.Unknown, null, null));

    public Task<TaskStats?> StatsAsync(TaskHandle handle, CancellationToken ct) => Task.FromResult<TaskStats?>(null);

    public Task<bool> RecoverAsync(TaskHandle handle, CancellationToken ct) => Task.FromResult(_processes.ContainsKey(handle.Id));

    public async Task<ExecResult> ExecAsync(TaskHandle handle, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill();
            return new ExecResult(-1, "", true);
        }

        return new ExecResult(process.ExitCode, await output, false);
    }

    /// <summary>Kills whatever is still running (test clean-up).</summary>
    public void KillAll()
    {
        foreach (var process in _processes.Values)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
