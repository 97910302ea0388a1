using CsCheck;
using Verge.Agent.Pods;

namespace Verge.Agent.Tests.Pods;

public sealed class PodPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static ContainerView Fresh(string name, bool init = false) =>
        new(name, init, ContainerPhase.NotStarted, false, null, null, null, BackOffState.None);

    private static ContainerView Exited(string name, int code, BackOffState backOff, DateTimeOffset? started = null, DateTimeOffset? finished = null) =>
        new(name, false, ContainerPhase.Exited, true, code, started ?? Now.AddSeconds(-5), finished ?? Now.AddSeconds(-1), backOff);

    private static PlanInput Input(RestartPolicy policy, IReadOnlyList<ContainerView> init, params ContainerView[] app) =>
        new("p_default(u)", policy, init, app, Now);

    [Fact]
    public void Plan_NewPod_StartsOnlyTheFirstInitContainer()
    {
        var plan = PodPlanner.Plan(Input(RestartPolicy.Always, [Fresh("i1", true), Fresh("i2", true)], Fresh("app")));

        Assert.Equal([new PullStep("i1"), new StartStep("i1", false, BackOffState.None)], plan.Steps);
    }

    private static ContainerView Sidecar(ContainerPhase phase, bool started = false, int? exitCode = null) =>
        new("proxy", true, phase, phase != ContainerPhase.NotStarted, exitCode, Now.AddSeconds(-5), exitCode is null ? null : Now.AddSeconds(-1),
            BackOffState.None, Sidecar: true, Started: started);

    [Fact]
    public void Plan_Sidecar_HoldsTheNextContainerUntilItHasStarted_ThenStaysRunningBesideIt()
    {
        var i2 = Fresh("i2", true);

        Assert.Equal(["proxy"], PodPlanner.Plan(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.NotStarted), i2], Fresh("app"))).Steps.OfType<StartStep>().Select(s => s.Container));
        Assert.Empty(PodPlanner.Plan(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Running), i2], Fresh("app"))).Steps);
        Assert.Equal(["i2"], PodPlanner.Plan(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Running, started: true), i2], Fresh("app"))).Steps.OfType<StartStep>().Select(s => s.Container));
        var done = i2 with { Phase = ContainerPhase.Exited, Instance = true, ExitCode = 0 };
        Assert.Equal(["app"], PodPlanner.Plan(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Running, started: true), done], Fresh("app"))).Steps.OfType<StartStep>().Select(s => s.Container));
        Assert.Equal("Pending", PodPlanner.Phase(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Running), i2], Fresh("app"))));
    }

    [Fact]
    public void Plan_Sidecar_IsRestartedWhateverThePodsPolicy_WithoutHoldingUpAnInitializedPod()
    {
        var running = new ContainerView("app", false, ContainerPhase.Running, true, null, Now.AddSeconds(-5), null, BackOffState.None);

        var plan = PodPlanner.Plan(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Exited, exitCode: 1)], running));

        Assert.Equal([new RemoveStep("proxy"), new PullStep("proxy"), new StartStep("proxy", true, new BackOffState(TimeSpan.FromSeconds(10), Now))], plan.Steps);
        Assert.Equal("Running", PodPlanner.Phase(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Exited, exitCode: 1)], running)));
    }

    [Fact]
    public void Plan_WhenTheAppContainersAreDone_StopsTheSidecarsLastFirst_AndThePodEndsByTheAppsExitCodes()
    {
        var app = Exited("app", 0, BackOffState.None);
        var first = Sidecar(ContainerPhase.Running, started: true) with { Name = "first" };
        var second = Sidecar(ContainerPhase.Running, started: true) with { Name = "second" };

        var plan = PodPlanner.Plan(Input(RestartPolicy.OnFailure, [first, second], app));

        var stop = Assert.IsType<StopStep>(Assert.Single(plan.Steps));
        Assert.Equal(("second", "PodCompleted", "Stopping container second"), (stop.Container, stop.Reason, stop.Message));
        Assert.Equal("Running", PodPlanner.Phase(Input(RestartPolicy.OnFailure, [first, second], app)));

        var stopped = second with { Phase = ContainerPhase.Exited, ExitCode = 143, Started = false };
        Assert.Equal("first", Assert.IsType<StopStep>(Assert.Single(PodPlanner.Plan(Input(RestartPolicy.OnFailure, [first, stopped], app)).Steps)).Container);

        var allStopped = new[] { first with { Phase = ContainerPhase.Exited, ExitCode = 137, Started = false }, stopped };
        Assert.Empty(PodPlanner.Plan(Input(RestartPolicy.OnFailure, allStopped, app)).Steps);
        Assert.Equal("Succeeded", PodPlanner.Phase(Input(RestartPolicy.OnFailure, allStopped, app)));
    }

    [Fact]
    public void Plan_WhenAnInitContainerFailsUnderNever_StopsTheSidecarsBeforeIt_AndRestartsNone_AndThePodFails()
    {
        var failed = new ContainerView("migrate", true, ContainerPhase.Exited, true, 1, Now.AddSeconds(-5), Now.AddSeconds(-1), BackOffState.None);

        var stop = Assert.IsType<StopStep>(Assert.Single(PodPlanner.Plan(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Running, started: true), failed], Fresh("app"))).Steps));
        Assert.Equal(("proxy", "PodCompleted"), (stop.Container, stop.Reason));
        Assert.Equal("Failed", PodPlanner.Phase(Input(RestartPolicy.Never, [Sidecar(ContainerPhase.Running, started: true), failed], Fresh("app"))));

        // A sidecar that crashed meanwhile is not started again, and does not hold the pod in Pending.
        var crashed = Sidecar(ContainerPhase.Exited, exitCode: 1);
        Assert.Empty(PodPlanner.Plan(Input(RestartPolicy.Never, [crashed, failed], Fresh("app"))).Steps);
        Assert.Equal("Failed", PodPlanner.Phase(Input(RestartPolicy.Never, [crashed, failed], Fresh("app"))));
    }

    [Fact]
    public void Plan_NoInitContainers_StartsEveryAppContainer()
    {
        var plan = PodPlanner.Plan(Input(RestartPolicy.Always, [], Fresh("a"), Fresh("b")));

        Assert.Equal(2, plan.Groups.Count);
        Assert.Equal(["a", "b"], plan.Steps.OfType<StartStep>().Select(s => s.Container));
    }

    [Fact]
    public void Plan_FirstCrash_RestartsAtOnce_WithTenSecondBackOffAfterwards()
    {
        var plan = PodPlanner.Plan(Input(RestartPolicy.Always, [], Exited("app", 1, BackOffState.None)));

        Assert.Equal([new RemoveStep("app"), new PullStep("app"), new StartStep("app", true, new BackOffState(TimeSpan.FromSeconds(10), Now))], plan.Steps);
    }

    [Fact]
    public void Plan_CrashWithinBackOff_WaitsWithCrashLoopBackOff()
    {
        var backOff = new BackOffState(TimeSpan.FromSeconds(20), Now.AddSeconds(-3));

        var plan = PodPlanner.Plan(Input(RestartPolicy.Always, [], Exited("app", 1, backOff)));

        Assert.Empty(plan.Steps);
        var wait = Assert.Single(plan.Waits);
        Assert.Equal("CrashLoopBackOff", wait.Reason);
        Assert.Equal("back-off 20s restarting failed container=app pod=p_default(u)", wait.Message);
        Assert.Equal(Now.AddSeconds(17), plan.WakeAt);
    }

    [Fact]
    public void Plan_OnFailure_DoesNotRestartASuccess()
    {
        var plan = PodPlanner.Plan(Input(RestartPolicy.OnFailure, [], Exited("app", 0, BackOffState.None)));

        Assert.Empty(plan.Steps);
        Assert.Equal("Succeeded", PodPlanner.Phase(Input(RestartPolicy.OnFailure, [], Exited("app", 0, BackOffState.None))));
    }

    [Fact]
    public void Plan_LostTask_StartsAgainEvenUnderNever()
    {
        var lost = Exited("app", 255, BackOffState.None) with { Lost = true };

        var plan = PodPlanner.Plan(Input(RestartPolicy.Never, [], lost));

        Assert.Contains(new PullStep("app"), plan.Steps);
    }

    [Fact]
    public void Plan_FailedLiveness_StopsTheRunningContainer()
    {
        var running = new ContainerView("app", false, ContainerPhase.Running, true, null, Now, null, BackOffState.None, LivenessFailed: true);

        var plan = PodPlanner.Plan(Input(RestartPolicy.Always, [], running));

        Assert.IsType<StopStep>(Assert.Single(plan.Steps));
    }

    [Fact]
    public void Plan_PendingRetry_WaitsUntilItIsDue()
    {
        var pulling = Fresh("app") with { RetryAt = Now.AddSeconds(10) };

        var plan = PodPlanner.Plan(Input(RestartPolicy.Always, [], pulling));

        Assert.Empty(plan.Steps);
        Assert.Equal(Now.AddSeconds(10), plan.WakeAt);
    }

    [Fact]
    public void BackOff_Format_PrintsLikeGo()
    {
        Assert.Equal("10s", BackOffState.Format(TimeSpan.FromSeconds(10)));
        Assert.Equal("2m40s", BackOffState.Format(TimeSpan.FromSeconds(160)));
        Assert.Equal("5m0s", BackOffState.Format(TimeSpan.FromMinutes(5)));
    }

    private static readonly Gen<BackOffState> GenBackOff =
        Gen.Select(Gen.Int[0, 400], Gen.Int[0, 600], (delay, ago) => delay == 0
            ? BackOffState.None
            : new BackOffState(TimeSpan.FromSeconds(Math.Clamp(delay, 10, 300)), Now.AddSeconds(-ago)));

    private static readonly Gen<ContainerView> GenContainer =
        Gen.Select(Gen.Enum<ContainerPhase>(), Gen.Int[0, 3], GenBackOff, Gen.Bool, Gen.Bool, Gen.Int[0, 1200])
            .Select(t =>
            {
                var (phase, code, backOff, liveness, lost, ran) = t;
                return new ContainerView(
                    "c",
                    false,
                    phase,
                    phase != ContainerPhase.NotStarted,
                    phase == ContainerPhase.Exited ? code : null,
                    phase == ContainerPhase.NotStarted ? null : Now.AddSeconds(-ran - 1),
                    phase == ContainerPhase.Exited ? Now.AddSeconds(-1) : null,
                    backOff,
                    LivenessFailed: liveness && phase == ContainerPhase.Running,
                    Lost: lost && phase == ContainerPhase.Exited);
            });

    private static readonly Gen<PlanInput> GenInput =
        Gen.Select(Gen.Enum<RestartPolicy>(), GenContainer.Array[1, 4], Gen.Int[0, 2])
            .Select(t =>
            {
                var (policy, containers, inits) = t;
                var named = containers.Select((c, i) => c with { Name = $"c{i}", Init = i < inits && i < containers.Length - 1 }).ToList();
                return new PlanInput("p_ns(u)", policy, [.. named.Where(c => c.Init)], [.. named.Where(c => !c.Init)], Now);
            });

    [Fact]
    public void Property_NeverStartsAContainerThatIsRunning_AndAtMostOncePerPlan()
    {
        GenInput.Sample(input =>
        {
            var plan = PodPlanner.Plan(input);
            var starts = plan.Steps.OfType<StartStep>().Select(s => s.Container).ToList();
            var running = input.InitContainers.Concat(input.Containers).Where(c => c.Phase == ContainerPhase.Running).Select(c => c.Name);
            return starts.Distinct().Count() == starts.Count && !starts.Intersect(running).Any();
        });
    }

    [Fact]
    public void Property_BackOffOfARestart_IsBetweenTenSecondsAndFiveMinutes()
    {
        GenInput.Sample(input =>
        {
            var plan = PodPlanner.Plan(input);
            return plan.Steps.OfType<StartStep>().Where(s => s.Restart).All(s => s.BackOff.Delay == TimeSpan.Zero
                    ? input.Containers.Concat(input.InitContainers).Single(c => c.Name == s.Container).Lost
                    : s.BackOff.Delay >= BackOffState.Initial && s.BackOff.Delay <= BackOffState.Max)
                && plan.Waits.All(w => w.Until > input.Now && w.Until <= input.Now + BackOffState.Max);
        });
    }

    [Fact]
    public void Property_NeverPolicy_NeverRestartsAnAppContainerThatRan()
    {
        GenInput.Where(i => i.RestartPolicy == RestartPolicy.Never).Sample(input =>
        {
            var plan = PodPlanner.Plan(input);
            var restarted = plan.Steps.OfType<StartStep>().Where(s => s.Restart).Select(s => s.Container);
            return restarted.All(name => input.Containers.Concat(input.InitContainers).Single(c => c.Name == name).Lost);
        });
    }

    [Fact]
    public void Property_RestartedBackOff_DoublesUpToTheCap()
    {
        Gen.Int[0, 20].Sample(n =>
        {
            var state = BackOffState.None;
            for (var i = 0; i < n; i++)
            {
                state = state.Restarted(Now);
            }

            var expected = n == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, n - 1)));
            return state.Delay == expected;
        });
    }
}
