using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Verge.Agent.Images;

using Verge.Agent.Platform;

namespace Verge.Agent.Drivers.HostProcess;

/// <summary>
/// Runs a container's command as a plain host process, for devices without a container runtime (runtimeClassName
/// "process"). Each task runs under a small monitor shell in its own session: the monitor appends the task's output
/// to the log file, waits for it and writes its exit code to a file, so an agent restart loses neither the task nor
/// how it ended. The task itself runs in a session (and process group) of its own, which is what stop signals.
/// Memory, pids and cpu limits go through cgroup v1 when the agent runs as root, as a best effort.
/// See docs/runtime.md, "process driver".
/// </summary>
internal sealed partial class ProcessDriver : IWorkloadDriver
{
    public const string DriverName = "process";

    /// <summary>How much of an exec command's output is kept (kubelet keeps 10 KiB of a probe's output, too).</summary>
    internal const int MaxExecOutput = 10 * 1024;

    /// <summary>The task's state as its start wrote it (pids left out), in the task's directory: for adoption.</summary>
    private const string StateFile = "state.json";

    /// <summary>The monitor's pid, which the monitor writes first thing.</summary>
    private const string MonitorFile = "monitor";

    // The monitor. Everything that varies arrives as a positional argument, never as script text:
    // $1 log file, $2 task dir, $3 the inner script, $4 setsid, then the inner script's arguments.
    // It records its own pid, appends its own and the task's output to the log, starts the task in a new session,
    // records the task's pid, waits, and records the exit status (128+N when killed by signal N). Readers treat an
    // empty file as "not written yet", so no rename (an external command the task's PATH might not find) is needed.
    private const string MonitorScript = """
        log=$1 dir=$2 inner=$3 setsid=$4
        shift 4
        echo "$$" >"$dir/monitor"
        exec >>"$log" 2>&1 </dev/null
        "$setsid" "$0" -c "$inner" verge-task "$@" &
        child=$!
        echo "$child" >"$dir/pid"
        wait "$child"
        rc=$?
        echo "$rc" >"$dir/exit"
        """;

    // The task's first moments, in its own session: join the task's cgroups ($1 = how many cgroup.procs files
    // follow), then exec the command with the remaining arguments.
    private const string InnerScript = """
        n=$1
        shift
        while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 125; shift; n=$((n - 1)); done
        exec "$@"
        """;

    private static readonly string[] Controllers = ["memory", "pids", "cpu"];

    /// <summary>This boot's id (it cannot change while the agent runs).</summary>
    private static readonly string ThisBoot = HostProcesses.BootId();

    private readonly ProcessDriverOptions _options;

    // The monitors this agent started, by task id: a wait for their exit is a wait on the child (no polling). Tasks
    // recovered after an agent restart are not our children and are polled every ExitPollInterval.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Diagnostics.Process> _monitors = new(StringComparer.Ordinal);
    private readonly ILogger<ProcessDriver> _logger;
    private readonly TimeProvider _time;

    public ProcessDriver(ProcessDriverOptions options, ILogger<ProcessDriver> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger;
        _time = time;
    }

    public string Name => DriverName;

    public Task<DriverFingerprint> FingerprintAsync(CancellationToken ct)
    {
        foreach (var tool in new[] { _options.ShellPath, _options.SetsidPath })
        {
            if (!File.Exists(tool))
            {
                return Task.FromResult(new DriverFingerprint(false, $"{tool} is missing (apt-get install util-linux / dash)"));
            }
        }

        try
        {
            Directory.CreateDirectory(_options.StateDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(new DriverFingerprint(false, $"cannot create state directory {_options.StateDirectory}: {e.Message}"));
        }

        var limits = CgroupV1.Available(_options.CgroupRoot, "memory") && CgroupV1.Available(_options.CgroupRoot, "pids")
            ? "memory, pids and cpu limits through cgroup v1"
            : "no limits (needs root and cgroup v1 memory and pids hierarchies)";
        return Task.FromResult(new DriverFingerprint(true, $"host processes; {limits}"));
    }

    public Task<ImageInfo?> PullImageAsync(ImageRequest request, CancellationToken ct) => Task.FromResult<ImageInfo?>(null);

    public async Task<TaskHandle> StartAsync(TaskConfig config, CancellationToken ct)
    {
        TaskConfigChecks.Validate(config);
        var argv = (config.Command ?? []).Concat(config.Args ?? []).ToList();
        if (argv.Count == 0 || string.IsNullOrEmpty(argv[0]))
        {
            throw new DriverException(
                $"container {config.ContainerName}: the process driver runs host commands and has no image to supply one; set command (and args)",
                "CreateContainerConfigError");
        }

        CheckMounts(config);
        if (config.ReadOnlyRootFilesystem)
        {
            throw new DriverException(
                $"container {config.ContainerName}: the process driver cannot give a host process a read-only root file system",
                "CreateContainerConfigError");
        }

        CheckSecurity(config);
        var dir = Path.Combine(_options.StateDirectory, config.Id);
        if (Directory.Exists(dir))
        {
            if (await RunningAsync(dir, config.Id, ct) is { } pid)
            {
                // The id names the pod, the container and the instance: a task of this id still running is the one
                // being started, started by an agent that stopped before it recorded the task.
                return Adopt(config.Id, dir, pid)
                    ?? throw new DriverException($"task {config.Id} is already running (pid {pid})", "CreateContainerError");
            }

            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        var workingDir = config.WorkingDir ?? Path.Combine(dir, "work");
        if (config.WorkingDir is null)
        {
            Directory.CreateDirectory(workingDir);
        }
        else if (!Directory.Exists(config.WorkingDir))
        {
            Directory.Delete(dir, recursive: true);
            throw new DriverException(
                $"working directory {config.WorkingDir} does not exist on this host (the process driver runs in the host's file system)",
                "CreateContainerConfigError");
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["PATH"] = _options.DefaultPath };
        foreach (var (key, value) in config.Env)
        {
            env[key] = value;
        }

        string[] cgroupProcs;
        string? memoryCgroup = null, pidsCgroup = null, cpuCgroup = null;
        List<string>? wrapper;
        string executable;
        try
        {
            argv[0] = executable = ResolveExecutable(argv[0], env["PATH"], workingDir);
            wrapper = WrapperCommand(config);
            if (wrapper is not null)
            {
                argv = [.. wrapper, .. argv];
            }

            (memoryCgroup, pidsCgroup, cpuCgroup) = CreateCgroups(config);
            cgroupProcs = new[] { memoryCgroup, pidsCgroup, cpuCgroup }.OfType<string>().Select(d => Path.Combine(d, "cgroup.procs")).ToArray();
            var logDir = Path.GetDirectoryName(Path.GetFullPath(config.LogPath));
            if (logDir is not null)
            {
                Directory.CreateDirectory(logDir);
            }
        }
        catch (Exception e) when (e is DriverException or IOException or UnauthorizedAccessException)
        {
            // A limit that failed to apply may have left its cgroup behind: remove every one this task could have.
            await RemoveCgroupsAsync(ct, [.. Controllers.Select(c => Path.Combine(_options.CgroupRoot, c, _options.CgroupParent, config.Id))]);
            Directory.Delete(dir, recursive: true);
            throw e as DriverException ?? new DriverException($"cannot prepare task {config.Id}: {e.Message}", e, "CreateContainerError");
        }

        var state = new ProcessTaskState
        {
            Directory = dir,
            Pid = 0,
            PidStartTicks = 0,
            MonitorPid = 0,
            MonitorStartTicks = 0,
            BootId = ThisBoot,
            WorkingDir = workingDir,
            Env = env,
            MemoryCgroup = memoryCgroup,
            PidsCgroup = pidsCgroup,
            CpuCgroup = cpuCgroup,
            Wrapper = wrapper,
        };

        // What a later agent needs to adopt the task should this one stop before it returns the handle (the pids
        // come from the monitor's files then). Only the agent's user may read it: the environment may hold values
        // from Secrets.
        var stateOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            stateOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            // Written synchronously (a few hundred bytes): the start reaches the monitor's launch without yielding.
            using var file = new FileStream(Path.Combine(dir, StateFile), stateOptions);
            file.Write(System.Text.Encoding.UTF8.GetBytes(state.ToJson()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await RemoveCgroupsAsync(ct, memoryCgroup, pidsCgroup, cpuCgroup);
            Directory.Delete(dir, recursive: true);
            throw new DriverException($"cannot prepare task {config.Id}: {e.Message}", e, "CreateContainerError");
        }

        var startInfo = new ProcessStartInfo(_options.SetsidPath)
        {
            UseShellExecute = false,
            WorkingDirectory = workingDir,
        };
        startInfo.Environment.Clear();
        foreach (var (key, value) in env)
        {
            startInfo.Environment[key] = value;
        }

        foreach (var arg in new[] { _options.ShellPath, "-c", MonitorScript, _options.ShellPath, Path.GetFullPath(config.LogPath), dir, InnerScript, _options.SetsidPath })
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.ArgumentList.Add(cgroupProcs.Length.ToString(CultureInfo.InvariantCulture));
        foreach (var arg in cgroupProcs.Concat(argv))
        {
            startInfo.ArgumentList.Add(arg);
        }

        int monitorPid;
        long monitorTicks;
        System.Diagnostics.Process monitor;
        try
        {
            // setsid execs the shell in place (a child of the agent is never a group leader), so this pid is the
            // monitor's. The Process object is kept, so that WaitAsync waits on the child instead of polling.
            monitor = System.Diagnostics.Process.Start(startInfo)
                ?? throw new DriverException($"cannot start the monitor of task {config.Id}");
            monitorPid = monitor.Id;
            monitorTicks = HostProcesses.StartTicks(monitorPid) ?? 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            await RemoveCgroupsAsync(ct, memoryCgroup, pidsCgroup, cpuCgroup);
            Directory.Delete(dir, recursive: true);
            throw new DriverException($"cannot start task {config.Id}: {e.Message}", e);
        }

        int taskPid;
        try
        {
            taskPid = await WaitForPidAsync(dir, monitorPid, monitorTicks, config.Id, ct);
        }
        catch (Exception e) when (e is DriverException or OperationCanceledException)
        {
            // A start that does not complete leaves nothing running: neither the monitor nor the task, should the
            // monitor have started it meanwhile (the pid file is final once the monitor has gone).
            await KillMonitorAsync(monitor);
            if (ReadPid(dir) is { } started && StartedBefore(started, Path.Combine(dir, "pid")))
            {
                HostProcesses.SignalGroup(started, HostProcesses.SigKill);
            }

            monitor.Dispose();
            await RemoveCgroupsAsync(CancellationToken.None, memoryCgroup, pidsCgroup, cpuCgroup);
            Directory.Delete(dir, recursive: true);
            throw;
        }

        if (_monitors.TryGetValue(config.Id, out var replaced))
        {
            replaced.Dispose();
        }

        _monitors[config.Id] = monitor;
        state = state with
        {
            Pid = taskPid,
            PidStartTicks = HostProcesses.StartTicks(taskPid) ?? 0,
            MonitorPid = monitorPid,
            MonitorStartTicks = monitorTicks,
        };
        LogStarted(config.Id, taskPid, executable);
        return new TaskHandle(DriverName, config.Id, state.ToJson(), _time.GetUtcNow());
    }

    /// <summary>
    /// The pid of the task a monitor in <paramref name="dir"/> started and that still runs, or null. A monitor that is
    /// alive but has not written the task's pid yet is waited for: a start now would run the task twice.
    /// </summary>
    private async Task<int?> RunningAsync(string dir, string id, CancellationToken ct)
    {
        var exit = Path.Combine(dir, "exit");
        var monitorFile = Path.Combine(dir, MonitorFile);
        if (ReadPid(dir) is null && !File.Exists(exit) && ReadNumber(monitorFile) is { } monitor
            && StartedBefore((int)monitor, monitorFile) && HostProcesses.StartTicks((int)monitor) is { } ticks)
        {
            await WaitForPidAsync(dir, (int)monitor, ticks, id, ct);
        }

        return ReadPid(dir) is { } pid && !File.Exists(exit) && StartedBefore(pid, Path.Combine(dir, "pid")) ? pid : null;
    }

    /// <summary>
    /// A handle for the running task <paramref name="pid"/> of <paramref name="dir"/>, from the state its start wrote
    /// and the monitor's pid file; null for a task started by a driver from before those files.
    /// </summary>
    private TaskHandle? Adopt(string id, string dir, int pid)
    {
        var stateFile = Path.Combine(dir, StateFile);
        if (!File.Exists(stateFile) || ReadNumber(Path.Combine(dir, MonitorFile)) is not { } monitor)
        {
            return null;
        }

        var written = ProcessTaskState.Parse(new TaskHandle(DriverName, id, File.ReadAllText(stateFile), _time.GetUtcNow()));
        var state = written with
        {
            Pid = pid,
            PidStartTicks = HostProcesses.StartTicks(pid) ?? 0,
            MonitorPid = (int)monitor,
            MonitorStartTicks = HostProcesses.StartTicks((int)monitor) ?? 0,
        };
        LogAdopted(id, pid);
        return new TaskHandle(DriverName, id, state.ToJson(), _time.GetUtcNow());
    }

    public async Task<TaskExit> WaitAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ProcessTaskState.Parse(handle);
        if (_monitors.TryGetValue(handle.Id, out var monitor))
        {
            // Our child: its end is signalled (the monitor writes the exit file before it ends). Not disposed here:
            // a concurrent WaitAsync (StopAsync waits too) may still be awaiting it; DestroyAsync disposes it.
            await monitor.WaitForExitAsync(ct);
        }

        while (true)
        {
            if (ReadExit(state) is { } exit)
            {
                return exit;
            }

            if (!Directory.Exists(state.Directory))
            {
                throw new DriverException($"task {handle.Id} does not exist (destroyed)");
            }

            if (!MonitorAlive(state) && !TaskAlive(state))
            {
                // The monitor writes the exit file before it ends: look once more, then call the status lost.
                return ReadExit(state) ?? LostExit(state);
            }

            await Task.Delay(_options.ExitPollInterval, _time, ct);
        }
    }

    public async Task StopAsync(TaskHandle handle, TimeSpan gracePeriod, CancellationToken ct)
    {
        var state = ProcessTaskState.Parse(handle);
        if (IsFinished(state))
        {
            KillLeftovers(state);
            return;
        }

        LogStopping(handle.Id, gracePeriod);
        if (TaskAlive(state))
        {
            HostProcesses.SignalGroup(state.Pid, HostProcesses.SigTerm);
        }

        var deadline = _time.GetUtcNow() + gracePeriod;
        while (!IsFinished(state) && _time.GetUtcNow() < deadline)
        {
            await Task.Delay(_options.PollInterval, _time, ct);
        }

        if (!IsFinished(state))
        {
            LogKilling(handle.Id);
            if (TaskAlive(state))
            {
                HostProcesses.SignalGroup(state.Pid, HostProcesses.SigKill);
            }
        }

        await WaitAsync(handle, ct);

        // As a container's processes end with it, so do the task's: whatever it started and left running goes too.
        KillLeftovers(state);
    }

    public async Task DestroyAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ProcessTaskState.Parse(handle);
        if (_monitors.TryRemove(handle.Id, out var monitor))
        {
            monitor.Dispose();
        }

        if (TaskAlive(state))
        {
            HostProcesses.SignalGroup(state.Pid, HostProcesses.SigKill);
        }

        KillLeftovers(state);

        // Let the monitor record the exit before its directory goes, or it would complain into the task's log.
        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (MonitorAlive(state) && _time.GetUtcNow() < deadline)
        {
            await Task.Delay(_options.PollInterval, _time, ct);
        }

        await RemoveCgroupsAsync(ct, state.MemoryCgroup, state.PidsCgroup, state.CpuCgroup);
        if (Directory.Exists(state.Directory))
        {
            Directory.Delete(state.Directory, recursive: true);
        }

        LogDestroyed(handle.Id);
    }

    public Task<TaskState> InspectAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ProcessTaskState.Parse(handle);
        if (!Directory.Exists(state.Directory) || state.BootId != ThisBoot)
        {
            return Task.FromResult(new TaskState(TaskPhase.Unknown, null, null));
        }

        if (ReadExit(state) is { } exit)
        {
            return Task.FromResult(new TaskState(TaskPhase.Exited, exit, null));
        }

        if (TaskAlive(state) || MonitorAlive(state))
        {
            return Task.FromResult(new TaskState(TaskPhase.Running, null, state.Pid));
        }

        return Task.FromResult(new TaskState(TaskPhase.Exited, ReadExit(state) ?? LostExit(state), null));
    }

    public Task<TaskStats?> StatsAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ProcessTaskState.Parse(handle);
        if (!TaskAlive(state))
        {
            return Task.FromResult<TaskStats?>(null);
        }

        var memory = state.MemoryCgroup is { } cgroup ? CgroupV1.MemoryUsage(cgroup) : HostProcesses.ResidentBytes(state.Pid);
        return Task.FromResult<TaskStats?>(new TaskStats(memory, HostProcesses.CpuSeconds(state.Pid)));
    }

    public Task<bool> RecoverAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ProcessTaskState.Parse(handle);
        var known = Directory.Exists(state.Directory)
            && state.BootId == ThisBoot
            && (ReadExit(state) is not null
                || TaskAlive(state)
                || MonitorAlive(state));
        LogRecovered(handle.Id, known);
        return Task.FromResult(known);
    }

    public async Task<ExecResult> ExecAsync(TaskHandle handle, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        var state = ProcessTaskState.Parse(handle);
        if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
        {
            throw new DriverException("exec needs a command");
        }

        if (!TaskAlive(state))
        {
            throw new DriverException($"task {handle.Id} is not running");
        }

        string executable;
        try
        {
            executable = ResolveExecutable(command[0], state.Env.GetValueOrDefault("PATH", _options.DefaultPath), state.WorkingDir);
        }
        catch (DriverException e)
        {
            return new ExecResult(127, e.Message, TimedOut: false);
        }

        // In a session of its own, so a timeout kills the command and everything it started.
        var startInfo = ExecStartInfo(state, executable, command);
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.RedirectStandardInput = true;
        using var process = System.Diagnostics.Process.Start(startInfo) ?? throw new DriverException("cannot start the exec command");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var stdout = CopyAsync(process.StandardOutput, output);
        var stderr = CopyAsync(process.StandardError, output);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            timedOut = true;
        }
        finally
        {
            // On a timeout the command, and in any case whatever it left in its group (which would otherwise hold
            // the output pipes open).
            HostProcesses.SignalGroup(process.Id, HostProcesses.SigKill);
        }

        await process.WaitForExitAsync(CancellationToken.None);
        try
        {
            await Task.WhenAll(stdout, stderr).WaitAsync(TimeSpan.FromSeconds(5), _time, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            // Something outside the group holds the pipes; the output read so far is the answer.
        }

        lock (output)
        {
            return new ExecResult(timedOut ? 137 : process.ExitCode, output.ToString(), timedOut);
        }
    }

    /// <summary>
    /// Runs <paramref name="executable"/> (resolved from <paramref name="command"/>'s first word) as the task does: in a
    /// session of its own, with the task's environment and working directory, joined to its cgroups, under its wrappers.
    /// </summary>
    private ProcessStartInfo ExecStartInfo(ProcessTaskState state, string executable, IReadOnlyList<string> command)
    {
        var startInfo = new ProcessStartInfo(_options.SetsidPath)
        {
            UseShellExecute = false,
            WorkingDirectory = state.WorkingDir,
        };
        startInfo.Environment.Clear();
        foreach (var (key, value) in state.Env)
        {
            startInfo.Environment[key] = value;
        }

        // Through the task's first-moments script: the command joins the task's cgroups, then runs under its wrappers.
        var cgroupProcs = new[] { state.MemoryCgroup, state.PidsCgroup, state.CpuCgroup }.OfType<string>().Select(d => Path.Combine(d, "cgroup.procs")).ToList();
        foreach (var arg in new[] { _options.ShellPath, "-c", InnerScript, "verge-exec", cgroupProcs.Count.ToString(CultureInfo.InvariantCulture) })
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var arg in cgroupProcs.Concat(state.Wrapper ?? []))
        {
            startInfo.ArgumentList.Add(arg);
        }

        startInfo.ArgumentList.Add(executable);
        foreach (var arg in command.Skip(1))
        {
            startInfo.ArgumentList.Add(arg);
        }

        return startInfo;
    }

    public Task<IExecProcess> StartExecAsync(TaskHandle handle, InteractiveExec request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var state = ProcessTaskState.Parse(handle);
        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
        {
            throw new DriverException("exec needs a command");
        }

        if (!TaskAlive(state))
        {
            throw new DriverException($"task {handle.Id} is not running");
        }

        var executable = ResolveExecutable(request.Command[0], state.Env.GetValueOrDefault("PATH", _options.DefaultPath), state.WorkingDir);
        return Task.FromResult(ExecLauncher.Start(ExecStartInfo(state, executable, request.Command), request, pid => HostProcesses.SignalGroup(pid, HostProcesses.SigKill)));
    }

    /// <summary>
    /// Reads a command's output to its end, keeping at most <see cref="MaxExecOutput"/> characters of it: a probe that
    /// writes without end must not fill the agent's memory, nor block on a pipe nobody reads.
    /// </summary>
    private static async Task CopyAsync(StreamReader reader, StringBuilder output)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            lock (output)
            {
                output.Append(buffer, 0, Math.Clamp(MaxExecOutput - output.Length, 0, read));
            }
        }
    }

    /// <summary>
    /// A host process sees the host's file system as it is: it cannot have a directory appear at another path. A
    /// mount is accepted only when it needs no remapping (host path and container path are the same) and asks for no
    /// protection the driver cannot give (read-only); anything else is refused rather than silently ignored.
    /// </summary>
    private static void CheckMounts(TaskConfig config)
    {
        foreach (var mount in config.Mounts)
        {
            var host = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mount.HostPath));
            var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mount.ContainerPath));
            if (host != target)
            {
                throw new DriverException(
                    $"container {config.ContainerName}: the process driver cannot mount {mount.HostPath} at {mount.ContainerPath}; " +
                    "host processes see host paths only, so use a hostPath volume whose mountPath equals its path",
                    "CreateContainerConfigError");
            }

            if (mount.ReadOnly)
            {
                throw new DriverException(
                    $"container {config.ContainerName}: the process driver cannot make {mount.ContainerPath} read-only for a host process",
                    "CreateContainerConfigError");
            }
        }
    }

    private static string ResolveExecutable(string name, string path, string workingDir)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(name, workingDir);
            return IsExecutable(full) ? full : throw new DriverException($"exec: \"{name}\": no such executable file", "RunContainerError");
        }

        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(Path.GetFullPath(dir, workingDir), name);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        throw new DriverException($"exec: \"{name}\": executable file not found in $PATH ({path})", "RunContainerError");
    }

    private static bool IsExecutable(string file) =>
        !OperatingSystem.IsWindows()
        && File.Exists(file)
        && (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    /// <summary>
    /// What of the security context a host process can honour. runAsNonRoot is checked against the uid the process
    /// would run as (runAsUser, else the agent's); allowPrivilegeEscalation false becomes setpriv --no-new-privs.
    /// Restrictions a host process cannot be given (capabilities, seccomp, sysctls, its own hosts and DNS files) are
    /// refused rather than ignored;
    /// privileged is ignored, since a host process is not confined to begin with.
    /// </summary>
    private static void CheckSecurity(TaskConfig config)
    {
        var security = config.Security;
        TaskSecurityChecks.VerifyRunAsNonRoot(config, HostEnvironment.EffectiveUid(), null);
        if (security.AddCapabilities.Count > 0 || security.DropCapabilities.Count > 0)
        {
            throw new DriverException(
                $"container {config.ContainerName}: the process driver cannot add or drop capabilities of a host process (securityContext.capabilities)",
                "CreateContainerConfigError");
        }

        if (security.Seccomp != SeccompMode.Unconfined)
        {
            throw new DriverException(
                $"container {config.ContainerName}: the process driver cannot apply seccomp profile {security.Seccomp} to a host process; use Unconfined or the runc driver",
                "CreateContainerConfigError");
        }

        if (security.Sysctls.Count > 0)
        {
            throw new DriverException(
                $"container {config.ContainerName}: the process driver cannot set sysctls: a host process shares the host's kernel settings",
                "CreateContainerConfigError");
        }

        if (config.AsksForOwnHostsOrDns)
        {
            throw new DriverException(
                $"container {config.ContainerName}: the process driver cannot apply hostAliases, dnsPolicy None or dnsConfig: a host process reads the host's /etc/hosts and /etc/resolv.conf",
                "CreateContainerConfigError");
        }
    }

    /// <summary>
    /// The commands the task runs under, or null: nsenter into the pod's network namespace, then setpriv to the
    /// task's user and group and no_new_privs (in that order: entering a namespace needs root).
    /// </summary>
    private List<string>? WrapperCommand(TaskConfig config)
    {
        var wrapped = new List<string>();
        if (config.NetworkNamespacePath is { } netns)
        {
            if (!HostProcesses.IsRoot || !File.Exists(_options.NsenterPath))
            {
                throw new DriverException(
                    $"a pod network namespace needs the agent to run as root and {_options.NsenterPath} (apt-get install util-linux)",
                    "CreateContainerConfigError");
            }

            if (!File.Exists(netns))
            {
                throw new DriverException($"the pod's network namespace {netns} does not exist", "CreateContainerError");
            }

            wrapped.AddRange([_options.NsenterPath, "--net=" + netns, "--"]);
        }

        var changesUser = config.RunAsUser is not null || config.RunAsGroup is not null || config.SupplementalGroups.Count > 0;
        var noNewPrivileges = config.Security.NoNewPrivileges;
        if (!changesUser && !noNewPrivileges)
        {
            return wrapped.Count == 0 ? null : wrapped;
        }

        if (changesUser && !HostProcesses.IsRoot)
        {
            throw new DriverException("runAsUser / runAsGroup / fsGroup / supplementalGroups need the agent to run as root with the process driver", "CreateContainerConfigError");
        }

        if (!File.Exists(_options.SetprivPath))
        {
            throw new DriverException($"runAsUser / runAsGroup and allowPrivilegeEscalation: false need {_options.SetprivPath} (apt-get install util-linux)", "CreateContainerConfigError");
        }

        wrapped.Add(_options.SetprivPath);
        if (noNewPrivileges)
        {
            wrapped.Add("--no-new-privs");
        }

        if (!changesUser)
        {
            wrapped.Add("--");
            return wrapped;
        }

        if (config.RunAsUser is { } uid)
        {
            wrapped.Add(string.Create(CultureInfo.InvariantCulture, $"--reuid={uid}"));
        }

        if (config.RunAsGroup is { } gid)
        {
            wrapped.Add(string.Create(CultureInfo.InvariantCulture, $"--regid={gid}"));
        }

        // The pod's fsGroup and supplementalGroups, as the kubelet gives every container; no others.
        wrapped.Add(config.SupplementalGroups.Count > 0
            ? "--groups=" + string.Join(',', config.SupplementalGroups.Select(g => g.ToString(CultureInfo.InvariantCulture)))
            : "--clear-groups");
        wrapped.Add("--");
        return wrapped;
    }

    private (string? Memory, string? Pids, string? Cpu) CreateCgroups(TaskConfig config)
    {
        string? memory = null, pids = null, cpu = null;
        if (config.Resources.MemoryLimitBytes is { } bytes)
        {
            if (CgroupV1.Available(_options.CgroupRoot, "memory"))
            {
                memory = CgroupV1.Create(_options.CgroupRoot, "memory", _options.CgroupParent, config.Id);
                CgroupV1.SetMemoryLimit(memory, bytes);
            }
            else
            {
                LogLimitUnenforced(config.Id, "memory");
            }
        }

        if (config.Resources.PidsLimit is { } max)
        {
            if (CgroupV1.Available(_options.CgroupRoot, "pids"))
            {
                pids = CgroupV1.Create(_options.CgroupRoot, "pids", _options.CgroupParent, config.Id);
                CgroupV1.SetPidsLimit(pids, max);
            }
            else
            {
                LogLimitUnenforced(config.Id, "pids");
            }
        }

        if (config.Resources.CpuLimitMillis is not null || config.Resources.CpuRequestMillis is not null)
        {
            if (CgroupV1.Available(_options.CgroupRoot, "cpu"))
            {
                cpu = CgroupV1.Create(_options.CgroupRoot, "cpu", _options.CgroupParent, config.Id);
                if (config.Resources.CpuLimitMillis is { } limit)
                {
                    CgroupV1.SetCpuQuota(cpu, limit);
                }

                if (config.Resources.CpuRequestMillis is { } request)
                {
                    CgroupV1.SetCpuShares(cpu, request);
                }
            }
            else
            {
                LogLimitUnenforced(config.Id, "cpu");
            }
        }

        return (memory, pids, cpu);
    }

    private async Task RemoveCgroupsAsync(CancellationToken ct, params string?[] dirs)
    {
        foreach (var dir in dirs)
        {
            if (dir is not null)
            {
                await CgroupV1.RemoveAsync(dir, _time, ct);
            }
        }
    }

    private async Task<int> WaitForPidAsync(string dir, int monitorPid, long monitorTicks, string id, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + _options.StartTimeout;
        while (true)
        {
            if (ReadPid(dir) is { } pid)
            {
                return pid;
            }

            if (!HostProcesses.IsAlive(monitorPid, monitorTicks) && ReadPid(dir) is null)
            {
                throw new DriverException($"task {id} did not start: its monitor ended before starting it (see the task's log)");
            }

            if (_time.GetUtcNow() > deadline)
            {
                throw new DriverException($"task {id} did not start within {_options.StartTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(_options.PollInterval, _time, ct);
        }
    }

    /// <summary>Kills the monitor this driver just started (with its process group) and waits for it to end.</summary>
    private async Task KillMonitorAsync(System.Diagnostics.Process monitor)
    {
        if (monitor.HasExited)
        {
            return;
        }

        // The monitor is our child, so its pid cannot name another process until it has been reaped.
        HostProcesses.SignalGroup(monitor.Id, HostProcesses.SigKill);
        try
        {
            await monitor.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), _time);
        }
        catch (TimeoutException)
        {
            // SIGKILL cannot be ignored; a process stuck in the kernel ends when it leaves it.
        }
    }

    /// <summary>SIGKILL to every process still in the task's session (children that outlived the task).</summary>
    private static void KillLeftovers(ProcessTaskState state)
    {
        if (state.PidStartTicks > 0 && state.BootId == ThisBoot)
        {
            HostProcesses.SignalSession(state.Pid, state.PidStartTicks, HostProcesses.SigKill);
        }
    }

    /// <summary>
    /// Whether the handle's task is alive: its pid names the process started at its start time, in the boot it was
    /// started in. After a reboot pids start over, and an early process of the new boot can have the pid and the
    /// start time (clock ticks since boot) a task of the previous boot had; without the boot id it would be signalled
    /// and waited for in the task's place.
    /// </summary>
    private static bool TaskAlive(ProcessTaskState state) => state.BootId == ThisBoot && HostProcesses.IsAlive(state.Pid, state.PidStartTicks);

    /// <summary>Whether the handle's monitor is alive (in the same sense as <see cref="TaskAlive"/>).</summary>
    private static bool MonitorAlive(ProcessTaskState state) => state.BootId == ThisBoot && HostProcesses.IsAlive(state.MonitorPid, state.MonitorStartTicks);

    /// <summary>
    /// Whether <paramref name="pid"/>, read from a pid file a monitor left, can be that monitor's task: a task starts
    /// before its monitor writes the file, so a process that started later (after a reboot, or once the task ended and
    /// its pid was reused) is another process.
    /// </summary>
    private static bool StartedBefore(int pid, string pidFile) =>
        HostProcesses.StartTime(pid) is { } started && started <= new DateTimeOffset(File.GetLastWriteTimeUtc(pidFile), TimeSpan.Zero);

    private static int? ReadPid(string dir) => ReadNumber(Path.Combine(dir, "pid")) is { } pid ? (int)pid : null;

    private static long? ReadNumber(string file)
    {
        try
        {
            var text = File.ReadAllText(file).Trim();
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsFinished(ProcessTaskState state) =>
        ReadExit(state) is not null
        || !Directory.Exists(state.Directory)
        || (!MonitorAlive(state) && !TaskAlive(state));

    private static TaskExit? ReadExit(ProcessTaskState state)
    {
        var file = Path.Combine(state.Directory, "exit");
        if (ReadNumber(file) is not { } status)
        {
            return null;
        }

        var code = (int)status;
        int? signal = code is > 128 and < 128 + 65 ? code - 128 : null;
        var oom = state.MemoryCgroup is { } cgroup && CgroupV1.OomKills(cgroup) > 0 && signal == HostProcesses.SigKill;
        var finished = new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero);
        return new TaskExit(code, signal, oom, finished, oom ? "the task exceeded its memory limit" : null);
    }

    private TaskExit LostExit(ProcessTaskState state) =>
        new(137, null, false, _time.GetUtcNow(), $"the monitor of pid {state.Pid} ended without recording an exit status");

    [LoggerMessage(EventId = 5401, Level = LogLevel.Information, Message = "Process task {Id} started as pid {Pid} ({Executable})")]
    private partial void LogStarted(string id, int pid, string executable);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Information, Message = "Stopping process task {Id} (grace period {GracePeriod})")]
    private partial void LogStopping(string id, TimeSpan gracePeriod);

    [LoggerMessage(EventId = 5403, Level = LogLevel.Warning, Message = "Process task {Id} outlived its grace period; killing it")]
    private partial void LogKilling(string id);

    [LoggerMessage(EventId = 5404, Level = LogLevel.Information, Message = "Process task {Id} destroyed")]
    private partial void LogDestroyed(string id);

    [LoggerMessage(EventId = 5405, Level = LogLevel.Information, Message = "Process task {Id} recovered: {Found}")]
    private partial void LogRecovered(string id, bool found);

    [LoggerMessage(EventId = 5406, Level = LogLevel.Warning, Message = "Process task {Id}: the {Resource} limit is not enforced here (needs root and cgroup v1)")]
    private partial void LogLimitUnenforced(string id, string resource);

    [LoggerMessage(EventId = 5407, Level = LogLevel.Warning, Message = "Process task {Id} is already running as pid {Pid}, started by an agent that stopped before recording it; adopting it")]
    private partial void LogAdopted(string id, int pid);
}
