using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Verge.Agent.Images;
using Verge.Agent.Platform;
using Verge.Core.Core;

namespace Verge.Agent.Drivers.Runc;

/// <summary>
/// Runs each task as an OCI container under runc. Every container has a monitor ("shim"): a detached
/// <c>/bin/sh</c> in its own session that runs <c>runc run --keep</c> in the foreground and writes runc's exit
/// status to a file in the bundle. The exit status therefore survives the agent: a restarted agent finds the
/// container through <c>runc state</c> or its exit file, never restarts it, and still learns how it ended.
/// See docs/runtime.md, "runc driver".
/// </summary>
internal sealed partial class RuncDriver : IWorkloadDriver, IResolvConfWriter
{
    private const string ShimScript =
        "exec >>\"$1\" 2>&1 </dev/null\n" +
        "\"$2\" --root \"$3\" --log \"$4\" --log-format json run --keep --pid-file \"$5\" --bundle \"$6\" \"$7\"\n" +
        "echo $? >\"$8.tmp\" && mv \"$8.tmp\" \"$8\"\n";

    private readonly RuncDriverOptions _options;
    private readonly IImageStore _images;
    private readonly ILogger<RuncDriver> _logger;
    private readonly TimeProvider _time;
    private readonly string _stateDir;
    private readonly string _bundlesDir;
    private readonly ConcurrentDictionary<string, Process> _shims = new(StringComparer.Ordinal);

    public RuncDriver(RuncDriverOptions options, IImageStore images, ILogger<RuncDriver> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _images = images;
        _logger = logger;
        _time = time;
        _stateDir = Path.Combine(options.Root, "state");
        _bundlesDir = Path.Combine(options.Root, "bundles");
    }

    public string Name => "runc";

    public async Task<DriverFingerprint> FingerprintAsync(CancellationToken ct)
    {
        if (!HostEnvironment.IsRoot())
        {
            return new DriverFingerprint(false, "the runc driver needs the agent to run as root");
        }

        CommandResult version;
        try
        {
            version = await CommandRunner.RunAsync(_options.RuncPath, ["--version"], _options.CommandTimeout, ct);
        }
        catch (InvalidOperationException e)
        {
            return new DriverFingerprint(false, $"{e.Message} (install the runc package)");
        }

        if (version.ExitCode != 0)
        {
            return new DriverFingerprint(false, $"'{_options.RuncPath} --version' failed: {version.Diagnostic}");
        }

        foreach (var (tool, package) in new[] { ("/bin/sh", "dash"), ("setsid", "util-linux"), ("mount", "mount") })
        {
            if (HostEnvironment.FindTool(tool) is null)
            {
                return new DriverFingerprint(false, $"'{tool}' is missing (install {package})");
            }
        }

        var memory = CgroupPaths.MemoryControllerAvailable();
        if (memory is not null)
        {
            return new DriverFingerprint(false, memory);
        }

        var firstLine = version.Stdout.Split('\n')[0].Trim();
        return new DriverFingerprint(true, $"{firstLine}; cgroup {(CgroupPaths.IsUnified() ? "v2" : "v1")}");
    }

    public async Task<ImageInfo?> PullImageAsync(ImageRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await _images.PullAsync(request.Reference, request.Policy, request.Credentials, ct);
    }

    public async Task<TaskHandle> StartAsync(TaskConfig config, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!ValidId().IsMatch(config.Id))
        {
            throw new DriverException($"task id '{config.Id}' is not a valid container id (letters, digits, '_', '-', '.'; at most 128)", "CreateContainerConfigError");
        }

        var image = config.Image
            ?? (config.ImageReference is { } reference ? _images.Find(reference) : null)
            ?? throw new DriverException("the runc driver needs an image, and none was pulled", "CreateContainerConfigError");
        if (!Path.IsPathRooted(config.LogPath))
        {
            throw new DriverException($"log path must be absolute, got '{config.LogPath}'", "CreateContainerConfigError");
        }

        var bundle = Path.Combine(_bundlesDir, config.Id);
        if (Directory.Exists(bundle))
        {
            if (await QueryStateAsync(config.Id, ct) is { Status: not "stopped" })
            {
                // Started by an agent that stopped before it recorded the task (killed between the start and its
                // local state): the id names the same pod, container and instance, so that container is this task.
                return await AdoptAsync(config.Id, bundle, ct)
                    ?? throw new DriverException($"a container with id {config.Id} already exists", "CreateContainerError");
            }

            // Left over from a start that was interrupted: clear it and start afresh.
            await RemoveAsync(config.Id, bundle, overlayMaybeMounted: true, ct);
        }

        var imageRootfs = await _images.GetRootfsAsync(image, ct);
        var stopSignal = NormalizeSignal(image.Config.StopSignal) ?? "TERM";

        // The spec first: a bad config fails before anything is mounted or written.
        var rootfs = Path.Combine(bundle, "rootfs");
        var etc = Path.Combine(bundle, "etc");
        var cgroupsPath = CgroupPaths.Join(_options.CgroupParent, config.Id);
        var spec = RuncSpecBuilder.Build(config, image.Config, imageRootfs, rootfs, etc, cgroupsPath);
        Directory.CreateDirectory(_stateDir);
        Directory.CreateDirectory(bundle);
        try
        {
            var overlay = await PrepareRootfsAsync(config.Id, imageRootfs, bundle, rootfs, ct);
            await WriteEtcFilesAsync(etc, config, ct);
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), JsonSerializer.Serialize(spec, RuncJsonContext.Default.OciSpec), ct);

            var logDir = Path.GetDirectoryName(config.LogPath);
            if (!string.IsNullOrEmpty(logDir))
            {
                Directory.CreateDirectory(logDir);
            }

            var exitFile = Path.Combine(bundle, "exit");
            var pidFile = Path.Combine(bundle, "pid");
            var shim = StartShim(config.Id, config.LogPath, bundle, pidFile, exitFile);
            var state = new RuncTaskState
            {
                RuncId = config.Id,
                Bundle = bundle,
                ShimPid = shim.Id,
                ShimStartTicks = ProcessStartTicks(shim.Id) ?? 0,
                ExitFile = exitFile,
                LogPath = config.LogPath,
                OverlayMounted = overlay,
                StopSignal = stopSignal,
                Cgroups = CgroupPaths.Resolve(cgroupsPath),
            };
            await File.WriteAllTextAsync(Path.Combine(bundle, "handle.json"), JsonSerializer.Serialize(state, RuncJsonContext.Default.RuncTaskState), ct);

            await WaitUntilStartedAsync(state, shim, pidFile, ct);
            var handle = new TaskHandle(Name, config.Id, JsonSerializer.Serialize(state, RuncJsonContext.Default.RuncTaskState), _time.GetUtcNow());
            LogStarted(config.Id, shim.Id, overlay);
            return handle;
        }
        catch (Exception e)
        {
            try
            {
                await RemoveAsync(config.Id, bundle, overlayMaybeMounted: true, CancellationToken.None);
            }
            catch (Exception cleanup) when (cleanup is DriverException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                LogCleanupFailed(config.Id, cleanup.Message);
            }

            if (e is DriverException or OperationCanceledException)
            {
                throw;
            }

            throw new DriverException($"cannot create container {config.Id}: {e.Message}", e, "CreateContainerError");
        }
    }

    /// <summary>The handle of a live container this driver started under <paramref name="id"/>, from its bundle; null if none.</summary>
    private async Task<TaskHandle?> AdoptAsync(string id, string bundle, CancellationToken ct)
    {
        // The file holds the task's state as StartAsync put it in the handle.
        var path = Path.Combine(bundle, "handle.json");
        string json;
        try
        {
            json = await File.ReadAllTextAsync(path, ct);
            if (JsonSerializer.Deserialize(json, RuncJsonContext.Default.RuncTaskState)?.RuncId != id)
            {
                return null;
            }
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }

        var handle = new TaskHandle(Name, id, json, new DateTimeOffset(File.GetLastWriteTimeUtc(path)));
        if (!await RecoverAsync(handle, ct))
        {
            return null;
        }

        LogAdopted(id);
        return handle;
    }

    public async Task<TaskExit> WaitAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ParseState(handle);
        if (_shims.TryGetValue(state.RuncId, out var shim))
        {
            // Not disposed here: a concurrent WaitAsync (StopAsync waits too) may still be awaiting it.
            await shim.WaitForExitAsync(ct);
            _shims.TryRemove(state.RuncId, out _);
        }

        while (true)
        {
            if (ReadExit(state) is { } exit)
            {
                return exit;
            }

            if (!IsShimAlive(state))
            {
                // The monitor is gone without writing an exit status: the file may have landed just now.
                if (ReadExit(state) is { } late)
                {
                    return late;
                }

                if (await QueryStateAsync(state.RuncId, ct) is not { Status: "running" or "paused" or "created" })
                {
                    LogExitLost(state.RuncId);
                    return RecordExit(state, new RecordedExit(255, ReadOomKilled(state), _time.GetUtcNow()), "the exit status was lost: the task's monitor process died");
                }
            }

            await Task.Delay(_options.ExitPollInterval, _time, ct);
        }
    }

    public async Task StopAsync(TaskHandle handle, TimeSpan gracePeriod, CancellationToken ct)
    {
        var state = ParseState(handle);
        if (ReadExit(state) is not null || !Directory.Exists(state.Bundle))
        {
            return;
        }

        await KillAsync(state.RuncId, state.StopSignal, ct);
        using (var grace = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            grace.CancelAfter(gracePeriod > TimeSpan.Zero ? gracePeriod : TimeSpan.Zero);
            try
            {
                await WaitAsync(handle, grace.Token);
                LogStopped(state.RuncId, state.StopSignal);
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Grace period over.
            }
        }

        LogKilling(state.RuncId, gracePeriod);
        await KillAsync(state.RuncId, "KILL", ct);
        await WaitAsync(handle, ct);
    }

    public async Task DestroyAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ParseState(handle);
        await RemoveAsync(state.RuncId, state.Bundle, state.OverlayMounted, ct, state);
    }

    public async Task<TaskState> InspectAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ParseState(handle);
        if (ReadExit(state) is { } exit)
        {
            return new TaskState(TaskPhase.Exited, exit, null);
        }

        var runc = await QueryStateAsync(state.RuncId, ct);
        if (runc is { Status: "running" or "paused" or "created" })
        {
            return new TaskState(TaskPhase.Running, null, runc.Pid > 0 ? runc.Pid : null);
        }

        if (IsShimAlive(state))
        {
            // Between runc exiting and the monitor writing the exit file: it is about to appear.
            var exited = await WaitAsync(handle, ct);
            return new TaskState(TaskPhase.Exited, exited, null);
        }

        return new TaskState(TaskPhase.Unknown, null, null);
    }

    public async Task<TaskStats?> StatsAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ParseState(handle);
        if (ReadExit(state) is not null || await QueryStateAsync(state.RuncId, ct) is not { Status: "running" or "paused" })
        {
            return null;
        }

        return CgroupPaths.ReadStats(state.Cgroups);
    }

    public async Task<bool> RecoverAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = ParseState(handle);
        if (!Directory.Exists(state.Bundle))
        {
            return false;
        }

        if (ReadExit(state) is not null || IsShimAlive(state))
        {
            LogRecovered(state.RuncId, ReadExit(state) is null ? "running" : "exited");
            return true;
        }

        if (await QueryStateAsync(state.RuncId, ct) is { Status: "running" or "paused" or "created" })
        {
            // Running but its monitor is gone: the exit code will be lost, but the container is not restarted.
            LogRecovered(state.RuncId, "running without its monitor");
            return true;
        }

        return false;
    }

    public async Task<ExecResult> ExecAsync(TaskHandle handle, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
        {
            throw new ArgumentException("exec needs a command", nameof(command));
        }

        var state = ParseState(handle);
        if (await QueryStateAsync(state.RuncId, ct) is not { Status: "running" })
        {
            throw new DriverException($"container {state.RuncId} is not running");
        }

        var pidFile = Path.Combine(state.Bundle, $"exec-{Guid.NewGuid():N}.pid");
        try
        {
            var result = await CommandRunner.RunAsync(
                _options.RuncPath,
                ["--root", _stateDir, "exec", "--pid-file", pidFile, state.RuncId, .. command],
                timeout,
                ct,
                onTimeout: () => KillPidFromFile(pidFile));
            return new ExecResult(result.TimedOut ? -1 : result.ExitCode, result.Stdout + result.Stderr, result.TimedOut);
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    public async Task<IExecProcess> StartExecAsync(TaskHandle handle, InteractiveExec request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
        {
            throw new DriverException("exec needs a command");
        }

        var state = ParseState(handle);
        if (await QueryStateAsync(state.RuncId, ct) is not { Status: "running" })
        {
            throw new DriverException($"container {state.RuncId} is not running");
        }

        // runc exec joins the container's namespaces and cgroups and takes its environment, user and working
        // directory from the bundle; with --tty it needs its own stdin to be a terminal, which the launcher gives it.
        var pidFile = Path.Combine(state.Bundle, $"exec-{Guid.NewGuid():N}.pid");
        var info = new ProcessStartInfo(_options.RuncPath);
        foreach (var argument in new[] { "--root", _stateDir, "exec", "--pid-file", pidFile })
        {
            info.ArgumentList.Add(argument);
        }

        if (request.Tty)
        {
            info.ArgumentList.Add("--tty");
        }

        info.ArgumentList.Add(state.RuncId);
        foreach (var argument in request.Command)
        {
            info.ArgumentList.Add(argument);
        }

        return ExecLauncher.Start(info, request, _ => KillPidFromFile(pidFile), () => File.Delete(pidFile));
    }

    private Process StartShim(string id, string logPath, string bundle, string pidFile, string exitFile)
    {
        var info = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var argument in new[]
        {
            "/bin/sh", "-c", ShimScript, "verge-shim", logPath, _options.RuncPath, _stateDir,
            Path.Combine(bundle, "runc.log"), pidFile, bundle, id, exitFile,
        })
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            var process = Process.Start(info) ?? throw new DriverException("cannot start the container monitor");
            _shims[id] = process;
            return process;
        }
        catch (Win32Exception e)
        {
            throw new DriverException($"cannot start the container monitor (setsid, /bin/sh): {e.Message}", e);
        }
    }

    private async Task WaitUntilStartedAsync(RuncTaskState state, Process shim, string pidFile, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + _options.StartTimeout;
        while (true)
        {
            if (File.Exists(pidFile) && new FileInfo(pidFile).Length > 0)
            {
                return;
            }

            if (File.Exists(state.ExitFile) || shim.HasExited)
            {
                // runc wrote the pid file only after a successful start; without it, it failed to start.
                await shim.WaitForExitAsync(ct);
                if (File.Exists(pidFile) && new FileInfo(pidFile).Length > 0)
                {
                    return;
                }

                var reason = ReadRuncError(state.Bundle) ?? $"runc exited with {File.ReadAllText(state.ExitFile).Trim()} before the container started";
                _shims.TryRemove(state.RuncId, out _);
                LogStartFailed(state.RuncId, reason);
                throw new DriverException($"failed to start container: {reason}");
            }

            if (_time.GetUtcNow() > deadline)
            {
                await KillAsync(state.RuncId, "KILL", CancellationToken.None);
                throw new DriverException($"container {state.RuncId} did not start within {_options.StartTimeout}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct);
        }
    }

    private async Task<bool> PrepareRootfsAsync(string id, string imageRootfs, string bundle, string rootfs, CancellationToken ct)
    {
        Directory.CreateDirectory(rootfs);
        if (_options.UseOverlay)
        {
            var upper = Path.Combine(bundle, "upper");
            var work = Path.Combine(bundle, "work");
            Directory.CreateDirectory(upper);
            Directory.CreateDirectory(work);
            var mount = await CommandRunner.RunAsync(
                "mount",
                ["-t", "overlay", "overlay", "-o", $"lowerdir={imageRootfs},upperdir={upper},workdir={work}", rootfs],
                _options.CommandTimeout,
                ct);
            if (mount.ExitCode == 0)
            {
                return true;
            }

            LogOverlayFallback(id, mount.Diagnostic);
        }

        var copy = await CommandRunner.RunAsync("cp", ["-a", imageRootfs + "/.", rootfs], _options.CommandTimeout * 10, ct);
        if (copy.ExitCode != 0)
        {
            throw new DriverException($"cannot copy the image rootfs: {copy.Diagnostic}", "CreateContainerError");
        }

        return false;
    }

    private async Task WriteEtcFilesAsync(string etc, TaskConfig config, CancellationToken ct)
    {
        Directory.CreateDirectory(etc);
        var hostname = config.Hostname ?? config.PodName;
        File.WriteAllText(Path.Combine(etc, "hostname"), hostname + "\n");

        // A pod with its own network gets a generated hosts file; one on the host network gets the node's, as the
        // kubelet does. Either way the pod's host aliases follow.
        var hosts = config.NetworkNamespacePath is { } netns
            ? EtcFiles.PodHosts(hostname, await FindPodAddressAsync(netns, ct) ?? "127.0.1.1", config.HostAliases)
            : EtcFiles.HostNetworkHosts(ReadNodeFile(_options.HostsPath), config.HostAliases);
        File.WriteAllText(Path.Combine(etc, "hosts"), hosts);

        // What the resolver's limits cut is reported once per pod, as DNSConfigForming events (DnsConfigWarnings).
        var resolver = EtcFiles.PodResolver(EtcFiles.ParseResolvConf(ReadNodeFile(_options.ResolvConfPath)), config.DnsPolicy, config.DnsConfig);
        File.WriteAllText(Path.Combine(etc, "resolv.conf"), EtcFiles.RenderResolvConf(resolver));
    }

    public IReadOnlyList<string> DnsConfigWarnings(string? dnsPolicy, PodDnsConfig? dnsConfig)
    {
        var warnings = new List<string>();
        EtcFiles.PodResolver(EtcFiles.ParseResolvConf(ReadNodeFile(_options.ResolvConfPath)), dnsPolicy, dnsConfig, warnings);
        return warnings;
    }

    /// <summary>A file of the node's (hosts, resolv.conf), empty when it is missing.</summary>
    private static string ReadNodeFile(string path) => File.Exists(path) ? File.ReadAllText(path) : string.Empty;

    /// <summary>The pod's IPv4 address on eth0 in its network namespace (what Kubernetes maps the hostname to), or null.</summary>
    private async Task<string?> FindPodAddressAsync(string netnsPath, CancellationToken ct)
    {
        if (!File.Exists(netnsPath))
        {
            throw new DriverException($"network namespace {netnsPath} does not exist", "CreateContainerConfigError");
        }

        try
        {
            var result = await CommandRunner.RunAsync("nsenter", [$"--net={netnsPath}", "ip", "-4", "-o", "addr", "show", "dev", "eth0"], _options.CommandTimeout, ct);
            var fields = result.ExitCode == 0 ? result.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
            var inet = Array.IndexOf(fields, "inet");
            return inet >= 0 && inet + 1 < fields.Length ? fields[inet + 1].Split('/')[0] : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Deletes the container, unmounts its rootfs and removes its bundle; each step tolerates having been done.</summary>
    private async Task RemoveAsync(string id, string bundle, bool overlayMaybeMounted, CancellationToken ct, RuncTaskState? state = null)
    {
        var delete = await RuncAsync(["delete", "--force", id], ct);
        if (delete.ExitCode != 0 && !NotFound(delete))
        {
            throw new DriverException($"runc delete {id} failed: {delete.Diagnostic}");
        }

        // Let the monitor write its exit file and go before its bundle disappears under it.
        var deadline = _time.GetUtcNow() + _options.CommandTimeout;
        if (_shims.TryRemove(id, out var shim))
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(_options.CommandTimeout);
            try
            {
                await shim.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                LogMonitorLingers(id, shim.Id);
            }
        }
        else if (state is not null)
        {
            while (IsShimAlive(state) && _time.GetUtcNow() < deadline)
            {
                await Task.Delay(_options.ExitPollInterval, _time, ct);
            }
        }

        var rootfs = Path.Combine(bundle, "rootfs");
        if (overlayMaybeMounted && MountTable.IsMountPoint(rootfs))
        {
            var umount = await CommandRunner.RunAsync("umount", [rootfs], _options.CommandTimeout, ct);
            if (umount.ExitCode != 0)
            {
                throw new DriverException($"cannot unmount {rootfs}: {umount.Diagnostic}");
            }
        }

        if (Directory.Exists(bundle))
        {
            if (MountTable.IsMountPoint(rootfs))
            {
                throw new DriverException($"{rootfs} is still mounted; not removing the bundle");
            }

            Directory.Delete(bundle, recursive: true);
            LogDestroyed(id);
        }
    }

    private static TaskExit? ReadExit(RuncTaskState state)
    {
        var recordedPath = Path.Combine(state.Bundle, "exit.json");
        if (File.Exists(recordedPath))
        {
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(recordedPath), RuncJsonContext.Default.RecordedExit) is { } recorded)
                {
                    return ToTaskExit(recorded, null);
                }
            }
            catch (JsonException)
            {
                // Torn write: fall through to the exit file.
            }
        }

        string text;
        try
        {
            text = File.ReadAllText(state.ExitFile).Trim();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
        {
            code = 255;
        }

        var oom = code != 0 && ReadOomKilled(state);
        var finished = new DateTimeOffset(File.GetLastWriteTimeUtc(state.ExitFile), TimeSpan.Zero);
        return RecordExit(state, new RecordedExit(code, oom, finished), null);
    }

    private static TaskExit RecordExit(RuncTaskState state, RecordedExit exit, string? message)
    {
        try
        {
            var path = Path.Combine(state.Bundle, "exit.json");
            File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(exit, RuncJsonContext.Default.RecordedExit));
            File.Move(path + ".tmp", path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The bundle is being destroyed; the exit is still reported to this caller.
        }

        return ToTaskExit(exit, message);
    }

    private static TaskExit ToTaskExit(RecordedExit exit, string? message)
    {
        int? signal = exit.ExitCode is > 128 and < 128 + 65 ? exit.ExitCode - 128 : null;
        return new TaskExit(exit.ExitCode, signal, exit.OomKilled, exit.FinishedAt, message);
    }

    private static bool ReadOomKilled(RuncTaskState state) => CgroupPaths.ReadOomKills(state.Cgroups) > 0;

    private async Task KillAsync(string id, string signal, CancellationToken ct)
    {
        var kill = await RuncAsync(["kill", id, signal], ct);
        if (kill.ExitCode != 0 && !NotFound(kill) && !kill.Diagnostic.Contains("not running", StringComparison.OrdinalIgnoreCase))
        {
            throw new DriverException($"runc kill {id} {signal} failed: {kill.Diagnostic}");
        }
    }

    private async Task<RuncState?> QueryStateAsync(string id, CancellationToken ct)
    {
        var result = await RuncAsync(["state", id], ct);
        if (result.ExitCode != 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(result.Stdout, RuncJsonContext.Default.RuncState);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private Task<CommandResult> RuncAsync(IEnumerable<string> arguments, CancellationToken ct) =>
        CommandRunner.RunAsync(_options.RuncPath, ["--root", _stateDir, .. arguments], _options.CommandTimeout, ct);

    private static bool NotFound(CommandResult result) =>
        result.Diagnostic.Contains("does not exist", StringComparison.OrdinalIgnoreCase) ||
        result.Diagnostic.Contains("not found", StringComparison.OrdinalIgnoreCase);

    private static string? ReadRuncError(string bundle)
    {
        var log = Path.Combine(bundle, "runc.log");
        if (!File.Exists(log))
        {
            return null;
        }

        string? message = null;
        foreach (var line in File.ReadLines(log))
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.TryGetProperty("level", out var level) && level.GetString() is "error" or "fatal" &&
                    document.RootElement.TryGetProperty("msg", out var msg))
                {
                    message = msg.GetString();
                }
            }
            catch (JsonException)
            {
                message = line;
            }
        }

        return message;
    }

    private bool IsShimAlive(RuncTaskState state)
    {
        if (_shims.TryGetValue(state.RuncId, out var shim))
        {
            return !shim.HasExited;
        }

        var ticks = ProcessStartTicks(state.ShimPid);
        return ticks is not null && (state.ShimStartTicks == 0 || ticks == state.ShimStartTicks);
    }

    /// <summary>Field 22 of /proc/PID/stat (start time since boot), or null when no such process is running.</summary>
    private static long? ProcessStartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] == "Z")
            {
                return null;
            }

            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static void KillPidFromFile(string pidFile)
    {
        try
        {
            if (int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or Win32Exception)
        {
            // Not started yet or already gone.
        }
    }

    /// <summary>"SIGTERM", "TERM", "15" → the form runc kill takes; null for none; an error for nonsense.</summary>
    internal static string? NormalizeSignal(string? signal)
    {
        if (string.IsNullOrWhiteSpace(signal))
        {
            return null;
        }

        var upper = signal.Trim().ToUpperInvariant();
        if (int.TryParse(upper, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number is > 0 and < 65 ? upper : throw new DriverException($"invalid stop signal '{signal}'", "CreateContainerConfigError");
        }

        var name = upper.StartsWith("SIG", StringComparison.Ordinal) ? upper[3..] : upper;
        return SignalName().IsMatch(name) ? name : throw new DriverException($"invalid stop signal '{signal}'", "CreateContainerConfigError");
    }

    private static RuncTaskState ParseState(TaskHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.Driver != "runc")
        {
            throw new ArgumentException($"handle belongs to driver '{handle.Driver}', not runc", nameof(handle));
        }

        try
        {
            return JsonSerializer.Deserialize(handle.State, RuncJsonContext.Default.RuncTaskState)
                ?? throw new ArgumentException("empty runc handle state", nameof(handle));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"corrupt runc handle state: {e.Message}", nameof(handle), e);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ValidId();

    [GeneratedRegex("^[A-Z][A-Z0-9+-]{1,15}$")]
    private static partial Regex SignalName();

    [LoggerMessage(EventId = 5831, Level = LogLevel.Information, Message = "Started container {Id} (monitor pid {ShimPid}, overlay rootfs: {Overlay})")]
    private partial void LogStarted(string id, int shimPid, bool overlay);

    [LoggerMessage(EventId = 5832, Level = LogLevel.Warning, Message = "Container {Id} failed to start: {Reason}")]
    private partial void LogStartFailed(string id, string reason);

    [LoggerMessage(EventId = 5833, Level = LogLevel.Warning, Message = "Cannot mount an overlay rootfs for {Id}, copying the image instead: {Reason}")]
    private partial void LogOverlayFallback(string id, string reason);

    [LoggerMessage(EventId = 5834, Level = LogLevel.Information, Message = "Container {Id} stopped by SIG{Signal}")]
    private partial void LogStopped(string id, string signal);

    [LoggerMessage(EventId = 5835, Level = LogLevel.Warning, Message = "Container {Id} outlived its {Grace} grace period; sending SIGKILL")]
    private partial void LogKilling(string id, TimeSpan grace);

    [LoggerMessage(EventId = 5836, Level = LogLevel.Information, Message = "Destroyed container {Id}")]
    private partial void LogDestroyed(string id);

    [LoggerMessage(EventId = 5837, Level = LogLevel.Information, Message = "Recovered container {Id} ({Phase})")]
    private partial void LogRecovered(string id, string phase);

    [LoggerMessage(EventId = 5839, Level = LogLevel.Warning, Message = "The monitor of container {Id} (pid {ShimPid}) did not exit after the container was deleted")]
    private partial void LogMonitorLingers(string id, int shimPid);

    [LoggerMessage(EventId = 5840, Level = LogLevel.Warning, Message = "Cleaning up after the failed start of container {Id} failed: {Reason}")]
    private partial void LogCleanupFailed(string id, string reason);

    [LoggerMessage(EventId = 5841, Level = LogLevel.Warning, Message = "Container {Id} was already running, started before the agent last stopped; adopted it instead of starting it again")]
    private partial void LogAdopted(string id);

    [LoggerMessage(EventId = 5838, Level = LogLevel.Warning, Message = "Container {Id} ended after its monitor died; its exit status is lost")]
    private partial void LogExitLost(string id);
}
