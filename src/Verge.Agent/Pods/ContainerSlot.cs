using Verge.Agent.Drivers;
using Verge.Agent.State;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>
/// What a pod worker knows of one container: its current instance, how earlier ones ended, back-off, probe results
/// and the waiting reason to show. Owned by the worker's loop; never touched from another thread.
/// </summary>
internal sealed class ContainerSlot
{
    public ContainerSlot(Container spec, bool init)
    {
        Spec = spec;
        Init = init;
    }

    public Container Spec { get; set; }

    public string Name => Spec.Name;

    public bool Init { get; }

    /// <summary>An init container with <c>restartPolicy: Always</c>: it keeps running beside the app containers.</summary>
    public bool Sidecar => Init && Spec.IsSidecar();

    public ContainerPhase Phase { get; set; } = ContainerPhase.NotStarted;

    public int RestartCount { get; set; }

    public TaskHandle? Handle { get; set; }

    /// <summary>Bumped at every start, so late exit and probe reports of an old instance are ignored.</summary>
    public int Generation { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public TerminationRecord? Exit { get; set; }

    public TerminationRecord? LastTermination { get; set; }

    /// <summary>The task vanished with a reboot: it is started again whatever the restart policy.</summary>
    public bool Lost { get; set; }

    public string? ImageId { get; set; }

    /// <summary>The image the last pull produced, handed to the driver on start.</summary>
    public Verge.Agent.Images.ImageInfo? Image { get; set; }

    public BackOffState BackOff { get; set; } = BackOffState.None;

    /// <summary>Back-off of failed starts (image pull, config, driver errors).</summary>
    public BackOffState StartBackOff { get; set; } = BackOffState.None;

    public DateTimeOffset? RetryAt { get; set; }

    public string? WaitingReason { get; set; }

    public string? WaitingMessage { get; set; }

    public bool Ready { get; set; }

    public bool Started { get; set; }

    public bool LivenessFailed { get; set; }

    public bool StartupFailed { get; set; }

    public bool Stopping { get; set; }

    /// <summary>The pod's definition of this container changed (a new image): it is stopped and started again.</summary>
    public bool SpecChanged { get; set; }

    public ProbeCounter Liveness { get; } = new();

    public ProbeCounter Readiness { get; } = new();

    public ProbeCounter Startup { get; } = new();

    /// <summary>Cancels the probes and the exit watch of the current instance.</summary>
    public CancellationTokenSource? InstanceCts { get; set; }

    /// <summary>Completes when the current instance exits (log follow ends there).</summary>
    public TaskCompletionSource InstanceExited { get; set; } = NewExitSignal();

    public static TaskCompletionSource NewExitSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ContainerView View() => new(
        Name,
        Init,
        Phase,
        Handle is not null,
        Exit?.ExitCode,
        StartedAt,
        Exit?.FinishedAt,
        BackOff,
        RetryAt,
        LivenessFailed && !Stopping,
        StartupFailed && !Stopping,
        Lost,
        SpecChanged && !Stopping && Phase == ContainerPhase.Running,
        Sidecar,
        Started && Phase == ContainerPhase.Running);

    public void ResetProbes()
    {
        Liveness.Reset();
        Readiness.Reset();
        Startup.Reset();
        Ready = false;
        Started = false;
        LivenessFailed = false;
        StartupFailed = false;
        Stopping = false;
    }
}

/// <summary>Consecutive probe results, judged against a probe's thresholds.</summary>
internal sealed class ProbeCounter
{
    public int Successes { get; private set; }

    public int Failures { get; private set; }

    public void Record(bool success)
    {
        if (success)
        {
            Successes++;
            Failures = 0;
        }
        else
        {
            Failures++;
            Successes = 0;
        }
    }

    public void Reset()
    {
        Successes = 0;
        Failures = 0;
    }
}
