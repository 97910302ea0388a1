using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Verge.Agent.Drivers.HostProcess;
using Verge.Agent.Images;

namespace Verge.Agent.Drivers.Docker;

/// <summary>
/// Runs tasks as containers of a Docker Engine already on the device (runtimeClassName "docker"), through the
/// Engine API on its unix socket. The engine owns images, containers and their limits; the driver maps a task onto
/// one container (restart policy "no": restarts are the agent's), copies its output into the task's log file, and
/// finds it again after an agent restart by its container id. See docs/runtime.md, "docker driver".
/// </summary>
internal sealed partial class DockerDriver : IWorkloadDriver, IAsyncDisposable
{
    public const string DriverName = "docker";

    private readonly DockerDriverOptions _options;
    private readonly ILogger<DockerDriver> _logger;
    private readonly TimeProvider _time;
    private readonly DockerApiClient _api;
    private readonly ConcurrentDictionary<string, DockerLogFollower> _followers = new(StringComparer.Ordinal);

    public DockerDriver(DockerDriverOptions options, ILogger<DockerDriver> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger;
        _time = time;
        _api = new DockerApiClient(options.SocketPath, options.ApiVersion, options.RequestTimeout);
    }

    public string Name => DriverName;

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _followers.Keys)
        {
            if (_followers.TryRemove(id, out var follower))
            {
                await follower.DisposeAsync();
            }
        }

        _api.Dispose();
    }

    public async Task<DriverFingerprint> FingerprintAsync(CancellationToken ct)
    {
        if (!File.Exists(_options.SocketPath))
        {
            return new DriverFingerprint(false, $"no Docker Engine socket at {_options.SocketPath}");
        }

        try
        {
            var version = await _api.VersionAsync(ct);
            Directory.CreateDirectory(_options.StateDirectory);
            return new DriverFingerprint(true, $"Docker Engine API at {_options.Socket}: version {version.Version}, API {version.ApiVersion}");
        }
        catch (DockerApiException e)
        {
            return new DriverFingerprint(false, $"the Docker Engine at {_options.Socket} does not answer: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DriverFingerprint(false, $"cannot create state directory {_options.StateDirectory}: {e.Message}");
        }
    }

    public async Task<ImageInfo?> PullImageAsync(ImageRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reference = request.Reference?.Trim() ?? "";
        if (reference.Length == 0 || reference.Any(char.IsWhiteSpace))
        {
            throw new ImagePullException($"invalid image reference \"{request.Reference}\"", "InvalidImageName");
        }

        if (request.Policy != PullPolicy.Always)
        {
            var present = await Engine(() => _api.InspectImageAsync(reference, ct), "inspect image");
            if (present is not null)
            {
                return ToImageInfo(reference, present);
            }

            if (request.Policy == PullPolicy.Never)
            {
                throw new ImagePullException($"image {reference} is not present on the node and the pull policy is Never", "ErrImageNeverPull");
            }
        }

        var (name, tag) = SplitReference(reference);
        var auth = request.Credentials is { } credentials
            ? new DockerAuthConfig { Username = credentials.Username, Password = credentials.Password, ServerAddress = RegistryOf(name) }
            : null;
        LogPulling(reference);
        try
        {
            await _api.PullImageAsync(name, tag, auth, ct);
        }
        catch (DockerApiException e)
        {
            var reason = e.StatusCode == HttpStatusCode.BadRequest ? "InvalidImageName" : "ErrImagePull";
            throw new ImagePullException($"pulling image {reference} failed: {e.Message}", e, reason);
        }

        var pulled = await Engine(() => _api.InspectImageAsync(reference, ct), "inspect image")
            ?? throw new ImagePullException($"the engine pulled {reference} but does not know it afterwards");
        return ToImageInfo(reference, pulled);
    }

    public async Task<TaskHandle> StartAsync(TaskConfig config, CancellationToken ct)
    {
        TaskConfigChecks.Validate(config);
        var image = config.ImageReference ?? config.Image?.Reference;
        if (string.IsNullOrWhiteSpace(image))
        {
            throw new DriverException($"container {config.ContainerName}: the docker driver needs an image", "CreateContainerConfigError");
        }

        var name = _options.ContainerNamePrefix + config.Id;
        var body = CreateBody(config, image);
        try
        {
            var logDir = Path.GetDirectoryName(Path.GetFullPath(config.LogPath));
            if (logDir is not null)
            {
                Directory.CreateDirectory(logDir);
            }

            Directory.CreateDirectory(_options.StateDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DriverException($"cannot prepare task {config.Id}: {e.Message}", e, "CreateContainerError");
        }

        string id;
        try
        {
            id = await _api.CreateContainerAsync(name, body, ct);
        }
        catch (DockerApiException e) when (IsNameConflict(e))
        {
            // Left over from a start the agent did not record (it crashed in between): replace it.
            await Engine(() => _api.RemoveContainerAsync(name, ct), "remove left-over container", "CreateContainerError");
            id = await Engine(() => _api.CreateContainerAsync(name, body, ct), "create container", "CreateContainerError");
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new DriverException($"image {image} is not present on the node: {e.Message}", e, "CreateContainerError");
        }
        catch (DockerApiException e)
        {
            throw new DriverException($"creating container {name} failed: {e.Message}", e, "CreateContainerError");
        }

        try
        {
            await _api.StartContainerAsync(id, ct);
        }
        catch (DockerApiException e)
        {
            try
            {
                await _api.RemoveContainerAsync(id, CancellationToken.None);
            }
            catch (DockerApiException)
            {
                // The start error is the one to report; a failed cleanup leaves a stopped container by name, which
                // the next start of this task replaces.
            }

            throw new DriverException($"starting container {name} failed: {e.Message}", e, "RunContainerError");
        }

        var state = new DockerTaskState { ContainerId = id, Name = name, LogPath = config.LogPath };
        DockerLogFollower.DeletePosition(PositionPath(state));
        Follow(state);
        LogStarted(config.Id, id);
        return new TaskHandle(DriverName, config.Id, JsonSerializer.Serialize(state, DockerJsonContext.Default.DockerTaskState), _time.GetUtcNow());
    }

    public async Task<TaskExit> WaitAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = Parse(handle);
        while (true)
        {
            var container = await Engine(() => _api.InspectContainerAsync(state.ContainerId, ct), "inspect container")
                ?? throw new DriverException($"task {handle.Id}: container {state.Name} no longer exists");
            if (!container.State.Running)
            {
                await DrainLogAsync(state.ContainerId, ct);
                return ToExit(container.State);
            }

            await Engine(() => _api.WaitContainerAsync(state.ContainerId, ct), "wait for container");
        }
    }

    public async Task StopAsync(TaskHandle handle, TimeSpan gracePeriod, CancellationToken ct)
    {
        var state = Parse(handle);
        var container = await Engine(() => _api.InspectContainerAsync(state.ContainerId, ct), "inspect container");
        if (container is null || !container.State.Running)
        {
            return;
        }

        var seconds = (int)Math.Ceiling(Math.Max(0, gracePeriod.TotalSeconds));
        LogStopping(handle.Id, seconds);
        try
        {
            await _api.StopContainerAsync(state.ContainerId, seconds, ct);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return;
        }
        catch (DockerApiException e)
        {
            // The engine could not stop it its way (or not in time): SIGKILL directly, as the grace period is over.
            LogStopFailed(handle.Id, e.Message);
            try
            {
                await _api.KillContainerAsync(state.ContainerId, "KILL", ct);
            }
            catch (DockerApiException kill) when (kill.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                // Gone or no longer running: either way it has stopped.
            }
            catch (DockerApiException kill)
            {
                throw new DriverException($"stopping container {state.Name} failed: {e.Message}; killing it failed too: {kill.Message}", kill);
            }
        }

        await WaitAsync(handle, ct);
    }

    public async Task DestroyAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = Parse(handle);
        if (_followers.TryRemove(state.ContainerId, out var follower))
        {
            await follower.DisposeAsync();
        }

        await Engine(() => _api.RemoveContainerAsync(state.ContainerId, ct), "remove container");
        DockerLogFollower.DeletePosition(PositionPath(state));
        LogDestroyed(handle.Id);
    }

    public async Task<TaskState> InspectAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = Parse(handle);
        var container = await Engine(() => _api.InspectContainerAsync(state.ContainerId, ct), "inspect container");
        return container switch
        {
            null => new TaskState(TaskPhase.Unknown, null, null),
            { State.Running: true } => new TaskState(TaskPhase.Running, null, container.State.Pid > 0 ? container.State.Pid : null),
            _ => new TaskState(TaskPhase.Exited, ToExit(container.State), null),
        };
    }

    public async Task<TaskStats?> StatsAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = Parse(handle);
        try
        {
            if (await _api.InspectContainerAsync(state.ContainerId, ct) is not { State.Running: true })
            {
                return null;
            }

            using var stats = await _api.StatsAsync(state.ContainerId, ct);
            var root = stats.RootElement;
            long? memory = root.TryGetProperty("memory_stats", out var m) && m.TryGetProperty("usage", out var usage) && usage.TryGetInt64(out var bytes)
                ? bytes
                : null;
            double? cpu = root.TryGetProperty("cpu_stats", out var c) && c.TryGetProperty("cpu_usage", out var cu)
                && cu.TryGetProperty("total_usage", out var total) && total.TryGetInt64(out var ns)
                ? ns / 1e9
                : null;
            return new TaskStats(memory, cpu);
        }
        catch (DockerApiException)
        {
            return null;
        }
    }

    public async Task<bool> RecoverAsync(TaskHandle handle, CancellationToken ct)
    {
        var state = Parse(handle);
        var container = await Engine(() => _api.InspectContainerAsync(state.ContainerId, ct), "inspect container");
        var found = container is not null;
        if (found)
        {
            Follow(state);
        }

        LogRecovered(handle.Id, found);
        return found;
    }

    public async Task<ExecResult> ExecAsync(TaskHandle handle, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        var state = Parse(handle);
        if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
        {
            throw new DriverException("exec needs a command");
        }

        var container = await Engine(() => _api.InspectContainerAsync(state.ContainerId, ct), "inspect container");
        if (container is not { State.Running: true })
        {
            throw new DriverException($"task {handle.Id} is not running");
        }

        var execId = await Engine(() => _api.CreateExecAsync(state.ContainerId, new DockerExecCreate { Cmd = command }, ct), "create exec");
        var output = new StringBuilder();
        var timedOut = false;
        using (var timer = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timer.CancelAfter(timeout);
            try
            {
                using var response = await _api.StartExecAsync(execId, timer.Token);
                await using var stream = await response.Content.ReadAsStreamAsync(timer.Token);
                var decoder = Encoding.UTF8.GetDecoder();
                await foreach (var (_, payload) in DockerApiClient.ReadFramesAsync(stream, timer.Token))
                {
                    var chars = new char[decoder.GetCharCount(payload, flush: false)];
                    decoder.GetChars(payload, chars, flush: false);
                    output.Append(chars);
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                timedOut = true;
            }
            catch (DockerApiException e)
            {
                return new ExecResult(126, e.Message, TimedOut: false);
            }
            catch (IOException e)
            {
                throw new DriverException($"exec in task {handle.Id}: the engine's output stream broke: {e.Message}", e);
            }
        }

        var inspect = await Engine(() => _api.InspectExecAsync(execId, ct), "inspect exec");
        if (timedOut)
        {
            // The Engine API cannot stop an exec; the engine is local, so its process is killed by host pid.
            if (inspect.Running && inspect.Pid > 0)
            {
                HostProcesses.Signal(inspect.Pid, HostProcesses.SigKill);
            }

            return new ExecResult(137, output.ToString(), TimedOut: true);
        }

        // The stream ends as the command exits; the engine may record the exit code a moment later.
        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (inspect.Running && _time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct);
            inspect = await Engine(() => _api.InspectExecAsync(execId, ct), "inspect exec");
        }

        return new ExecResult(inspect.ExitCode ?? 126, output.ToString(), TimedOut: false);
    }

    private static DockerContainerCreate CreateBody(TaskConfig config, string image)
    {
        var network = config.NetworkNamespacePath switch
        {
            null => "host",
            "host" or "none" => config.NetworkNamespacePath,
            var mode when mode.StartsWith("container:", StringComparison.Ordinal) => mode,
            var path => throw new DriverException(
                $"the docker driver cannot put a container into the network namespace {path}: the Docker Engine joins only " +
                "\"host\", \"none\" or another container's network (\"container:ID\")",
                "CreateContainerConfigError"),
        };

        // The engine writes the container's /etc/hosts and resolv.conf itself, and refuses DNS and host entries in the
        // network modes the driver uses (host, another container's): a pod that asks for them is refused, not run
        // with files other than it asked for.
        if (config.AsksForOwnHostsOrDns)
        {
            throw new DriverException(
                "the docker driver cannot apply hostAliases, dnsPolicy None or dnsConfig: the Docker Engine writes the container's " +
                "/etc/hosts and /etc/resolv.conf itself; run the pod with the runc driver",
                "CreateContainerConfigError");
        }

        var resources = config.Resources;
        var security = config.Security;
        var (imageUid, imageUserName) = TaskSecurityChecks.ParseImageUser(config.Image?.Config.User);
        TaskSecurityChecks.VerifyRunAsNonRoot(config, imageUid, imageUserName);

        // Checks the names; the engine applies add and drop itself, with the same rules.
        TaskSecurityChecks.Capabilities(security);
        string? user = (config.RunAsUser, config.RunAsGroup) switch
        {
            ({ } uid, { } gid) => string.Create(CultureInfo.InvariantCulture, $"{uid}:{gid}"),
            ({ } uid, null) => uid.ToString(CultureInfo.InvariantCulture),
            (null, { } gid) => string.Create(CultureInfo.InvariantCulture, $"0:{gid}"),
            _ => null,
        };

        return new DockerContainerCreate
        {
            Image = image,
            Entrypoint = config.Command,
            Cmd = config.Args,
            Env = config.Env.Count == 0 ? null : config.Env.Select(e => $"{e.Key}={e.Value}").ToList(),
            WorkingDir = config.WorkingDir,
            User = user,
            Hostname = network == "host" ? null : config.Hostname,
            AttachStdout = true,
            AttachStderr = true,
            Labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["verge.task-id"] = config.Id,
                ["verge.pod-uid"] = config.PodUid,
                ["verge.pod-namespace"] = config.PodNamespace,
                ["verge.pod-name"] = config.PodName,
                ["verge.container-name"] = config.ContainerName,
            },
            HostConfig = new DockerHostConfig
            {
                Binds = config.Mounts.Count == 0 ? null : config.Mounts.Select(Bind).ToList(),
                NetworkMode = network,
                GroupAdd = config.SupplementalGroups.Count == 0 ? null : [.. config.SupplementalGroups.Select(g => g.ToString(CultureInfo.InvariantCulture))],
                PidMode = config.HostPid ? "host" : null,
                IpcMode = config.HostIpc ? "host" : null,
                Memory = resources.MemoryLimitBytes,

                // Memory + swap equal to the memory limit: no swap, as a kubelet without swap support.
                MemorySwap = resources.MemoryLimitBytes,
                NanoCpus = resources.CpuLimitMillis * 1_000_000,
                CpuShares = resources.CpuRequestMillis is { } request ? Math.Max(2, request * 1024 / 1000) : null,
                PidsLimit = resources.PidsLimit,
                ReadonlyRootfs = config.ReadOnlyRootFilesystem,
                Privileged = security.Privileged,
                CapAdd = security.AddCapabilities.Count == 0 ? null : security.AddCapabilities,
                CapDrop = security.DropCapabilities.Count == 0 ? null : security.DropCapabilities,
                SecurityOpt = SecurityOptions(security),
                Sysctls = security.Sysctls.Count == 0 ? null : security.Sysctls.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
            },
        };
    }

    /// <summary>
    /// no_new_privs when allowPrivilegeEscalation is false; seccomp as the pod asks: the engine's default profile for
    /// RuntimeDefault, the profile file's JSON for Localhost, and none for Unconfined, Kubernetes' default, so a pod
    /// means the same on every driver (the engine would otherwise apply its default profile to every container).
    /// </summary>
    private static List<string>? SecurityOptions(TaskSecurity security)
    {
        var options = new List<string>();
        if (security.NoNewPrivileges)
        {
            options.Add("no-new-privileges");
        }

        switch (security.Seccomp)
        {
            case SeccompMode.Unconfined when !security.Privileged:
                options.Add("seccomp=unconfined");
                break;
            case SeccompMode.Localhost:
                options.Add("seccomp=" + (security.SeccompProfileJson
                    ?? throw new DriverException("seccomp profile type Localhost needs the profile's contents", "CreateContainerConfigError")));
                break;
        }

        return options.Count == 0 ? null : options;
    }

    private static string Bind(TaskMount mount)
    {
        if (mount.HostPath.Contains(':', StringComparison.Ordinal) || mount.ContainerPath.Contains(':', StringComparison.Ordinal))
        {
            throw new DriverException($"the docker driver cannot mount a path holding ':' ({mount.HostPath} at {mount.ContainerPath})", "CreateContainerConfigError");
        }

        return $"{mount.HostPath}:{mount.ContainerPath}:{(mount.ReadOnly ? "ro" : "rw")}";
    }

    /// <summary>Docker answers a taken name with 409; podman's compatible service with 500 and "already in use".</summary>
    private static bool IsNameConflict(DockerApiException e) =>
        e.StatusCode == HttpStatusCode.Conflict || e.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase);

    private void Follow(DockerTaskState state)
    {
        var follower = new DockerLogFollower(_api, state.ContainerId, state.LogPath, PositionPath(state), _options, _time, _logger);
        if (_followers.TryAdd(state.ContainerId, follower))
        {
            follower.Start();
        }
    }

    private async Task DrainLogAsync(string containerId, CancellationToken ct)
    {
        if (_followers.TryGetValue(containerId, out var follower))
        {
            try
            {
                await follower.Completion.WaitAsync(_options.LogDrainTimeout, _time, ct);
            }
            catch (TimeoutException)
            {
                // The log keeps being copied in the background; the exit does not wait longer for it.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The follower failed; it logged why, and the exit is still the exit.
            }
        }
    }

    private string PositionPath(DockerTaskState state) => Path.Combine(_options.StateDirectory, state.Name + ".log-position.json");

    internal static TaskExit ToExit(DockerContainerState state)
    {
        var finished = state.FinishedAt is { } text && DockerLogFollower.ParseTimestamp(text) is { } key && key.Seconds > 0
            ? DateTimeOffset.FromUnixTimeSeconds(key.Seconds).AddTicks(key.Nanos / 100)
            : DateTimeOffset.UnixEpoch;
        int? signal = state.ExitCode is > 128 and < 128 + 65 ? state.ExitCode - 128 : null;
        var message = string.IsNullOrEmpty(state.Error) ? null : state.Error;
        return new TaskExit(state.ExitCode, signal, state.OomKilled, finished, message);
    }

    private static ImageInfo ToImageInfo(string reference, DockerImageInspect image)
    {
        var digest = image.RepoDigests?.Select(d => d[(d.IndexOf('@', StringComparison.Ordinal) + 1)..]).FirstOrDefault() ?? image.Id;
        var config = new ImageConfig
        {
            Entrypoint = image.Config?.Entrypoint,
            Cmd = image.Config?.Cmd,
            Env = image.Config?.Env ?? [],
            WorkingDir = string.IsNullOrEmpty(image.Config?.WorkingDir) ? null : image.Config.WorkingDir,
            User = string.IsNullOrEmpty(image.Config?.User) ? null : image.Config.User,
            StopSignal = image.Config?.StopSignal,
            Os = image.Os ?? "linux",
            Architecture = image.Architecture ?? "amd64",
        };
        return new ImageInfo(reference, digest, config, image.RootFS?.Layers ?? [], image.Size);
    }

    /// <summary>Splits a reference into the fromImage and tag of a pull (a digest goes in the tag parameter).</summary>
    internal static (string Name, string Tag) SplitReference(string reference)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            return (reference[..at], reference[(at + 1)..]);
        }

        var colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') ? (reference[..colon], reference[(colon + 1)..]) : (reference, "latest");
    }

    private static string RegistryOf(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var first = slash > 0 ? name[..slash] : "";
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? first
            : "https://index.docker.io/v1/";
    }

    private static DockerTaskState Parse(TaskHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.Driver != DriverName)
        {
            throw new DriverException($"handle of task {handle.Id} belongs to driver \"{handle.Driver}\", not \"{DriverName}\"");
        }

        try
        {
            return JsonSerializer.Deserialize(handle.State, DockerJsonContext.Default.DockerTaskState)
                ?? throw new DriverException($"handle of task {handle.Id} has an empty state");
        }
        catch (JsonException e)
        {
            throw new DriverException($"handle of task {handle.Id} has an unreadable state: {e.Message}", e);
        }
    }

    /// <summary>Runs an engine call, turning its failures into <see cref="DriverException"/>.</summary>
    private static async Task<T> Engine<T>(Func<Task<T>> call, string what, string reason = "RunContainerError")
    {
        try
        {
            return await call();
        }
        catch (DockerApiException e)
        {
            throw new DriverException($"docker: {what} failed: {e.Message}", e, reason);
        }
    }

    private static async Task Engine(Func<Task> call, string what)
    {
        try
        {
            await call();
        }
        catch (DockerApiException e)
        {
            throw new DriverException($"docker: {what} failed: {e.Message}", e);
        }
    }

    [LoggerMessage(EventId = 5501, Level = LogLevel.Information, Message = "Pulling image {Reference}")]
    private partial void LogPulling(string reference);

    [LoggerMessage(EventId = 5502, Level = LogLevel.Information, Message = "Docker task {Id} started as container {ContainerId}")]
    private partial void LogStarted(string id, string containerId);

    [LoggerMessage(EventId = 5503, Level = LogLevel.Information, Message = "Stopping docker task {Id} (grace period {Seconds} s)")]
    private partial void LogStopping(string id, int seconds);

    [LoggerMessage(EventId = 5506, Level = LogLevel.Warning, Message = "Stopping docker task {Id} failed ({Reason}); killing it")]
    private partial void LogStopFailed(string id, string reason);

    [LoggerMessage(EventId = 5504, Level = LogLevel.Information, Message = "Docker task {Id} destroyed")]
    private partial void LogDestroyed(string id);

    [LoggerMessage(EventId = 5505, Level = LogLevel.Information, Message = "Docker task {Id} recovered: {Found}")]
    private partial void LogRecovered(string id, bool found);
}
