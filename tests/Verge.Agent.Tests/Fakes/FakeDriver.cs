using System.Collections.Concurrent;
using Verge.Agent.Drivers;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Fakes;

/// <summary>
/// A workload driver in memory: tasks "run" until the test ends them (<see cref="Exit"/>), stops complete at once
/// (or, for containers in <see cref="IgnoringTerm"/>, when their grace period has passed on the clock), exec results are set per container, pulls fail for images listed in <see cref="FailingImages"/>, and recovery
/// succeeds for tasks this instance knows (a new instance is a rebooted machine).
/// </summary>
internal sealed class FakeDriver(string name = "fake", TimeProvider? time = null) : IWorkloadDriver, IResolvConfWriter
{
    private readonly ConcurrentDictionary<string, FakeTask> _tasks = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _released = new();

    public string Name { get; } = name;

    public bool Healthy { get; set; } = true;

    public ConcurrentDictionary<string, string> FailingImages { get; } = new();

    /// <summary>Exec results by the command's first word, else by container name; missing means exit 0.</summary>
    public ConcurrentDictionary<string, ExecResult> ExecResults { get; } = new();

    /// <summary>The node's resolv.conf, as a driver that writes the containers' resolv.conf reads it.</summary>
    public string NodeResolvConf { get; set; } = "";

    public ConcurrentQueue<TaskConfig> Started { get; } = new();

    public ConcurrentQueue<(string Id, TimeSpan Grace)> Stops { get; } = new();

    /// <summary>How many of the next stops fail with a DriverException (the task keeps running).</summary>
    public int FailingStops;

    /// <summary>Containers whose tasks ignore TERM: a stop waits out its grace period on the clock, then kills (values unused).</summary>
    public ConcurrentDictionary<string, byte> IgnoringTerm { get; } = new();

    /// <summary>The stops issued to a container's tasks, in order.</summary>
    public IEnumerable<TimeSpan> StopsOf(string container) => Stops.Where(s => _tasks.TryGetValue(s.Id, out var t) && t.Config.ContainerName == container).Select(s => s.Grace);

    /// <summary>The exit code of a stopped task: null for a KILL (137, signal 9), else a clean exit on TERM.</summary>
    public int? StopExitCode { get; set; }

    public ConcurrentQueue<string> Destroyed { get; } = new();

    public ConcurrentQueue<string> Recovered { get; } = new();

    public ConcurrentQueue<(string Container, string Command)> ExecCommands { get; } = new();

    /// <summary>Commands (by first word) whose execs never end on their own: they wait until cancelled (values unused).</summary>
    public ConcurrentDictionary<string, byte> HangingExecs { get; } = new();

    public int Execs;

    public IEnumerable<TaskConfig> StartsOf(string container) => Started.Where(s => s.ContainerName == container);

    public int RunningCount(string container) => _tasks.Values.Count(t => t.Config.ContainerName == container && !t.Exit.Task.IsCompleted);

    /// <summary>Ends the running instance of a container.</summary>
    public void Exit(string container, int code, bool oomKilled = false)
    {
        var task = _tasks.Values.Single(t => t.Config.ContainerName == container && !t.Exit.Task.IsCompleted);
        task.Exit.TrySetResult(new TaskExit(code, oomKilled ? 9 : null, oomKilled, _time.GetUtcNow()));
    }

    public Task<DriverFingerprint> FingerprintAsync(CancellationToken ct) =>
        Task.FromResult(new DriverFingerprint(Healthy, Healthy ? "ok" : "the fake runtime is switched off"));

    public Task<ImageInfo?> PullImageAsync(ImageRequest request, CancellationToken ct)
    {
        if (FailingImages.TryGetValue(request.Reference, out var message))
        {
            throw new ImagePullException(message);
        }

        return Task.FromResult<ImageInfo?>(new ImageInfo(request.Reference, "sha256:" + new string('a', 64), new ImageConfig(), [], 0));
    }

    public Task<TaskHandle> StartAsync(TaskConfig config, CancellationToken ct)
    {
        if (config.ImageReference == "bad-command")
        {
            throw new DriverException("exec: \"nope\": executable file not found in $PATH", "RunContainerError");
        }

        var handle = new TaskHandle(Name, config.Id, "fake-state", _time.GetUtcNow());
        _tasks[config.Id] = new FakeTask(config, handle);
        Started.Enqueue(config);
        Directory.CreateDirectory(Path.GetDirectoryName(config.LogPath)!);
        File.AppendAllText(config.LogPath, $"started {config.Id}\n");
        return Task.FromResult(handle);
    }

    public async Task<TaskExit> WaitAsync(TaskHandle handle, CancellationToken ct)
    {
        if (!_tasks.TryGetValue(handle.Id, out var task))
        {
            throw new DriverException($"no task {handle.Id}");
        }

        return await task.Exit.Task.WaitAsync(ct);
    }

    public async Task StopAsync(TaskHandle handle, TimeSpan gracePeriod, CancellationToken ct)
    {
        var task = _tasks.GetValueOrDefault(handle.Id);

        // TERM changes nothing for these: KILL once the grace period is over. The timer exists before the stop is
        // recorded, so a test that saw the stop can move the clock past it.
        var kill = task is not null && IgnoringTerm.ContainsKey(task.Config.ContainerName) && !task.Exit.Task.IsCompleted
            ? KillAfterAsync(task, gracePeriod, ct)
            : null;
        Stops.Enqueue((handle.Id, gracePeriod));
        if (Interlocked.Decrement(ref FailingStops) >= 0)
        {
            throw new DriverException("the runtime did not answer", "StopFailed");
        }

        if (kill is not null)
        {
            await kill;
        }
        else
        {
            task?.Exit.TrySetResult(StopExitCode is { } code ? new TaskExit(code, null, false, _time.GetUtcNow()) : new TaskExit(137, 9, false, _time.GetUtcNow()));
        }
    }

    /// <summary>
    /// Ends whatever waits in this driver (stops of tasks that ignore TERM kill at once, hanging execs return), so a
    /// test that failed ends instead of hanging in its host's disposal.
    /// </summary>
    public void Release() => _released.Cancel();

    private async Task KillAfterAsync(FakeTask task, TimeSpan gracePeriod, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, _released.Token);
        try
        {
            await Task.Delay(gracePeriod > TimeSpan.Zero ? gracePeriod : TimeSpan.Zero, _time, wait.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }

        task.Exit.TrySetResult(new TaskExit(137, 9, false, _time.GetUtcNow()));
    }

    public Task DestroyAsync(TaskHandle handle, CancellationToken ct)
    {
        Destroyed.Enqueue(handle.Id);
        return Task.CompletedTask;
    }

    public Task<TaskState> InspectAsync(TaskHandle handle, CancellationToken ct)
    {
        if (!_tasks.TryGetValue(handle.Id, out var task))
        {
            return Task.FromResult(new TaskState(TaskPhase.Unknown, null, null));
        }

        return Task.FromResult(task.Exit.Task.IsCompleted
            ? new TaskState(TaskPhase.Exited, task.Exit.Task.Result, null)
            : new TaskState(TaskPhase.Running, null, 4242));
    }

    public Task<TaskStats?> StatsAsync(TaskHandle handle, CancellationToken ct) => Task.FromResult<TaskStats?>(null);

    public Task<bool> RecoverAsync(TaskHandle handle, CancellationToken ct)
    {
        Recovered.Enqueue(handle.Id);
        return Task.FromResult(_tasks.ContainsKey(handle.Id));
    }

    public IReadOnlyList<string> DnsConfigWarnings(string? dnsPolicy, Verge.Core.Core.PodDnsConfig? dnsConfig)
    {
        var warnings = new List<string>();
        Verge.Agent.Drivers.Runc.EtcFiles.PodResolver(Verge.Agent.Drivers.Runc.EtcFiles.ParseResolvConf(NodeResolvConf), dnsPolicy, dnsConfig, warnings);
        return warnings;
    }

    public async Task<ExecResult> ExecAsync(TaskHandle handle, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        Interlocked.Increment(ref Execs);
        var container = _tasks.TryGetValue(handle.Id, out var task) ? task.Config.ContainerName : "";
        var first = command.Count > 0 ? command[0] : "";
        ExecCommands.Enqueue((container, string.Join(' ', command)));
        if (HangingExecs.ContainsKey(first))
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, _released.Token);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, wait.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
        }

        return ExecResults.GetValueOrDefault(first) ?? ExecResults.GetValueOrDefault(container) ?? new ExecResult(0, "", false);
    }

    private sealed class FakeTask(TaskConfig config, TaskHandle handle)
    {
        public TaskConfig Config { get; } = config;

        public TaskHandle Handle { get; } = handle;

        public TaskCompletionSource<TaskExit> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
