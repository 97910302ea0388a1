using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Verge.Agent.Channel;
using Verge.Agent.Drivers;
using Verge.Agent.Images;
using Verge.Agent.Networking;
using Verge.Agent.State;
using Verge.Core.Core;
using Verge.Core.Serialization;

namespace Verge.Agent.Pods;

/// <summary>What every pod worker shares: settings, state, drivers, network, publisher, clock.</summary>
internal sealed class PodWorkerContext
{
    public required PodManagerOptions Options { get; init; }

    public required LocalState State { get; init; }

    public required IPodConfigSource Config { get; init; }

    public required DriverRegistry Drivers { get; init; }

    public required IPodNetwork Network { get; init; }

    public required IStatusPublisher Publisher { get; init; }

    public required TimeProvider Time { get; init; }

    public required ILogger Logger { get; init; }

    public required PodMetrics Metrics { get; init; }
}

/// <summary>
/// Runs one pod: sets up its driver, network and volumes, recovers tasks a previous agent run started, then loops
/// plan -> run -> publish status, woken by container exits, probe results, configuration changes and back-off timers.
/// All container state is owned by the loop; exits and probe results arrive as messages.
/// </summary>
internal sealed partial class PodWorker : IContainerOperations, IAsyncDisposable
{
    private readonly PodWorkerContext _ctx;
    private readonly Channel<Action> _inbox = System.Threading.Channels.Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _life = new();
    private readonly List<ContainerSlot> _init;
    private readonly List<ContainerSlot> _app;
    private readonly PlanRunner _runner;
    private readonly PodVolumes _volumes;
    private readonly HashSet<string> _inBackOff = new(StringComparer.Ordinal);
    private Pod _pod;
    private Task? _loop;
    private IWorkloadDriver? _driver;
    private bool _networkReady;
    private bool _ipcReady;
    private (string Namespace, string Shm)? _ipc;
    private bool _volumesReady;
    private bool _recovered;
    private string? _podIp;
    private string? _networkPath;
    private string? _pendingMessage;
    private DateTimeOffset? _setUpRetryAt;
    private DateTimeOffset _startTime;
    private PodStatus? _lastStatus;
    private string? _lastStatusJson;
    private volatile IReadOnlyDictionary<string, ContainerLogState> _logStates = new Dictionary<string, ContainerLogState>();

    public PodWorker(Pod pod, PodWorkerContext context)
    {
        _pod = pod;
        _ctx = context;
        Uid = pod.Metadata.Uid!;
        _init = [.. (pod.Spec.InitContainers ?? []).Select(c => new ContainerSlot(c, init: true))];
        _app = [.. pod.Spec.Containers.Select(c => new ContainerSlot(c, init: false))];
        _runner = new PlanRunner(this, context.Logger, context.Metrics);
        _volumes = new PodVolumes(
            context.Options.PodDir(Uid),
            context.Config,
            new PodRuntimeFacts(context.Options.NodeName, context.Options.HostIp, null, context.Options.NodeCpuMillis, context.Options.NodeMemoryBytes, context.Options.NodeEphemeralStorageBytes));
        _startTime = pod.Status?.StartTime ?? context.Time.GetUtcNow();
        PodDescription = $"{pod.Metadata.Name}_{pod.Metadata.Namespace}({Uid})";
    }

    public string Uid { get; }

    public string PodDescription { get; }

    public string Namespace => _pod.Metadata.Namespace ?? "";

    public string Name => _pod.Metadata.Name ?? "";

    /// <summary>The latest pod object, readable from any thread.</summary>
    public Pod Pod => Volatile.Read(ref _pod);

    /// <summary>The pod's labels (of the latest pod object), readable from any thread.</summary>
    public IReadOnlyDictionary<string, string>? Labels => Volatile.Read(ref _pod).Metadata.Labels;

    /// <summary>The status last published for the pod, or null before the first; readable from any thread.</summary>
    public PodStatus? LastStatus => Volatile.Read(ref _lastStatus);

    // Set by TerminateAsync: the pod will not run again, so its phase is terminal.
    private bool _stopped;

    /// <summary>The containers' log state, readable from any thread.</summary>
    public IReadOnlyDictionary<string, ContainerLogState> LogStates => _logStates;

    public IReadOnlyList<string> ContainerNames => [.. _app.Select(s => s.Name)];

    /// <summary>The task and driver of the named container while it runs (kubectl exec), or null.</summary>
    public (IWorkloadDriver Driver, TaskHandle Handle)? RunningTask(string container)
    {
        var slot = _init.Concat(_app).FirstOrDefault(s => s.Name == container);
        return slot is { Handle: { } handle, Phase: ContainerPhase.Running } && _ctx.Drivers.Get(handle.Driver) is { } driver
            ? (driver, handle)
            : null;
    }

    public IReadOnlyList<string> InitContainerNames => [.. _init.Select(s => s.Name)];

    public void Start()
    {
        PublishLogStates();
        _loop = Task.Run(() => RunAsync(_life.Token));
    }

    /// <summary>The pod object changed (same UID).</summary>
    public void Update(Pod pod) => Post(() =>
    {
        _pod = pod;
        foreach (var slot in _init.Concat(_app))
        {
            var spec = (slot.Init ? pod.Spec.InitContainers : pod.Spec.Containers)?.FirstOrDefault(c => c.Name == slot.Name);
            if (spec is not null)
            {
                if (slot.Phase == ContainerPhase.Running && !SameDefinition(slot.Spec, spec))
                {
                    slot.SpecChanged = true;
                }

                slot.Spec = spec;
            }
        }

        // Downward API files follow the pod's labels and annotations, as the kubelet's periodic volume sync does.
        RefreshVolumes();
    });

    /// <summary>
    /// Rewrites the written volumes (configMap, secret, downwardAPI, projected) once they are set up; a file that cannot
    /// be written is a <c>FailedMount</c> event, the files staying as they were.
    /// </summary>
    private void RefreshVolumes()
    {
        if (!_volumesReady)
        {
            return;
        }

        try
        {
            _volumes.Refresh(_pod);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Event("Warning", "FailedMount", $"MountVolume.SetUp failed: {e.Message}", null);
        }
    }

    /// <summary>A ConfigMap or Secret changed: refresh volumes and retry containers that lacked configuration.</summary>
    public void ConfigChanged() => Post(() =>
    {
        if (_volumesReady)
        {
            RefreshVolumes();
        }
        else
        {
            _setUpRetryAt = null;
        }

        foreach (var slot in _init.Concat(_app).Where(s => s.WaitingReason == "CreateContainerConfigError"))
        {
            slot.RetryAt = null;
        }
    });

    /// <summary>
    /// Stops the pod for good: every running container gets TERM, then KILL at the deadline (the pod's grace period from
    /// the start of the termination), sidecars last, one at a time in reverse order, in what is left of it (at least
    /// 2 s each), as the kubelet does; then the tasks, the network, the volumes and the pod's directory (logs included)
    /// are removed. A deadline moved earlier while containers stop (a shorter grace period) cuts their preStop hooks
    /// short and starts their stops again with what is left of it.
    /// </summary>
    public async Task TerminateAsync(TerminationDeadline deadline, CancellationToken ct)
    {
        await StopLoopAsync();
        _stopped = true;
        var running = _init.Concat(_app).Where(s => s.Handle is not null && s.Phase == ContainerPhase.Running).ToList();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await Task.WhenAll(running.Where(s => !s.Sidecar).Select(slot => StopForGoodAsync(slot, TimeSpan.Zero)));
        foreach (var sidecar in running.Where(s => s.Sidecar).Reverse())
        {
            await StopForGoodAsync(sidecar, MinimumGracePeriod);
        }

        foreach (var slot in _init.Concat(_app).Where(s => s.Handle is not null))
        {
            try
            {
                var driver = _ctx.Drivers.Get(slot.Handle!.Driver);
                if (driver is not null)
                {
                    await driver.DestroyAsync(slot.Handle!, ct);
                }
            }
            catch (DriverException e)
            {
                LogStopFailed(_ctx.Logger, slot.Name, PodDescription, e.Message);
                failures.Enqueue($"removing container {slot.Name}: {e.Message}");
            }
        }

        PublishStatus(force: false);
        if (!failures.IsEmpty)
        {
            // The task records stay, so a later cleanup stops and removes what is left before the pod is confirmed
            // gone; its network and volumes stay with them.
            throw new DriverException(string.Join("; ", failures), "TerminationFailed");
        }

        await PodCleanup.RemoveAsync(_ctx, Uid, _volumes, NeedsPodNetwork(_driver?.Name ?? _ctx.Options.DefaultDriver), ct);

        async Task StopForGoodAsync(ContainerSlot slot, TimeSpan floor)
        {
            Event("Normal", "Killing", $"Stopping container {slot.Name}", slot);
            slot.InstanceCts?.Cancel();
            try
            {
                var driver = _ctx.Drivers.Get(slot.Handle!.Driver) ?? _driver;
                if (driver is not null)
                {
                    var least = await RunPreStopAsync(slot, driver, deadline, floor, ct);
                    await StopByAsync(driver, slot.Handle!, deadline, least, ct);
                    var state = await driver.InspectAsync(slot.Handle!, ct);
                    var exit = state.Exit ?? new TaskExit(137, 9, false, _ctx.Time.GetUtcNow());
                    slot.Exit = Termination(slot, exit);
                }
            }
            catch (DriverException e)
            {
                LogStopFailed(_ctx.Logger, slot.Name, PodDescription, e.Message);
                failures.Enqueue($"stopping container {slot.Name}: {e.Message}");
                return;
            }

            slot.Phase = ContainerPhase.Exited;
            slot.InstanceExited.TrySetResult();
        }
    }

    /// <summary>Stops the worker without touching its containers (agent shutdown): a later run recovers them.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        foreach (var slot in _init.Concat(_app))
        {
            slot.InstanceCts?.Cancel();
        }

        _life.Dispose();
    }

    async Task IContainerOperations.RemoveAsync(string container, CancellationToken ct)
    {
        var slot = Slot(container);
        if (slot.Handle is { } handle && _ctx.Drivers.Get(handle.Driver) is { } driver)
        {
            await driver.DestroyAsync(handle, ct);
        }
    }

    async Task IContainerOperations.PullAsync(string container, CancellationToken ct)
    {
        var slot = Slot(container);
        var driver = _driver!;
        var image = slot.Spec.Image ?? "";
        var policy = PullPolicyOf(slot.Spec);
        try
        {
            // Drivers without images (host processes) have nothing to pull.
            var hasImages = driver.Name != Verge.Agent.Drivers.HostProcess.ProcessDriver.DriverName;
            if (policy != PullPolicy.Never && hasImages)
            {
                Event("Normal", "Pulling", $"Pulling image \"{image}\"", slot);
            }

            var started = _ctx.Time.GetTimestamp();
            var credentials = PullCredentials.For(_pod, image, _ctx.Config);
            var info = await driver.PullImageAsync(new ImageRequest(image, policy, credentials), ct);
            slot.ImageId = info?.Digest ?? slot.ImageId;
            slot.Image = info ?? slot.Image;
            if (info is not null && policy != PullPolicy.Never)
            {
                var seconds = _ctx.Time.GetElapsedTime(started).TotalSeconds;
                Event("Normal", "Pulled", $"Successfully pulled image \"{image}\" in {seconds:0.###}s", slot);
            }

            slot.StartBackOff = BackOffState.None;
        }
        catch (ImagePullException e)
        {
            Event("Warning", "Failed", $"Failed to pull image \"{image}\": {e.Message}", slot);
            Event("Warning", "Failed", $"Error: {e.Reason}", slot);
            FailStart(slot, e.Reason, e.Message);
            throw;
        }
    }

    async Task IContainerOperations.StartAsync(StartStep step, CancellationToken ct)
    {
        var slot = Slot(step.Container);
        var driver = _driver!;
        var instance = step.Restart ? slot.RestartCount + 1 : slot.RestartCount;
        TaskConfig config;
        try
        {
            config = BuildConfig(slot, driver, instance);
        }
        catch (ContainerConfigException e)
        {
            Event("Warning", "Failed", $"Error: {e.Message}", slot);
            FailStart(slot, e.Reason, e.Message);
            throw;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(config.LogPath)!);
        TaskHandle handle;
        try
        {
            handle = await driver.StartAsync(config, ct);
        }
        catch (DriverException e)
        {
            Event("Warning", "Failed", $"Error: {e.Message}", slot);
            FailStart(slot, e.Reason, e.Message);
            throw;
        }

        if (step.Restart)
        {
            slot.LastTermination = slot.Exit;
            slot.RestartCount = instance;
        }

        slot.Generation++;
        slot.Handle = handle;
        slot.Phase = ContainerPhase.Running;
        slot.StartedAt = handle.StartedAt;
        slot.Exit = null;
        slot.Lost = false;
        slot.BackOff = step.BackOff;
        slot.RetryAt = null;
        slot.WaitingReason = null;
        slot.WaitingMessage = null;
        slot.InstanceExited = ContainerSlot.NewExitSignal();
        slot.ResetProbes();
        Save(slot);
        Event("Normal", "Created", $"Created container {slot.Name}", slot);
        Event("Normal", "Started", $"Started container {slot.Name}", slot);
        Attach(slot, driver);
        PublishLogStates();
        await RunPostStartAsync(slot, driver, ct);
    }

    async Task IContainerOperations.StopAsync(StopStep step, CancellationToken ct)
    {
        var slot = Slot(step.Container);
        if (slot.Handle is null || slot.Phase != ContainerPhase.Running || slot.Stopping)
        {
            // Not running, or its stop already done (the exit has not reached the loop yet): nothing to do twice.
            return;
        }

        slot.Stopping = true;
        Event("Normal", "Killing", step.Message, slot);
        var probe = step.Reason != "Unhealthy" ? null : slot.StartupFailed ? slot.Spec.StartupProbe : slot.Spec.LivenessProbe;
        var grace = TimeSpan.FromSeconds(probe?.TerminationGracePeriodSeconds ?? _pod.Spec.TerminationGracePeriodSeconds ?? 30);
        var driver = _ctx.Drivers.Get(slot.Handle.Driver)!;
        using var deadline = TerminationDeadline.After(grace, _ctx.Time);
        var least = await RunPreStopAsync(slot, driver, deadline, TimeSpan.Zero, ct);
        await StopByAsync(driver, slot.Handle, deadline, least, ct);
    }

    /// <summary>The least grace period a container gets after its preStop hook, as the kubelet's minimumGracePeriodInSeconds.</summary>
    private static readonly TimeSpan MinimumGracePeriod = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs the container's preStop hook before it is stopped (the kubelet's executePreStopHook), within what is left
    /// until the deadline (at least <paramref name="floor"/>); a failure is a <c>FailedPreStopHook</c> event and the
    /// stop goes on. A hook still running when a deadline moved earlier has passed is cut short. Returns the least
    /// grace period the stop then gets: 2 s after a hook (the kubelet's minimum), else <paramref name="floor"/>.
    /// </summary>
    private async Task<TimeSpan> RunPreStopAsync(ContainerSlot slot, IWorkloadDriver driver, TerminationDeadline deadline, TimeSpan floor, CancellationToken ct)
    {
        if (slot.Spec.Lifecycle?.PreStop is not { } hook || slot.Handle is not { } handle)
        {
            return floor;
        }

        var (left, moved) = deadline.Snapshot(floor);
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var cutter = CutWhenShortenedAsync();
        try
        {
            if (await LifecycleHooks.RunAsync(hook, slot.Spec, PodDescription, driver, handle, ContainerAddress, left, _ctx.Time, cut.Token) is { } failure)
            {
                Event("Warning", "FailedPreStopHook", failure, slot);
            }
        }
        catch (OperationCanceledException) when (cut.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            LogPreStopCut(_ctx.Logger, slot.Name, PodDescription);
        }
        finally
        {
            await done.CancelAsync();
            await cutter;
        }

        return MinimumGracePeriod;

        // The hook's own timeout covers the deadline as it was; this covers a deadline moved earlier.
        async Task CutWhenShortenedAsync()
        {
            try
            {
                await deadline.WhenPassedAsync(done.Token);
                if (moved.IsCancellationRequested)
                {
                    await cut.CancelAsync();
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Stops the task: TERM, then KILL once the deadline has passed (but not before <paramref name="least"/>). When the
    /// deadline moves earlier meanwhile, the stop starts again with what is left of it, as the kubelet cancels a kill
    /// under way and kills again with the shorter grace period.
    /// </summary>
    internal static async Task StopByAsync(IWorkloadDriver driver, TaskHandle handle, TerminationDeadline deadline, TimeSpan least, CancellationToken ct)
    {
        while (true)
        {
            var (left, moved) = deadline.Snapshot(least);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, moved);
            try
            {
                await driver.StopAsync(handle, left, stop.Token);
                return;
            }
            catch (OperationCanceledException) when (moved.IsCancellationRequested && !ct.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>
    /// Runs the container's postStart hook right after it started, as the kubelet does before it goes on with the
    /// pod; a failure is a <c>FailedPostStartHook</c> event and the container is stopped, to be restarted as its
    /// restart policy says.
    /// </summary>
    private async Task RunPostStartAsync(ContainerSlot slot, IWorkloadDriver driver, CancellationToken ct)
    {
        if (slot.Spec.Lifecycle?.PostStart is not { } hook || slot.Handle is not { } handle)
        {
            return;
        }

        var failure = await LifecycleHooks.RunAsync(hook, slot.Spec, PodDescription, driver, handle, ContainerAddress, Timeout.InfiniteTimeSpan, _ctx.Time, ct);
        if (failure is null || slot.Handle != handle || slot.Phase != ContainerPhase.Running)
        {
            return;
        }

        Event("Warning", "FailedPostStartHook", failure, slot);
        Event("Normal", "Killing", "FailedPostStartHook", slot);
        await driver.StopAsync(handle, TimeSpan.FromSeconds(Math.Max(0, _pod.Spec.TerminationGracePeriodSeconds ?? 30)), ct);
    }

    /// <summary>Where a probe or hook with no host of its own connects: the pod's IP (the node's on the host network).</summary>
    private string? ContainerAddress => _pod.Spec.HostNetwork == true ? _ctx.Options.HostIp : _podIp;

    private static bool SameDefinition(Container a, Container b) =>
        JsonSerializer.Serialize(a, NodeJsonContext.Default.Container) == JsonSerializer.Serialize(b, NodeJsonContext.Default.Container);

    private static PullPolicy PullPolicyOf(Container container) => container.ImagePullPolicy switch
    {
        "Always" => PullPolicy.Always,
        "Never" => PullPolicy.Never,
        "IfNotPresent" => PullPolicy.IfNotPresent,
        _ => (container.Image ?? "").EndsWith(":latest", StringComparison.Ordinal) || !(container.Image ?? "").Contains(':', StringComparison.Ordinal)
            ? PullPolicy.Always
            : PullPolicy.IfNotPresent,
    };

    private static RestartPolicy RestartPolicyOf(Pod pod) => pod.Spec.RestartPolicy switch
    {
        "Never" => RestartPolicy.Never,
        "OnFailure" => RestartPolicy.OnFailure,
        _ => RestartPolicy.Always,
    };

    private static TerminationRecord Termination(ContainerSlot slot, TaskExit exit) => new(
        exit.ExitCode,
        exit.Signal,
        exit.Reason,
        exit.Message,
        slot.StartedAt,
        exit.FinishedAt,
        slot.Handle is { } h ? $"{h.Driver}://{h.Id}" : null);

    private void FailStart(ContainerSlot slot, string reason, string message)
    {
        var now = _ctx.Time.GetUtcNow();
        slot.WaitingReason = reason;
        slot.WaitingMessage = message;
        slot.StartBackOff = slot.StartBackOff.Restarted(now);
        slot.RetryAt = now + slot.StartBackOff.Delay;
    }

    private TaskConfig BuildConfig(ContainerSlot slot, IWorkloadDriver driver, int instance)
    {
        var facts = new PodRuntimeFacts(_ctx.Options.NodeName, _ctx.Options.HostIp, _podIp, _ctx.Options.NodeCpuMillis, _ctx.Options.NodeMemoryBytes, _ctx.Options.NodeEphemeralStorageBytes);
        var env = EnvResolver.Resolve(_pod, slot.Spec, _ctx.Config, facts);
        var mounts = _volumes.MountsFor(_pod, slot.Spec);
        var limits = slot.Spec.Resources?.Limits ?? [];
        var requests = slot.Spec.Resources?.Requests ?? [];
        var security = slot.Spec.SecurityContext;
        return new TaskConfig
        {
            Id = $"{Uid}-{slot.Name}-{instance}",
            PodUid = Uid,
            PodNamespace = Namespace,
            PodName = Name,
            ContainerName = slot.Name,
            Image = slot.Image,
            ImageReference = slot.Spec.Image,
            Command = EnvResolver.ExpandAll(slot.Spec.Command, env),
            Args = EnvResolver.ExpandAll(slot.Spec.Args, env),
            Env = env,
            WorkingDir = slot.Spec.WorkingDir,
            RunAsUser = security?.RunAsUser ?? _pod.Spec.SecurityContext?.RunAsUser,
            RunAsGroup = security?.RunAsGroup ?? _pod.Spec.SecurityContext?.RunAsGroup,
            ReadOnlyRootFilesystem = security?.ReadOnlyRootFilesystem == true,
            Security = ContainerSecurity.Resolve(_pod, slot.Spec, Path.Combine(_ctx.Options.DataDir, "seccomp")),
            Mounts = mounts,
            Resources = new TaskResources
            {
                MemoryLimitBytes = limits.TryGetValue("memory", out var memory) ? memory.Value() : null,
                CpuLimitMillis = limits.TryGetValue("cpu", out var cpu) ? cpu.MilliValue() : null,
                CpuRequestMillis = requests.TryGetValue("cpu", out var cpuRequest) ? cpuRequest.MilliValue() : null,
            },
            NetworkNamespacePath = _networkPath,
            SupplementalGroups = SupplementalGroupsOf(_pod.Spec.SecurityContext),
            HostPid = _pod.Spec.HostPID == true,
            HostIpc = _pod.Spec.HostIPC == true,
            IpcNamespacePath = _ipc?.Namespace,
            ShmPath = _ipc?.Shm,
            Hostname = _pod.Spec.Hostname ?? Name,
            HostAliases = _pod.Spec.HostAliases,
            DnsPolicy = _pod.Spec.DnsPolicy,
            DnsConfig = _pod.Spec.DnsConfig,
            LogPath = _ctx.Options.LogPath(Uid, slot.Name, instance),
        };
    }

    private ContainerSlot Slot(string name) => _init.Concat(_app).First(s => s.Name == name);

    private void Post(Action action) => _inbox.Writer.TryWrite(action);

    private async Task StopLoopAsync()
    {
        if (!_life.IsCancellationRequested)
        {
            await _life.CancelAsync();
        }

        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private bool NeedsPodNetwork(string driverName) =>
        _pod.Spec.HostNetwork != true && !_ctx.Options.HostNetworkDrivers.Contains(driverName);

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                while (_inbox.Reader.TryRead(out var action))
                {
                    action();
                }

                DateTimeOffset? wake;
                PodPlan? plan = null;
                if (!await SetUpAsync(ct))
                {
                    wake = _setUpRetryAt;
                }
                else
                {
                    plan = PodPlanner.Plan(Input());
                    wake = plan.WakeAt;
                    if (plan.Groups.Count > 0)
                    {
                        if (await _runner.RunAsync(plan, ct) > 0)
                        {
                            continue;
                        }

                        // Nothing could be done: look again after the failures' back-off, and at the latest after
                        // the set-up retry interval, so a command that keeps failing never spins.
                        plan = PodPlanner.Plan(Input());
                        var retry = _ctx.Time.GetUtcNow() + _ctx.Options.SetUpRetry;
                        wake = plan.WakeAt is { } at && at < retry ? at : retry;
                    }

                    NoteBackOff(plan);
                }

                PublishStatus(force: false, plan);
                if (AdvancePullBackOff())
                {
                    continue;
                }

                await WaitAsync(wake, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Keep the pod alive: log, and look again after the set-up retry interval.
                LogLoopFailed(_ctx.Logger, PodDescription, e);
                await WaitAsync(_ctx.Time.GetUtcNow() + _ctx.Options.SetUpRetry, ct);
            }
        }
    }

    private async Task WaitAsync(DateTimeOffset? wake, CancellationToken ct)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var read = _inbox.Reader.WaitToReadAsync(timer.Token).AsTask();
        if (wake is { } at)
        {
            var delay = at - _ctx.Time.GetUtcNow();
            if (delay <= TimeSpan.Zero)
            {
                return;
            }

            var sleep = Task.Delay(delay, _ctx.Time, timer.Token);
            await Task.WhenAny(read, sleep);
        }
        else
        {
            await Task.WhenAny(read);
        }

        await timer.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    private PlanInput Input() => new(
        PodDescription,
        RestartPolicyOf(_pod),
        [.. _init.Select(s => s.View())],
        [.. _app.Select(s => s.View())],
        _ctx.Time.GetUtcNow());

    private void NoteBackOff(PodPlan plan)
    {
        var now = new HashSet<string>(plan.Waits.Select(w => w.Container), StringComparer.Ordinal);
        foreach (var wait in plan.Waits.Where(w => !_inBackOff.Contains(w.Container)))
        {
            Event("Warning", "BackOff", $"Back-off restarting failed container {wait.Container} in pod {PodDescription}", Slot(wait.Container));
        }

        _inBackOff.Clear();
        _inBackOff.UnionWith(now);
    }

    /// <summary>ErrImagePull is shown once; while the retry waits the container shows ImagePullBackOff.</summary>
    private bool AdvancePullBackOff()
    {
        var changed = false;
        foreach (var slot in _init.Concat(_app).Where(s => s.WaitingReason == "ErrImagePull"))
        {
            slot.WaitingReason = "ImagePullBackOff";
            slot.WaitingMessage = $"Back-off pulling image \"{slot.Spec.Image}\"";
            Event("Normal", "BackOff", slot.WaitingMessage, slot);
            changed = true;
        }

        return changed;
    }

    /// <summary>Driver, network, volumes, then recovery of earlier tasks; false while something is missing.</summary>
    private async Task<bool> SetUpAsync(CancellationToken ct)
    {
        if (_driver is not null && _networkReady && _ipcReady && _volumesReady && _recovered)
        {
            return true;
        }

        var now = _ctx.Time.GetUtcNow();
        if (_setUpRetryAt is { } retry && retry > now)
        {
            return false;
        }

        if (_driver is null)
        {
            var (driver, error) = await _ctx.Drivers.ResolveAsync(_pod.Spec.RuntimeClassName, ct);
            if (driver is null)
            {
                return SetUpFailed("FailedCreatePodSandBox", $"Failed to create pod sandbox: {error}");
            }

            _driver = driver;
            ReportDnsConfigForming(driver);
        }

        if (!_networkReady)
        {
            if (NeedsPodNetwork(_driver.Name))
            {
                try
                {
                    var ports = _pod.Spec.Containers.SelectMany(c => c.Ports ?? [])
                        .Where(p => p.HostPort is > 0)
                        .Select(p => new PortMapping(p.HostPort!.Value, p.Port, p.Protocol ?? "TCP"))
                        .ToList();
                    var network = await _ctx.Network.SetUpAsync(new PodNetworkRequest(Uid, Namespace, Name, ports), ct);
                    _podIp = network.PodIp;
                    _networkPath = network.NamespacePath;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return SetUpFailed("FailedCreatePodSandBox", $"Failed to create pod sandbox: {e.Message}");
                }
            }
            else
            {
                _podIp = _ctx.Options.HostIp;
                _networkPath = null;
            }

            _networkReady = true;
        }

        if (!_ipcReady)
        {
            if (_pod.Spec.HostIPC != true && _ctx.Options.PodIpcDrivers.Contains(_driver.Name))
            {
                try
                {
                    _ipc = await PodIpc.SetUpAsync(_ctx.Options.PodDir(Uid), ct);
                }
                catch (PodIpcException e)
                {
                    return SetUpFailed("FailedCreatePodSandBox", $"Failed to create pod sandbox: {e.Message}");
                }
            }

            _ipcReady = true;
        }

        if (!_volumesReady)
        {
            try
            {
                await _volumes.PrepareAsync(_pod, ct);
            }
            catch (VolumeException e)
            {
                return SetUpFailed("FailedMount", e.Message);
            }

            _volumesReady = true;
        }

        if (!_recovered)
        {
            await RecoverAsync(ct);
            _recovered = true;
        }

        _pendingMessage = null;
        _setUpRetryAt = null;
        return true;
    }

    /// <summary>
    /// What the resolver's limits cut from the pod's DNS settings, as the kubelet's <c>DNSConfigForming</c> Warning
    /// events: once per pod start, for a driver that writes the containers' resolv.conf. A node file that cannot be
    /// read reports nothing here; the container's start fails on it.
    /// </summary>
    private void ReportDnsConfigForming(IWorkloadDriver driver)
    {
        if (driver is not IResolvConfWriter writer)
        {
            return;
        }

        IReadOnlyList<string> warnings;
        try
        {
            warnings = writer.DnsConfigWarnings(_pod.Spec.DnsPolicy, _pod.Spec.DnsConfig);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var warning in warnings)
        {
            Event("Warning", "DNSConfigForming", warning, null);
        }
    }

    private bool SetUpFailed(string reason, string message)
    {
        if (_pendingMessage != message)
        {
            Event("Warning", reason, message, null);
        }

        _pendingMessage = message;
        _setUpRetryAt = _ctx.Time.GetUtcNow() + _ctx.Options.SetUpRetry;
        return false;
    }

    /// <summary>Re-attaches to tasks a previous agent run started; tasks lost with a reboot are started again.</summary>
    private async Task RecoverAsync(CancellationToken ct)
    {
        foreach (var record in _ctx.State.ListTasks(Uid))
        {
            var slot = _init.Concat(_app).FirstOrDefault(s => s.Name == record.Container && s.Init == record.Init);
            if (slot is null)
            {
                continue;
            }

            slot.RestartCount = record.RestartCount;
            slot.LastTermination = record.LastTermination;
            slot.ImageId = record.ImageId;
            slot.Handle = record.Handle;
            slot.StartedAt = record.Handle?.StartedAt;
            if (record.Handle is not { } handle)
            {
                continue;
            }

            if (record.Exit is not null)
            {
                slot.Phase = ContainerPhase.Exited;
                slot.Exit = record.Exit;
                slot.InstanceExited.TrySetResult();
                continue;
            }

            var driver = _ctx.Drivers.Get(handle.Driver);
            var recovered = false;
            try
            {
                recovered = driver is not null && await driver.RecoverAsync(handle, ct);
            }
            catch (DriverException e)
            {
                LogRecoverFailed(_ctx.Logger, slot.Name, PodDescription, e.Message);
            }

            if (recovered)
            {
                var state = await driver!.InspectAsync(handle, ct);
                if (state.Phase == TaskPhase.Exited && state.Exit is { } exit)
                {
                    slot.Phase = ContainerPhase.Exited;
                    slot.Exit = Termination(slot, exit);
                    slot.InstanceExited.TrySetResult();
                    Save(slot);
                }
                else
                {
                    slot.Phase = ContainerPhase.Running;
                    slot.Generation++;
                    Attach(slot, driver);
                }

                LogRecovered(_ctx.Logger, slot.Name, PodDescription);
                continue;
            }

            // The task is gone (the machine rebooted): start it again, counting a restart, as kubelet does.
            slot.Phase = ContainerPhase.Exited;
            slot.Lost = true;
            slot.Exit = new TerminationRecord(255, null, "Unknown", "The container could not be located when the agent restarted", handle.StartedAt, _ctx.Time.GetUtcNow(), $"{handle.Driver}://{handle.Id}");
            slot.InstanceExited.TrySetResult();
            LogLost(_ctx.Logger, slot.Name, PodDescription);
        }

        PublishLogStates();
    }

    /// <summary>Watches the instance's exit and runs its probes.</summary>
    private void Attach(ContainerSlot slot, IWorkloadDriver driver)
    {
        slot.InstanceCts?.Cancel();
        slot.InstanceCts?.Dispose();
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_life.Token);
        slot.InstanceCts = cts;
        var generation = slot.Generation;
        var handle = slot.Handle!;
        var ct = cts.Token;

        _ = Task.Run(
            async () =>
            {
                try
                {
                    var exit = await driver.WaitAsync(handle, ct);
                    Post(() => OnExited(slot, generation, exit));
                }
                catch (OperationCanceledException)
                {
                }
                catch (DriverException e)
                {
                    Post(() => OnExited(slot, generation, new TaskExit(255, null, false, _ctx.Time.GetUtcNow(), e.Message)));
                }
            },
            CancellationToken.None);

        if (slot.Spec.StartupProbe is { } startup)
        {
            StartProbe(slot, driver, ProbeKind.Startup, startup, generation, ct);
        }
        else
        {
            slot.Started = true;
            StartLivenessAndReadiness(slot, driver, generation, ct);
        }
    }

    private void StartLivenessAndReadiness(ContainerSlot slot, IWorkloadDriver driver, int generation, CancellationToken ct)
    {
        if (slot.Spec.LivenessProbe is { } liveness)
        {
            StartProbe(slot, driver, ProbeKind.Liveness, liveness, generation, ct);
        }

        if (slot.Spec.ReadinessProbe is { } readiness)
        {
            StartProbe(slot, driver, ProbeKind.Readiness, readiness, generation, ct);
        }
        else
        {
            slot.Ready = true;
        }
    }

    private void StartProbe(ContainerSlot slot, IWorkloadDriver driver, ProbeKind kind, Probe probe, int generation, CancellationToken ct)
    {
        var settings = ProbeSettings.From(probe, kind);
        var spec = slot.Spec;
        var handle = slot.Handle!;
        var address = ContainerAddress;
        _ = Task.Run(
            async () =>
            {
                try
                {
                    if (settings.InitialDelay > TimeSpan.Zero)
                    {
                        await Task.Delay(settings.InitialDelay, _ctx.Time, ct);
                    }

                    while (!ct.IsCancellationRequested)
                    {
                        var outcome = await ProbeRunner.RunAsync(settings, spec, driver, handle, address, ct);
                        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                        Post(() => done.TrySetResult(OnProbe(slot, generation, kind, settings, outcome, driver)));
                        if (!await done.Task.WaitAsync(ct))
                        {
                            return;
                        }

                        await Task.Delay(settings.Period, _ctx.Time, ct);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            },
            CancellationToken.None);
    }

    /// <summary>Applies one probe result; returns whether the probe should keep running.</summary>
    private bool OnProbe(ContainerSlot slot, int generation, ProbeKind kind, ProbeSettings settings, ProbeOutcome outcome, IWorkloadDriver driver)
    {
        if (slot.Generation != generation || slot.Phase != ContainerPhase.Running)
        {
            return false;
        }

        var counter = kind switch
        {
            ProbeKind.Startup => slot.Startup,
            ProbeKind.Liveness => slot.Liveness,
            _ => slot.Readiness,
        };
        counter.Record(outcome.Success);
        var label = kind switch
        {
            ProbeKind.Startup => "Startup",
            ProbeKind.Liveness => "Liveness",
            _ => "Readiness",
        };
        if (!outcome.Success)
        {
            Event("Warning", "Unhealthy", $"{label} probe failed: {outcome.Output}", slot);
        }

        switch (kind)
        {
            case ProbeKind.Startup:
                if (outcome.Success)
                {
                    slot.Started = true;
                    StartLivenessAndReadiness(slot, driver, generation, slot.InstanceCts!.Token);
                    return false;
                }

                if (counter.Failures >= settings.FailureThreshold)
                {
                    slot.StartupFailed = true;
                    return false;
                }

                return true;
            case ProbeKind.Liveness:
                if (counter.Failures >= settings.FailureThreshold)
                {
                    slot.LivenessFailed = true;
                    return false;
                }

                return true;
            default:
                if (outcome.Success && counter.Successes >= settings.SuccessThreshold)
                {
                    slot.Ready = true;
                }
                else if (!outcome.Success && counter.Failures >= settings.FailureThreshold)
                {
                    slot.Ready = false;
                }

                return true;
        }
    }

    private void OnExited(ContainerSlot slot, int generation, TaskExit exit)
    {
        if (slot.Generation != generation || slot.Phase != ContainerPhase.Running)
        {
            return;
        }

        slot.InstanceCts?.Cancel();
        slot.Phase = ContainerPhase.Exited;
        slot.Exit = Termination(slot, exit);

        // Stopped because its definition changed: started again whatever the restart policy, without back-off.
        slot.Lost = slot.SpecChanged;
        slot.SpecChanged = false;
        slot.Ready = false;
        slot.Started = false;
        slot.Stopping = false;
        slot.LivenessFailed = false;
        slot.StartupFailed = false;
        slot.InstanceExited.TrySetResult();
        Save(slot);
        PublishLogStates();
    }

    private void Save(ContainerSlot slot) => _ctx.State.SaveTask(new TaskRecord
    {
        PodUid = Uid,
        Container = slot.Name,
        Init = slot.Init,
        RestartCount = slot.RestartCount,
        Handle = slot.Handle,
        ImageId = slot.ImageId,
        Exit = slot.Phase == ContainerPhase.Exited ? slot.Exit : null,
        LastTermination = slot.LastTermination,
    });

    private void PublishLogStates()
    {
        var states = new Dictionary<string, ContainerLogState>(StringComparer.Ordinal);
        foreach (var slot in _init.Concat(_app))
        {
            int? current = slot.Handle is null ? null : slot.RestartCount;
            var previous = slot.Handle is not null && slot.RestartCount > 0 ? slot.RestartCount - 1 : (int?)null;
            states[slot.Name] = new ContainerLogState(
                current,
                previous,
                slot.Phase == ContainerPhase.Running,
                slot.WaitingReason ?? (slot.Handle is null ? "ContainerCreating" : null),
                slot.InstanceExited.Task);
        }

        _logStates = states;
    }

    private void PublishStatus(bool force, PodPlan? plan = null)
    {
        var input = Input();
        var phase = PodPlanner.Phase(input);
        if (_stopped && phase is not ("Succeeded" or "Failed"))
        {
            // A pod stopped for good is finished, as the kubelet reports a deleted pod: Succeeded when every
            // container ran and exited 0, Failed otherwise.
            phase = _app.All(s => s.Exit?.ExitCode == 0) ? "Succeeded" : "Failed";
        }
        var facts = new PodStatusFacts(
            _podIp,
            _ctx.Options.HostIp,
            _startTime,
            _ctx.Time.GetUtcNow(),
            _pendingMessage is null ? null : "ContainerCreating",
            _pendingMessage);
        var status = PodStatusBuilder.Build(_pod, _init, _app, plan, phase, facts, _lastStatus);
        var json = JsonSerializer.Serialize(status, NodeJsonContext.Default.PodStatus);
        if (!force && json == _lastStatusJson)
        {
            return;
        }

        _lastStatus = status;
        _lastStatusJson = json;
        _ctx.Publisher.PublishPodStatus(Namespace, Name, Uid, status);
    }

    /// <summary>The pod's fsGroup, then its supplementalGroups, each once (the kubelet's order).</summary>
    private static List<long> SupplementalGroupsOf(PodSecurityContext? context) =>
        [.. new[] { context?.FsGroup }.OfType<long>().Concat(context?.SupplementalGroups ?? []).Distinct()];

    private void Event(string type, string reason, string message, ContainerSlot? slot) =>
        _ctx.Publisher.PublishEvent(KubeletEvent.About(
            Namespace,
            Name,
            Uid,
            slot is null ? null : $"spec.{(slot.Init ? "initContainers" : "containers")}{{{slot.Name}}}",
            type,
            reason,
            message,
            _ctx.Options.NodeName,
            _ctx.Time.GetUtcNow()));

    [LoggerMessage(EventId = 5201, Level = LogLevel.Error, Message = "Pod worker for {Pod} failed; retrying")]
    private static partial void LogLoopFailed(ILogger logger, string pod, Exception error);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Information, Message = "Container {Container} of {Pod} re-attached after an agent restart")]
    private static partial void LogRecovered(ILogger logger, string container, string pod);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Information, Message = "Container {Container} of {Pod} was lost (reboot?); starting it again")]
    private static partial void LogLost(ILogger logger, string container, string pod);

    [LoggerMessage(EventId = 5204, Level = LogLevel.Warning, Message = "Recovering container {Container} of {Pod} failed: {Error}")]
    private static partial void LogRecoverFailed(ILogger logger, string container, string pod, string error);

    [LoggerMessage(EventId = 5205, Level = LogLevel.Warning, Message = "Stopping container {Container} of {Pod} failed: {Error}")]
    private static partial void LogStopFailed(ILogger logger, string container, string pod, string error);

    [LoggerMessage(EventId = 5206, Level = LogLevel.Information, Message = "PreStop hook of container {Container} of {Pod} cut short: the grace period was shortened")]
    private static partial void LogPreStopCut(ILogger logger, string container, string pod);
}

/// <summary>What the log reader needs to know of a container: its current and previous instance numbers.</summary>
internal sealed record ContainerLogState(int? Current, int? Previous, bool Running, string? WaitingReason, Task CurrentExited);
