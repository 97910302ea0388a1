namespace Verge.Agent.Pods;

/// <summary>Where one container stands, as the worker observed it.</summary>
internal enum ContainerPhase
{
    /// <summary>No instance has been started yet (or the last start attempt failed before the task ran).</summary>
    NotStarted,
    Running,
    Exited,
}

/// <summary>One container as the planner sees it: a snapshot, never mutated.</summary>
/// <param name="Instance">True once an instance exists whose leftovers must be removed before another starts.</param>
/// <param name="RetryAt">When a start that failed before the task ran (image pull, config) may be tried again.</param>
internal sealed record ContainerView(
    string Name,
    bool Init,
    ContainerPhase Phase,
    bool Instance,
    int? ExitCode,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    BackOffState BackOff,
    DateTimeOffset? RetryAt = null,
    bool LivenessFailed = false,
    bool StartupFailed = false,
    bool Lost = false,
    bool SpecChanged = false,
    bool Sidecar = false,
    bool Started = false);

/// <summary>Everything the planner decides on.</summary>
internal sealed record PlanInput(
    string PodDescription,
    RestartPolicy RestartPolicy,
    IReadOnlyList<ContainerView> InitContainers,
    IReadOnlyList<ContainerView> Containers,
    DateTimeOffset Now);

internal enum RestartPolicy
{
    Always,
    OnFailure,
    Never,
}

/// <summary>A step of a plan. The runner turns each into a command.</summary>
internal abstract record PlanStep(string Container);

/// <summary>Removes what the previous instance left behind (its runtime state), keeping its log.</summary>
internal sealed record RemoveStep(string Container) : PlanStep(Container);

internal sealed record PullStep(string Container) : PlanStep(Container);

/// <summary>Starts a new instance; <paramref name="BackOff"/> is the back-off to keep once it has started.</summary>
internal sealed record StartStep(string Container, bool Restart, BackOffState BackOff) : PlanStep(Container);

/// <summary>Stops a running instance (a failed liveness or startup probe).</summary>
internal sealed record StopStep(string Container, string Reason, string Message) : PlanStep(Container);

/// <summary>A container that waits on purpose (back-off), with the status kubelet would show.</summary>
internal sealed record BackOffWait(string Container, string Reason, string Message, DateTimeOffset Until);

/// <summary>
/// The plan: steps grouped per container (a group stops at its first failure), the containers left waiting in
/// back-off, and when to look again if nothing else happens.
/// </summary>
internal sealed record PodPlan(IReadOnlyList<IReadOnlyList<PlanStep>> Groups, IReadOnlyList<BackOffWait> Waits, DateTimeOffset? WakeAt)
{
    public IEnumerable<PlanStep> Steps => Groups.SelectMany(g => g);
}

/// <summary>
/// The pure reconciler of one pod: from the pod's containers as observed, their back-off and probe results, and the
/// time, it decides which containers to start, restart or stop, following Kubernetes: init containers one at a time
/// in order, then every app container; restartPolicy Always, OnFailure or Never; CrashLoopBackOff between restarts.
/// Sidecars (init containers with restartPolicy Always) start in their turn and hold the next container only until
/// they have started; they are restarted whatever the pod's policy, and stopped once the app containers are done for
/// good. No I/O and no clock: the same input always gives the same plan.
/// </summary>
internal static class PodPlanner
{
    public static PodPlan Plan(PlanInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var groups = new List<IReadOnlyList<PlanStep>>();
        var waits = new List<BackOffWait>();
        DateTimeOffset? wake = null;

        void Wake(DateTimeOffset at) => wake = wake is { } w && w <= at ? w : at;

        // Once an app container has been started the pod is initialized: a sidecar that exits later is restarted
        // without holding anything up, as the kubelet does.
        var initialized = Initialized(input);
        // Once the pod is done for good (its app containers, or a failed init container it never retries), the
        // sidecars are stopped one at a time, the last one first.
        var stopNext = Done(input) ? input.InitContainers.LastOrDefault(c => c.Sidecar && c.Phase == ContainerPhase.Running) : null;
        foreach (var init in input.InitContainers)
        {
            if (init.Sidecar)
            {
                if (PlanSidecar(input, init, initialized, stopNext, groups, waits, Wake))
                {
                    continue;
                }

                return new PodPlan(groups, waits, wake);
            }

            if (init.Phase == ContainerPhase.Exited && init.ExitCode == 0)
            {
                continue;
            }

            // An init container that is running, starting, failed for good or waiting blocks everything after it.
            if (init.Phase == ContainerPhase.Running)
            {
                if (init.StartupFailed || init.LivenessFailed || init.SpecChanged)
                {
                    groups.Add([Stop(init)]);
                }

                return new PodPlan(groups, waits, wake);
            }

            // Init containers restart on failure unless the pod never restarts anything.
            var canRestart = input.RestartPolicy != RestartPolicy.Never || init.Lost;
            PlanContainer(input, init, canRestart, groups, waits, Wake);
            return new PodPlan(groups, waits, wake);
        }

        foreach (var container in input.Containers)
        {
            if (container.Phase == ContainerPhase.Running)
            {
                if (container.StartupFailed || container.LivenessFailed || container.SpecChanged)
                {
                    groups.Add([Stop(container)]);
                }

                continue;
            }

            var canRestart = container.Lost || input.RestartPolicy switch
            {
                RestartPolicy.Always => true,
                RestartPolicy.OnFailure => container.ExitCode != 0,
                _ => false,
            };
            PlanContainer(input, container, canRestart, groups, waits, Wake);
        }

        return new PodPlan(groups, waits, wake);
    }

    /// <summary>
    /// Plans one sidecar; true when the containers after it may go ahead (it has started, or the pod is initialized
    /// already). Once the pod is done for good (<paramref name="stopNext"/> is then the running sidecar to stop next,
    /// if any), no sidecar is started again.
    /// </summary>
    private static bool PlanSidecar(
        PlanInput input,
        ContainerView sidecar,
        bool initialized,
        ContainerView? stopNext,
        List<IReadOnlyList<PlanStep>> groups,
        List<BackOffWait> waits,
        Action<DateTimeOffset> wake)
    {
        var done = Done(input);
        if (sidecar.Phase == ContainerPhase.Running)
        {
            if (sidecar == stopNext)
            {
                groups.Add([new StopStep(sidecar.Name, "PodCompleted", $"Stopping container {sidecar.Name}")]);
            }
            else if (!done && (sidecar.StartupFailed || sidecar.LivenessFailed || sidecar.SpecChanged))
            {
                groups.Add([Stop(sidecar)]);
            }

            return initialized || sidecar.Started || done;
        }

        if (!done)
        {
            PlanContainer(input, sidecar, canRestart: true, groups, waits, wake);
        }

        return initialized || done;
    }

    /// <summary>Whether an app container has ever been started: the pod has been initialized.</summary>
    private static bool Initialized(PlanInput input) => input.Containers.Any(c => c.Phase != ContainerPhase.NotStarted || c.Instance);

    /// <summary>
    /// Whether nothing of the pod but its sidecars will run again: the app containers are done for good, or a regular
    /// init container failed in a pod that never restarts (the kubelet then kills the pod).
    /// </summary>
    private static bool Done(PlanInput input) => AppsDone(input) || InitFailed(input);

    private static bool InitFailed(PlanInput input) => input.RestartPolicy == RestartPolicy.Never
        && input.InitContainers.Any(c => !c.Sidecar && c.Phase == ContainerPhase.Exited && c.ExitCode != 0 && !c.Lost);

    /// <summary>
    /// Whether the app containers have all finished and none will run again (never under restartPolicy Always).
    /// </summary>
    private static bool AppsDone(PlanInput input) =>
        input.Containers.Count > 0 && input.Containers.All(c => c.Phase == ContainerPhase.Exited && !c.Lost && input.RestartPolicy switch
        {
            RestartPolicy.Always => false,
            RestartPolicy.OnFailure => c.ExitCode == 0,
            _ => true,
        });

    /// <summary>The pod phase Kubernetes would report for these containers.</summary>
    public static string Phase(PlanInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var initialized = Initialized(input);
        var initFailed = InitFailed(input);
        foreach (var init in input.InitContainers)
        {
            // A sidecar holds the pod in Pending only until it has started; its exit codes never decide the phase.
            if ((init.Phase == ContainerPhase.Exited && init.ExitCode == 0) || (init.Sidecar && (initialized || init.Started || initFailed)))
            {
                continue;
            }

            if (init.Sidecar)
            {
                return "Pending";
            }

            return init.Phase == ContainerPhase.Exited && input.RestartPolicy == RestartPolicy.Never && !init.Lost
                ? "Failed"
                : "Pending";
        }

        if (input.Containers.Count == 0)
        {
            return "Pending";
        }

        if (input.Containers.Any(c => c.Phase == ContainerPhase.NotStarted && !c.Instance))
        {
            return "Pending";
        }

        if (input.Containers.Any(c => c.Phase == ContainerPhase.Running))
        {
            return "Running";
        }

        // The app containers are done for good; the pod ends once its sidecars have been stopped.
        if (AppsDone(input) && input.InitContainers.Any(c => c.Sidecar && c.Phase == ContainerPhase.Running))
        {
            return "Running";
        }

        var willRestart = input.Containers.Any(c => c.Phase != ContainerPhase.Exited || c.Lost || input.RestartPolicy switch
        {
            RestartPolicy.Always => true,
            RestartPolicy.OnFailure => c.ExitCode != 0,
            _ => false,
        });
        if (willRestart)
        {
            return "Running";
        }

        return input.Containers.All(c => c.ExitCode == 0) ? "Succeeded" : "Failed";
    }

    private static StopStep Stop(ContainerView container) => container.SpecChanged
        ? new StopStep(container.Name, "DefinitionChanged", $"Container {container.Name} definition changed, will be restarted")
        : container.StartupFailed
        ? new StopStep(container.Name, "Unhealthy", $"Container {container.Name} failed startup probe, will be restarted")
        : new StopStep(container.Name, "Unhealthy", $"Container {container.Name} failed liveness probe, will be restarted");

    private static void PlanContainer(
        PlanInput input,
        ContainerView container,
        bool canRestart,
        List<IReadOnlyList<PlanStep>> groups,
        List<BackOffWait> waits,
        Action<DateTimeOffset> wake)
    {
        // A start that failed before the task ran (image pull, bad config) is retried after its back-off.
        if (container.RetryAt is { } retry && retry > input.Now)
        {
            wake(retry);
            return;
        }

        if (container.Phase == ContainerPhase.NotStarted)
        {
            groups.Add(StartSteps(container, restart: false, container.BackOff));
            return;
        }

        if (!canRestart)
        {
            return;
        }

        var backOff = container.Lost ? BackOffState.None : container.BackOff.AfterRun(container.StartedAt, container.FinishedAt);
        if (backOff.Due is { } due && due > input.Now)
        {
            waits.Add(new BackOffWait(
                container.Name,
                "CrashLoopBackOff",
                $"back-off {BackOffState.Format(backOff.Delay)} restarting failed container={container.Name} pod={input.PodDescription}",
                due));
            wake(due);
            return;
        }

        groups.Add(StartSteps(container, restart: true, container.Lost ? container.BackOff : backOff.Restarted(input.Now)));
    }

    private static List<PlanStep> StartSteps(ContainerView container, bool restart, BackOffState backOff)
    {
        var steps = new List<PlanStep>(3);
        if (container.Instance)
        {
            steps.Add(new RemoveStep(container.Name));
        }

        steps.Add(new PullStep(container.Name));
        steps.Add(new StartStep(container.Name, restart, backOff));
        return steps;
    }
}
