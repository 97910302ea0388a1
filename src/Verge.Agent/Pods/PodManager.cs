using Microsoft.Extensions.Logging;
using Verge.Agent.Channel;
using Verge.Agent.Drivers;
using Verge.Agent.State;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>A pod as the log reader sees it.</summary>
internal sealed record PodLogTarget(string Uid, string Name, IReadOnlyList<string> Containers, IReadOnlyList<string> InitContainers, IReadOnlyDictionary<string, ContainerLogState> States);

/// <summary>Finds a pod's containers and their log instances (implemented by the pod manager).</summary>
internal interface IContainerLogIndex
{
    PodLogTarget? Find(string podNamespace, string podName);
}

/// <summary>Starts commands in the running containers of the node's pods (implemented by the pod manager).</summary>
public interface IContainerExec
{
    /// <summary>
    /// Starts the command in the named container. Throws <see cref="DriverException"/>, with words for the user, when
    /// the pod is not on this node, the container is not running or its driver cannot exec.
    /// </summary>
    Task<IExecProcess> StartExecAsync(string podNamespace, string podName, string container, InteractiveExec request, CancellationToken ct);
}

/// <summary>
/// Runs one <see cref="PodWorker"/> per desired pod UID. At start it runs the pods in local state (no control plane
/// needed: offline autonomy); on every change of local state it starts workers for new pods, updates changed ones,
/// refreshes pods whose ConfigMaps or Secrets changed, and terminates pods that are no longer desired or are being
/// deleted (TERM, the grace period, KILL, then network, volumes and files).
/// </summary>
internal sealed partial class PodManager : IContainerLogIndex, IContainerExec, IAsyncDisposable
{
    private readonly PodWorkerContext _ctx;
    private readonly Dictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task> _terminating = new(StringComparer.Ordinal);

    // Workers whose pod is being stopped, until their termination ends (for their logs).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, PodWorker> _stopping = new(StringComparer.Ordinal);

    // The deadlines of the terminations under way, by pod UID, and whether each stops a pod being deleted (as opposed
    // to one that was already gone): a later, shorter grace period of the pod, or its disappearance, moves them.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (TerminationDeadline Deadline, bool Deleting)> _deadlines = new(StringComparer.Ordinal);

    // Pods being deleted whose termination this run has confirmed to the control plane (values unused).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _confirmed = new(StringComparer.Ordinal);

    /// <summary>How long after a failed termination the pod manager syncs again to retry it.</summary>
    internal static readonly TimeSpan TerminationRetryDelay = TimeSpan.FromSeconds(10);
    private volatile PodWorker[] _snapshot = [];
    private readonly SemaphoreSlim _sync = new(1, 1);

    // Pods the node refused to admit: failed once, never run.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _rejected = new(StringComparer.Ordinal);

    private static readonly string NodeOs = Verge.Agent.Registration.NodeInfoCollector.OperatingSystemName();
    private readonly CancellationTokenSource _life = new();
    private bool _started;
    private int _disposed;

    public PodManager(PodWorkerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Options.Validate();
        _ctx = context;
    }

    /// <summary>Starts the workers of the pods in local state and follows its changes.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        await _ctx.Drivers.FingerprintAllAsync(ct);
        _ctx.State.Changed += OnChanged;
        await SyncAsync(null, ct);
    }

    /// <summary>
    /// Fails a pod the node does not admit, as the kubelet's rejectPod: a Warning event with the reason, and the
    /// phase Failed with the reason and "Pod was rejected: " before the message. Once per pod, and not again for a
    /// pod already failed (after an agent restart).
    /// </summary>
    private void Reject(Pod pod, PodRejection rejection)
    {
        var uid = pod.Metadata.Uid!;
        if (!_rejected.TryAdd(uid, 0) || pod.Status is { Phase: "Failed" } status && status.Reason == rejection.Reason)
        {
            return;
        }

        var ns = pod.Metadata.Namespace ?? "";
        var name = pod.Metadata.Name ?? "";
        var now = _ctx.Time.GetUtcNow();
        _ctx.Publisher.PublishEvent(KubeletEvent.About(ns, name, uid, null, "Warning", rejection.Reason, rejection.Message, _ctx.Options.NodeName, now));
        _ctx.Publisher.PublishPodStatus(ns, name, uid, new PodStatus
        {
            Phase = "Failed",
            Reason = rejection.Reason,
            Message = "Pod was rejected: " + rejection.Message,
            QosClass = PodStatusBuilder.QosClass(pod),
        });
    }

    /// <summary>Brings the workers in line with local state; changed lists the keys of the last batch (null: all).</summary>
    public async Task SyncAsync(DesiredStateChange? change, CancellationToken ct)
    {
        await _sync.WaitAsync(ct);
        try
        {
            var desired = new Dictionary<string, Pod>(StringComparer.Ordinal);
            foreach (var pod in _ctx.State.ListPods((key, e) => LogInvalidPod(_ctx.Logger, key.Namespace, key.Name, e.Message)))
            {
                if (string.IsNullOrEmpty(pod.Metadata.Uid))
                {
                    LogInvalidPod(_ctx.Logger, pod.Metadata.Namespace ?? "", pod.Metadata.Name ?? "", "the pod has no metadata.uid");
                    continue;
                }

                if (pod.Spec.NodeName is { Length: > 0 } node && node != _ctx.Options.NodeName)
                {
                    continue;
                }

                desired[pod.Metadata.Uid] = pod;
            }

            foreach (var (uid, worker) in _workers.ToList())
            {
                if (!desired.TryGetValue(uid, out var pod) || pod.Metadata.DeletionTimestamp is not null)
                {
                    _workers.Remove(uid);
                    _stopping[uid] = worker;
                    // A pod gone from local state was removed from the API without waiting for this node: a force
                    // delete (a bound pod's node cannot change). The kubelet then kills with the deleted object's
                    // grace period, 0; so does the agent.
                    var deadline = TerminationDeadline.After(pod is null ? TimeSpan.Zero : GracePeriodOf(pod), _ctx.Time);
                    StartTermination(uid, deadline, pod is not null, () => TerminateAsync(worker, pod, deadline));
                }
                else
                {
                    worker.Update(pod);
                }
            }

            foreach (var (uid, pod) in desired)
            {
                if (_workers.ContainsKey(uid) || _terminating.ContainsKey(uid) || pod.Metadata.DeletionTimestamp is not null)
                {
                    continue;
                }

                if (PodAdmission.Check(pod, NodeOs) is { } rejection)
                {
                    Reject(pod, rejection);
                    continue;
                }

                var worker = new PodWorker(pod, _ctx);
                _workers[uid] = worker;
                worker.Start();
            }

            foreach (var uid in _rejected.Keys.Where(uid => !desired.ContainsKey(uid)).ToList())
            {
                _rejected.TryRemove(uid, out _);
            }

            var configKeys = change?.Keys.Where(k => k.Kind is DesiredKind.ConfigMap or DesiredKind.Secret).ToList();
            if (configKeys is { Count: > 0 } || change?.Snapshot == true)
            {
                foreach (var worker in _workers.Values)
                {
                    if (change!.Snapshot || configKeys!.Any(k => k.Namespace == worker.Namespace))
                    {
                        worker.ConfigChanged();
                    }
                }
            }

            _snapshot = [.. _workers.Values];

            // Pods left over from an earlier run whose pod is gone or being deleted: their tasks, or a network or an
            // IPC namespace an agent that died during a set-up or tear-down left without a task.
            var leftovers = _ctx.State.ListTasks().Select(t => t.PodUid).Concat(_ctx.Network.ListPods()).Concat(PodsWithIpc())
                .ToHashSet(StringComparer.Ordinal);
            foreach (var uid in leftovers)
            {
                var pod = desired.GetValueOrDefault(uid);
                if ((pod is null || pod.Metadata.DeletionTimestamp is not null) && !_workers.ContainsKey(uid) && !_terminating.ContainsKey(uid))
                {
                    var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(pod?.Metadata.DeletionGracePeriodSeconds ?? 30), _ctx.Time);
                    StartTermination(uid, deadline, pod is not null, () => CleanUpOrphanAsync(uid, pod, deadline));
                }
            }

            ShortenTerminations(desired);

            // Pods being deleted that this node holds nothing of any more: an earlier run stopped them (or never ran
            // them), and the control plane may not have heard. Confirmed once per run; the channel resends until
            // the server acknowledges. A pod with leftovers is not: a termination that failed keeps its tasks, and a
            // later cleanup confirms it once it succeeds.
            foreach (var (uid, pod) in desired)
            {
                if (pod.Metadata.DeletionTimestamp is not null && !_terminating.ContainsKey(uid) && !leftovers.Contains(uid) && _confirmed.TryAdd(uid, 0))
                {
                    _ctx.Publisher.PublishPodTerminated(pod.Metadata.Namespace ?? "", pod.Metadata.Name ?? "", uid, null);
                }
            }

            foreach (var uid in _confirmed.Keys.Where(uid => !desired.ContainsKey(uid)).ToList())
            {
                _confirmed.TryRemove(uid, out _);
            }
        }
        finally
        {
            _sync.Release();
        }
    }

    /// <summary>Waits until pods being terminated are gone (tests and shutdown).</summary>
    public async Task WaitForTerminationsAsync(CancellationToken ct)
    {
        Task[] pending;
        await _sync.WaitAsync(ct);
        try
        {
            pending = [.. _terminating.Values];
        }
        finally
        {
            _sync.Release();
        }

        await Task.WhenAll(pending).WaitAsync(ct);
    }

    /// <summary>The pods this agent runs, with their labels and last published status; readable from any thread.</summary>
    public IReadOnlyList<(string Namespace, string Name, IReadOnlyDictionary<string, string>? Labels, PodStatus? Status)> ListStatuses() =>
        [.. _snapshot.Select(w => (w.Namespace, w.Name, w.Labels, w.LastStatus))];

    /// <summary>Pods with a worker or a termination in progress (tests: a deleted pod leaves nothing behind).</summary>
    internal int TrackedPods => _workers.Count + _terminating.Count;

    public PodLogTarget? Find(string podNamespace, string podName)
    {
        // A pod being stopped still has its logs (kubectl logs during its grace period shows how it shuts down).
        var worker = _snapshot.FirstOrDefault(w => w.Namespace == podNamespace && w.Name == podName)
            ?? _stopping.Values.FirstOrDefault(w => w.Namespace == podNamespace && w.Name == podName);

        return worker is null
            ? null
            : new PodLogTarget(worker.Uid, worker.Name, worker.ContainerNames, worker.InitContainerNames, worker.LogStates);
    }

    public Task<IExecProcess> StartExecAsync(string podNamespace, string podName, string container, InteractiveExec request, CancellationToken ct)
    {
        // A pod being stopped can still be exec'd into while its containers run, as under a kubelet.
        var worker = _snapshot.FirstOrDefault(w => w.Namespace == podNamespace && w.Name == podName)
            ?? _stopping.Values.FirstOrDefault(w => w.Namespace == podNamespace && w.Name == podName)
            ?? throw new DriverException($"pod \"{podName}\" in namespace \"{podNamespace}\" is not running on this node", "NotFound");
        var (driver, handle) = worker.RunningTask(container)
            ?? throw new DriverException($"container \"{container}\" of pod \"{podName}\" is not running", "NotRunning");
        return driver.StartExecAsync(handle, request, ct);
    }

    /// <summary>Stops every worker, leaving containers running for the next agent run to recover. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _ctx.State.Changed -= OnChanged;
        await _life.CancelAsync();
        await _sync.WaitAsync();
        try
        {
            foreach (var worker in _workers.Values)
            {
                await worker.DisposeAsync();
            }

            _workers.Clear();
            _snapshot = [];
            try
            {
                await Task.WhenAll(_terminating.Values);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        }
        finally
        {
            _sync.Release();
        }

        _life.Dispose();
    }

    private void OnChanged(DesiredStateChange change)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                await SyncAsync(change, _life.Token);
            }
            catch (OperationCanceledException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            catch (Exception e)
            {
                LogSyncFailed(_ctx.Logger, e);
            }
        });
    }

    /// <summary>
    /// Moves the deadlines of the terminations under way, as the kubelet's pod workers lower a terminating pod's grace
    /// period: to the pod's deletion grace period from now when a later delete shortened it, and to now when a pod
    /// being deleted is gone from local state (a force delete removed it from the API). Never later.
    /// </summary>
    private void ShortenTerminations(Dictionary<string, Pod> desired)
    {
        foreach (var (uid, (deadline, deleting)) in _deadlines)
        {
            if (desired.TryGetValue(uid, out var pod))
            {
                if (pod.Metadata.DeletionTimestamp is not null && deadline.Shorten(GracePeriodOf(pod)))
                {
                    LogGracePeriodShortened(_ctx.Logger, uid, GracePeriodOf(pod).TotalSeconds);
                }
            }
            else if (deleting && deadline.Shorten(TimeSpan.Zero))
            {
                LogGracePeriodShortened(_ctx.Logger, uid, 0);
            }
        }
    }

    /// <summary>
    /// A stopping pod's grace period: its deletionGracePeriodSeconds when it is being deleted, else its
    /// terminationGracePeriodSeconds, else 30 s.
    /// </summary>
    private static TimeSpan GracePeriodOf(Pod pod) =>
        TimeSpan.FromSeconds(Math.Max(0, pod.Metadata.DeletionGracePeriodSeconds ?? pod.Spec.TerminationGracePeriodSeconds ?? 30));

    /// <summary>
    /// Stops a worker's pod for good. <paramref name="deleted"/> is the pod as local state holds it when it is being
    /// deleted (null when it is simply no longer meant for this node): once everything is stopped and removed the
    /// control plane hears that the pod may go.
    /// </summary>
    private async Task TerminateAsync(PodWorker worker, Pod? deleted, TerminationDeadline deadline)
    {
        try
        {
            await worker.TerminateAsync(deadline, CancellationToken.None);
            LogTerminated(_ctx.Logger, worker.PodDescription);
            if (deleted is not null)
            {
                Confirm(deleted, worker.LastStatus);
            }
        }
        catch (Exception e)
        {
            LogTerminateFailed(_ctx.Logger, worker.PodDescription, e);
            Failed();
        }
        finally
        {
            _stopping.TryRemove(worker.Uid, out _);
            await worker.DisposeAsync();
        }
    }

    /// <summary>The pods whose directory holds an IPC namespace or /dev/shm (<see cref="PodIpc"/>).</summary>
    private IEnumerable<string> PodsWithIpc()
    {
        var pods = Path.Combine(_ctx.Options.DataDir, "pods");
        return Directory.Exists(pods)
            ? Directory.EnumerateDirectories(pods).Where(PodIpc.HasAny).Select(dir => Path.GetFileName(dir)!)
            : [];
    }

    /// <summary>
    /// Runs a termination under <paramref name="uid"/> in <see cref="_terminating"/>: registered before it can run, and
    /// removed when it ends (a termination that finished before its registration would otherwise stay registered,
    /// and keep the pod from ever being cleaned up or confirmed).
    /// </summary>
    private void StartTermination(string uid, TerminationDeadline deadline, bool deleting, Func<Task> work)
    {
        var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _deadlines[uid] = (deadline, deleting);
        _terminating[uid] = RunAsync();
        registered.SetResult();

        async Task RunAsync()
        {
            await registered.Task;
            try
            {
                await work();
            }
            finally
            {
                _deadlines.TryRemove(new KeyValuePair<string, (TerminationDeadline, bool)>(uid, (deadline, deleting)));
                _terminating.TryRemove(uid, out _);
                deadline.Dispose();
            }
        }
    }

    /// <summary>
    /// A termination failed (a stop, a destroy, the network or the volumes): what is left of the pod stays in local
    /// state, the pod is not confirmed, and a sync in <see cref="TerminationRetryDelay"/> cleans it up again, as the
    /// kubelet retries a pod it could not kill.
    /// </summary>
    private void Failed()
    {
        _ = RetryAsync();

        async Task RetryAsync()
        {
            try
            {
                await Task.Delay(TerminationRetryDelay, _ctx.Time, _life.Token);
                await SyncAsync(null, _life.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
            catch (Exception e)
            {
                LogSyncFailed(_ctx.Logger, e);
            }
        }
    }

    /// <summary>Tells the control plane that a pod being deleted is gone from this node.</summary>
    private void Confirm(Pod deleted, PodStatus? status)
    {
        _confirmed[deleted.Metadata.Uid!] = 0;
        _ctx.Publisher.PublishPodTerminated(deleted.Metadata.Namespace ?? "", deleted.Metadata.Name ?? "", deleted.Metadata.Uid!, status);
    }

    /// <summary>
    /// Removes what an earlier run left of a pod: its tasks (stopped by the deadline), network, volumes and files. When
    /// the pod is being deleted (<paramref name="deleted"/>), the control plane hears once all is gone.
    /// </summary>
    private async Task CleanUpOrphanAsync(string uid, Pod? deleted, TerminationDeadline deadline)
    {
        try
        {
            foreach (var task in _ctx.State.ListTasks(uid))
            {
                if (task.Handle is { } handle && _ctx.Drivers.Get(handle.Driver) is { } driver)
                {
                    if (await driver.RecoverAsync(handle, CancellationToken.None))
                    {
                        await PodWorker.StopByAsync(driver, handle, deadline, TimeSpan.Zero, CancellationToken.None);
                    }

                    await driver.DestroyAsync(handle, CancellationToken.None);
                }
            }

            await PodCleanup.RemoveAsync(_ctx, uid, new PodVolumes(_ctx.Options.PodDir(uid), _ctx.Config), network: true, CancellationToken.None);

            if (deleted is not null)
            {
                Confirm(deleted, null);
            }
        }
        catch (Exception e)
        {
            LogTerminateFailed(_ctx.Logger, uid, e);
            Failed();
        }
    }

    [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "Pod {Namespace}/{Name} in local state cannot be run: {Error}")]
    private static partial void LogInvalidPod(ILogger logger, string @namespace, string name, string error);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Error, Message = "Syncing pods with local state failed")]
    private static partial void LogSyncFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Information, Message = "Pod {Pod} terminated and cleaned up")]
    private static partial void LogTerminated(ILogger logger, string pod);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Error, Message = "Terminating pod {Pod} failed")]
    private static partial void LogTerminateFailed(ILogger logger, string pod, Exception error);

    [LoggerMessage(EventId = 5305, Level = LogLevel.Information, Message = "Pod {Pod} is to be gone within {Seconds} s: its termination under way is cut short")]
    private static partial void LogGracePeriodShortened(ILogger logger, string pod, double seconds);
}
