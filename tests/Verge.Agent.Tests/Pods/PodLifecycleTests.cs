using Verge.Agent.Channel;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class PodLifecycleTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Start_NewPod_RunsContainerAndReportsRunningAndReady()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("web");
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Running" && host.Container(pod)?.Ready == true, "pod running and ready");
        var status = host.Status(pod)!;
        Assert.Equal("10.88.0.2", status.PodIP);
        Assert.Equal("192.168.1.10", status.HostIP);
        Assert.Equal("192.168.1.10", Assert.Single(status.HostIPs!).Ip);
        Assert.Equal("BestEffort", status.QosClass);
        Assert.Equal("True", status.Conditions!.Single(c => c.Type == "Ready").Status);
        var container = host.Container(pod)!;
        Assert.NotNull(container.State!.Running);
        Assert.Equal(0, container.RestartCount);
        Assert.StartsWith("fake://uid-web-app-0", container.ContainerID);
        Assert.Equal("busybox:1.36", container.Image);
        Assert.StartsWith("sha256:", container.ImageID);
        var reasons = host.Publisher.Events.Select(e => e.Reason).ToList();
        Assert.Equal(["Pulling", "Pulled", "Created", "Started"], reasons);
        Assert.All(host.Publisher.Events, e => Assert.Equal("uid-web", e.InvolvedObject.Uid));
        var config = Assert.Single(host.Driver.Started);
        Assert.Equal("/var/run/netns/fake-uid-web", config.NetworkNamespacePath);
        Assert.EndsWith("pods/uid-web/app/0.log", config.LogPath);
    }

    [Fact]
    public async Task ReadinessGates_HoldReadyUntilTheirConditionsAreTrue()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("gated");
        pod.Spec.ReadinessGates = [new PodReadinessGate { ConditionType = "example.com/lb" }, new PodReadinessGate { ConditionType = "example.com/dns" }];
        pod.Status = new PodStatus { Conditions = [new PodCondition { Type = "example.com/dns", Status = "False" }] };
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Running" && host.Container(pod)?.Ready == true, "containers ready");
        var ready = host.Status(pod)!.Conditions!.Single(c => c.Type == "Ready");
        Assert.Equal(("False", "ReadinessGatesNotReady"), (ready.Status, ready.Reason));
        Assert.Equal(
            "corresponding condition of pod readiness gate \"example.com/lb\" does not exist., the status of pod readiness gate \"example.com/dns\" is not \"True\", but False",
            ready.Message);
        Assert.Equal("True", host.Status(pod)!.Conditions!.Single(c => c.Type == "ContainersReady").Status);

        // The control plane sends the pod again once another controller has set both conditions.
        pod.Status = new PodStatus
        {
            Conditions = [new PodCondition { Type = "example.com/dns", Status = "True" }, new PodCondition { Type = "example.com/lb", Status = "True" }],
        };
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Status(pod)?.Conditions?.Single(c => c.Type == "Ready").Status == "True", "ready");
        Assert.Null(host.Status(pod)!.Conditions!.Single(c => c.Type == "Ready").Reason);
    }

    private static Pod SidecarPod(string name, string restartPolicy)
    {
        var pod = PodTestHost.MakePod(name, restartPolicy);
        pod.Spec.InitContainers = [new Container { Name = "proxy", Image = "busybox:1.36", RestartPolicy = "Always" }];
        return pod;
    }

    [Fact]
    public async Task Sidecar_RunsBesideTheApp_IsRestartedUnderNever_AndStopsWhenTheAppIsDone()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = SidecarPod("side", "Never");
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Status(pod)?.Conditions?.Single(c => c.Type == "Ready").Status == "True", "pod ready");
        var status = host.Status(pod)!;
        Assert.Equal((1, 1), (host.Driver.RunningCount("proxy"), host.Driver.RunningCount("app")));
        Assert.Equal("True", status.Conditions!.Single(c => c.Type == "Initialized").Status);
        var proxy = Assert.Single(status.InitContainerStatuses!);
        Assert.Equal((true, true), (proxy.Started, proxy.Ready));
        Assert.NotNull(proxy.State!.Running);
        pod.Status = status;
        Assert.Equal(("2/2", "Running"), (Verge.Core.Meta.Tables.PodReady(pod), Verge.Core.Meta.Tables.PodStatus(pod)));

        // The pod never restarts anything, but its sidecar is restarted all the same.
        host.Driver.Exit("proxy", 1);
        await PodTestHost.Eventually(() => host.Driver.StartsOf("proxy").Count() == 2 && host.Driver.RunningCount("proxy") == 1, "sidecar restarted");
        Assert.Equal("True", host.Status(pod)!.Conditions!.Single(c => c.Type == "Initialized").Status);

        // The app's end decides the pod's: the sidecar is stopped, and its exit code does not count.
        host.Driver.Exit("app", 0);
        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Succeeded", "pod succeeded");
        Assert.Equal(0, host.Driver.RunningCount("proxy"));
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Killing" && e.Message == "Stopping container proxy");
    }

    [Fact]
    public async Task Sidecar_HoldsTheAppUntilItsStartupProbeSucceeds()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = SidecarPod("probed", "Always");
        pod.Spec.InitContainers![0].StartupProbe = new Probe { Exec = new ExecAction { Command = ["ready"] }, PeriodSeconds = 1 };
        host.Driver.ExecResults["proxy"] = new Verge.Agent.Drivers.ExecResult(1, "", false);
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Driver.RunningCount("proxy") == 1, "sidecar running");
        await host.AdvanceUntil(() => host.Driver.Execs >= 2, TimeSpan.FromSeconds(1), "startup probe failing");
        Assert.Equal(0, host.Driver.RunningCount("app"));
        Assert.Equal("Pending", host.Status(pod)!.Phase);
        Assert.Equal("PodInitializing", host.Container(pod)!.State!.Waiting!.Reason);

        host.Driver.ExecResults["proxy"] = new Verge.Agent.Drivers.ExecResult(0, "", false);
        await host.AdvanceUntil(() => host.Driver.RunningCount("app") == 1, TimeSpan.FromSeconds(1), "app started after the sidecar");
    }

    [Fact]
    public async Task Sidecar_IsStoppedAfterTheAppContainers_WhenThePodIsDeleted()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = SidecarPod("ordered", "Always");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("proxy") == 1 && host.Driver.RunningCount("app") == 1, "both running");

        await host.MarkDeletedAsync(pod, 10);

        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-ordered") == 1, "termination confirmed");
        Assert.Equal(["app", "proxy"], host.Driver.Stops.Select(s => s.Id.Contains("-proxy-", StringComparison.Ordinal) ? "proxy" : "app"));
    }

    [Fact]
    public async Task Status_IsPublishedOnlyWhenItChanges()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("quiet");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Running", "running");
        var count = host.Publisher.Statuses(pod.Metadata.Uid!).Count;

        await host.ApplyAsync(new ConfigMap { Metadata = new() { Name = "unrelated", Namespace = "default" }, Data = new() { ["a"] = "b" } });
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.ApplyAsync(pod);

        // A later pod running shows the manager has handled the batches before it.
        var later = PodTestHost.MakePod("later");
        await host.ApplyAsync(later);
        await PodTestHost.Eventually(() => host.Status(later)?.Phase == "Running", "later pod running");
        Assert.Equal(count, host.Publisher.Statuses(pod.Metadata.Uid!).Count);
    }

    [Fact]
    public async Task CrashLoop_BacksOffTenThenTwentySeconds_AndShowsCrashLoopBackOff()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("crash");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "first start");

        // First crash: restarted at once.
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Driver.StartsOf("app").Count() == 2 && host.Driver.RunningCount("app") == 1, "immediate first restart");

        // Second crash: waits 10 s.
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Reason == "CrashLoopBackOff", "CrashLoopBackOff");
        Assert.StartsWith("back-off 10s restarting failed container=app pod=crash_default(uid-crash)", host.Container(pod)!.State!.Waiting!.Message);
        Assert.Equal(1, host.Container(pod)!.LastState!.Terminated!.ExitCode);
        Assert.Equal("Error", host.Container(pod)!.LastState!.Terminated!.Reason);
        host.Time.Advance(TimeSpan.FromSeconds(9));
        await Task.Delay(50);
        Assert.Equal(2, host.Driver.StartsOf("app").Count());
        await host.AdvanceUntil(() => host.Driver.StartsOf("app").Count() == 3, Second, "restart after 10s");
        await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 2 && host.Driver.RunningCount("app") == 1, "restart count 2");

        // Third crash: waits 20 s.
        host.Driver.Exit("app", 2);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Message?.StartsWith("back-off 20s", StringComparison.Ordinal) == true, "back-off 20s");
        Assert.Contains(host.Publisher.Events, e => e.Reason == "BackOff" && e.Type == "Warning");
        host.Time.Advance(TimeSpan.FromSeconds(19));
        await Task.Delay(50);
        Assert.Equal(3, host.Driver.StartsOf("app").Count());
        await host.AdvanceUntil(() => host.Driver.StartsOf("app").Count() == 4, Second, "restart after 20s");
    }

    [Fact]
    public async Task CrashLoop_AfterTenMinutesOfRunning_RestartsAtOnce()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("steady");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "start");
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Driver.StartsOf("app").Count() == 2 && host.Driver.RunningCount("app") == 1, "first restart");
        host.Driver.Exit("app", 1);
        await host.AdvanceUntil(() => host.Driver.StartsOf("app").Count() == 3 && host.Driver.RunningCount("app") == 1, Second, "second restart");

        // It now runs for 10 minutes: the back-off is forgotten.
        host.Time.Advance(TimeSpan.FromMinutes(10));
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Driver.StartsOf("app").Count() == 4, "restart at once after a long run");
        await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 3, "restart count 3");
    }

    [Fact]
    public async Task RestartPolicyNever_ExitedContainer_StaysTerminatedAndPodSucceeds()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("job", "Never");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "start");
        host.Driver.Exit("app", 0);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Succeeded", "Succeeded");
        var terminated = host.Container(pod)!.State!.Terminated!;
        Assert.Equal("Completed", terminated.Reason);
        Assert.Equal(0, terminated.ExitCode);
        Assert.NotNull(terminated.FinishedAt);
        Assert.Equal("PodCompleted", host.Status(pod)!.Conditions!.Single(c => c.Type == "Ready").Reason);
        host.Time.Advance(TimeSpan.FromMinutes(10));
        await Task.Delay(50);
        Assert.Single(host.Driver.Started);
    }

    [Fact]
    public async Task RestartPolicyOnFailure_RestartsOnlyAfterAFailure()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("onfail", "OnFailure");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "start");
        host.Driver.Exit("app", 3);
        await PodTestHost.Eventually(() => host.Driver.StartsOf("app").Count() == 2 && host.Driver.RunningCount("app") == 1, "restart after failure");
        host.Driver.Exit("app", 0);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Succeeded", "Succeeded");
        Assert.Equal(1, host.Container(pod)!.RestartCount);
        Assert.Equal(3, host.Container(pod)!.LastState!.Terminated!.ExitCode);
    }

    [Fact]
    public async Task OomKilledContainer_ShowsOomKilledInLastState()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("hungry");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "start");
        host.Driver.Exit("app", 137, oomKilled: true);

        await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 1 && host.Container(pod)?.State?.Running is not null, "restarted");
        var last = host.Container(pod)!.LastState!.Terminated!;
        Assert.Equal("OOMKilled", last.Reason);
        Assert.Equal(137, last.ExitCode);
    }

    [Fact]
    public async Task InitContainers_RunInOrderBeforeAppContainers()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("init");
        pod.Spec.InitContainers = [new Container { Name = "one", Image = "busybox:1" }, new Container { Name = "two", Image = "busybox:1" }];
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Driver.RunningCount("one") == 1, "first init running");
        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Pending" && host.Container(pod, "app")?.State?.Waiting?.Reason == "PodInitializing", "app waits");
        Assert.Equal("PodInitializing", host.Container(pod, "two")!.State!.Waiting!.Reason);
        Assert.Empty(host.Driver.StartsOf("two"));
        host.Driver.Exit("one", 0);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("two") == 1, "second init running");
        Assert.Empty(host.Driver.StartsOf("app"));
        host.Driver.Exit("two", 0);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Running", "app running");
        Assert.Equal(["one", "two", "app"], host.Driver.Started.Select(s => s.ContainerName));
        Assert.Equal("True", host.Status(pod)!.Conditions!.Single(c => c.Type == "Initialized").Status);
        Assert.Equal("Completed", host.Container(pod, "one")!.State!.Terminated!.Reason);
    }

    [Fact]
    public async Task FailedInitContainer_WithNeverPolicy_FailsThePod()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("initfail", "Never");
        pod.Spec.InitContainers = [new Container { Name = "setup", Image = "busybox:1" }];
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("setup") == 1, "init running");
        host.Driver.Exit("setup", 1);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Failed", "pod Failed");
        Assert.Empty(host.Driver.StartsOf("app"));
    }

    [Fact]
    public async Task ImagePullFailure_ShowsErrImagePullThenImagePullBackOff_AndRetriesAfterBackOff()
    {
        await using var host = new PodTestHost();
        host.Driver.FailingImages["ghost:1"] = "manifest unknown";
        await host.StartAsync();
        var pod = PodTestHost.MakePod("ghost", "Always", new Container { Name = "app", Image = "ghost:1" });
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Reason == "ImagePullBackOff", "ImagePullBackOff");
        Assert.Contains(host.Publisher.Statuses(pod.Metadata.Uid!), s => s.ContainerStatuses?[0].State?.Waiting?.Reason == "ErrImagePull");
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Failed" && e.Message == "Failed to pull image \"ghost:1\": manifest unknown");
        Assert.Equal("Back-off pulling image \"ghost:1\"", host.Container(pod)!.State!.Waiting!.Message);

        host.Driver.FailingImages.Clear();
        await host.AdvanceUntil(() => host.Container(pod)?.State?.Running is not null, Second, "pulled after back-off");
    }

    [Fact]
    public async Task UnknownRuntimeClass_LeavesContainerCreatingWithWarningEvent()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("gvisor");
        pod.Spec.RuntimeClassName = "gvisor";
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Reason == "ContainerCreating", "waiting");
        Assert.Contains("no runtime for \"gvisor\" is configured", host.Container(pod)!.State!.Waiting!.Message);
        Assert.Contains(host.Publisher.Events, e => e.Type == "Warning" && e.Reason == "FailedCreatePodSandBox" && e.Message!.Contains("gvisor"));
        Assert.Empty(host.Driver.Started);
    }

    [Fact]
    public async Task UnhealthyDriver_LeavesPodPendingWithItsReason()
    {
        var host = new PodTestHost();
        await using var _ = host;
        host.Driver.Healthy = false;
        await host.StartAsync();
        var pod = PodTestHost.MakePod("sick");
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Waiting?.Message?.Contains("is not ready: the fake runtime is switched off") == true, "not ready message");
        host.Driver.Healthy = true;
        await host.AdvanceUntil(() => host.Container(pod)?.State?.Running is not null, Second, "runs once the driver is healthy");
    }

    [Fact]
    public async Task PodRemovedFromLocalState_IsKilledWithoutAGracePeriod_AndCleanedUp()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("gone");
        pod.Spec.TerminationGracePeriodSeconds = 7;
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        var podDir = Path.Combine(host.DataDir, "pods", "uid-gone");
        Assert.True(Directory.Exists(podDir));

        // Removed from the API without a graceful delete first: a force delete. Its 7 s do not apply, as on a kubelet.
        await host.DeleteAsync(DesiredKind.Pod, "default", "gone");

        await PodTestHost.Eventually(() => host.Network.TornDown.Contains("uid-gone") && !Directory.Exists(podDir), "cleaned up");
        var stop = Assert.Single(host.Driver.Stops);
        Assert.Equal(TimeSpan.Zero, stop.Grace);
        Assert.Contains("uid-gone-app-0", host.Driver.Destroyed);
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Killing" && e.Message == "Stopping container app");
        await PodTestHost.Eventually(() => host.State.ListTasks("uid-gone").Count == 0, "tasks forgotten");
        await PodTestHost.Eventually(() => host.Manager.TrackedPods == 0, "no worker or termination kept for the pod");
    }

    [Fact]
    public async Task PodWithDeletionTimestamp_IsStoppedWithTheDeletionGracePeriod()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("leaving");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");

        await host.MarkDeletedAsync(pod, 3);

        await PodTestHost.Eventually(() => !host.Driver.Stops.IsEmpty, "stopped");
        Assert.Equal(TimeSpan.FromSeconds(3), host.Driver.Stops.Single().Grace);

        // Once stopped and cleaned up, the control plane hears that the pod may go: once, with a terminal status.
        var podDir = Path.Combine(host.DataDir, "pods", "uid-leaving");
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-leaving") == 1, "termination confirmed");
        Assert.False(Directory.Exists(podDir));
        Assert.Equal("Failed", host.Status(pod)!.Phase);
        Assert.NotNull(host.Container(pod)!.State!.Terminated);

        // Later changes of local state do not confirm it again.
        await host.ApplyAsync(PodTestHost.MakePod("other"));
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "the other pod running");
        Assert.Equal(1, host.Publisher.TerminatedCount("uid-leaving"));
    }

    [Fact]
    public async Task PreStopSleep_RunsBeforeTheStop_WhichGetsTheGracePeriodLeft()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("drain", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1.36",
            Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Sleep = new SleepAction { Seconds = 3 } } },
        });
        pod.Spec.TerminationGracePeriodSeconds = 10;
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");

        await host.MarkDeletedAsync(pod, 10);

        // While it shuts down, its logs stay readable (kubectl logs of a Terminating pod).
        await PodTestHost.Eventually(() => host.Publisher.Events.Any(e => e.Reason == "Killing"), "termination started");
        Assert.Equal("uid-drain", host.Manager.Find("default", "drain")?.Uid);

        // The stop waits for the hook's 3 s of (fake) time, then gets what is left of the 10 s.
        await host.AdvanceUntil(() => !host.Driver.Stops.IsEmpty, TimeSpan.FromSeconds(1), "stopped after the hook");
        Assert.InRange(host.Driver.Stops.Single().Grace, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(7));
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-drain") == 1, "termination confirmed");
    }

    [Fact]
    public async Task PreStopExecThatFails_IsAWarningEvent_AndTheStopGoesOn()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("hooked", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1.36",
            Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Exec = new ExecAction { Command = ["deregister", "--now"] } } },
        });
        pod.Spec.TerminationGracePeriodSeconds = 7;
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        host.Driver.ExecResults["deregister"] = new Verge.Agent.Drivers.ExecResult(3, "registry unreachable\n", false);

        await host.MarkDeletedAsync(pod, 7);

        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-hooked") == 1, "termination confirmed");
        Assert.Contains(host.Driver.ExecCommands, c => c == ("app", "deregister --now"));
        var failed = Assert.Single(host.Publisher.Events, e => e.Reason == "FailedPreStopHook");
        Assert.Equal("Warning", failed.Type);
        Assert.Equal(
            "Exec lifecycle hook ([deregister --now]) for Container \"app\" in Pod \"hooked_default(uid-hooked)\" failed - error: command 'deregister --now' exited with 3: registry unreachable, message: \"registry unreachable\"",
            failed.Message);
        Assert.Equal(TimeSpan.FromSeconds(7), host.Driver.Stops.Single().Grace);
    }

    [Fact]
    public async Task PostStartExec_RunsAfterTheStart_AndAFailureStopsTheContainerForARestart()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        host.Driver.ExecResults["warm-up"] = new Verge.Agent.Drivers.ExecResult(1, "", false);
        var pod = PodTestHost.MakePod("warm", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1.36",
            Lifecycle = new Lifecycle { PostStart = new LifecycleHandler { Exec = new ExecAction { Command = ["warm-up"] } } },
        });
        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Publisher.Events.Any(e => e.Reason == "FailedPostStartHook"), "the hook failed");
        await PodTestHost.Eventually(() => !host.Driver.Stops.IsEmpty, "the container stopped");
        Assert.Contains(host.Publisher.Events, e => e.Reason == "Killing" && e.Message == "FailedPostStartHook");

        // Once the hook succeeds, the restarted container stays.
        host.Driver.ExecResults["warm-up"] = new Verge.Agent.Drivers.ExecResult(0, "", false);
        await host.AdvanceUntil(() => host.Container(pod)?.RestartCount >= 1 && host.Container(pod)?.State?.Running is not null, TimeSpan.FromSeconds(1), "restarted");
        Assert.True(host.Driver.ExecCommands.Count(c => c == ("app", "warm-up")) >= 2, "the hook ran for each start");
    }

    [Fact]
    public async Task TerminationThatFails_IsNotConfirmed_AndIsRetriedUntilItSucceeds()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("stuck");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        host.Driver.FailingStops = 1;

        await host.MarkDeletedAsync(pod, 5);

        // The stop failed: the container may still run, so the pod stays (its tasks kept) and is not confirmed.
        await PodTestHost.Eventually(() => host.Driver.Stops.Count == 1 && host.Manager.TrackedPods == 0, "the first try ended");
        Assert.Equal(0, host.Publisher.TerminatedCount("uid-stuck"));
        Assert.NotEmpty(host.State.ListTasks("uid-stuck"));
        Assert.Equal(1, host.Driver.RunningCount("app"));

        // The retry stops it, cleans up and confirms, with nothing else happening on the node.
        await host.AdvanceUntil(() => host.Publisher.TerminatedCount("uid-stuck") == 1, TimeSpan.FromSeconds(1), "retried and confirmed");
        Assert.Equal(0, host.Driver.RunningCount("app"));
        Assert.Empty(host.State.ListTasks("uid-stuck"));
        Assert.Equal(TimeSpan.FromSeconds(5), host.Driver.Stops.Last().Grace);
    }

    [Fact]
    public async Task PodThatExitsZeroWhenStopped_EndsSucceeded()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("clean");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        host.Driver.StopExitCode = 0;

        await host.MarkDeletedAsync(pod, 30);

        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-clean") == 1, "termination confirmed");
        Assert.Equal("Succeeded", host.Status(pod)!.Phase);
    }

    [Fact]
    public async Task PodRemovedFromLocalState_IsStopped_WithoutAConfirmation()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        await host.ApplyAsync(PodTestHost.MakePod("forced"));
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");

        // A force delete: the pod is gone from the API already, nobody waits for the node.
        await host.DeleteAsync(DesiredKind.Pod, "default", "forced");

        await PodTestHost.Eventually(() => host.Manager.TrackedPods == 0 && host.State.ListTasks("uid-forced").Count == 0, "cleaned up");
        Assert.Equal(0, host.Publisher.TerminatedCount("uid-forced"));
    }

    [Fact]
    public async Task ShorterGracePeriod_WhileAContainerIgnoresTerm_KillsItByTheShorterDeadline()
    {
        await using var host = new PodTestHost();
        var pod = await RunContainerIgnoringTermAsync(host, "stubborn");

        // kubectl delete pod stubborn: TERM, which the container ignores, and KILL 30 s later.
        await host.MarkDeletedAsync(pod, 30);
        await PodTestHost.Eventually(() => host.Driver.Stops.Count == 1, "the first stop under way");
        Assert.Equal(TimeSpan.FromSeconds(30), host.Driver.Stops.Single().Grace);

        // kubectl delete pod stubborn --grace-period=1: the stop starts again with the shorter period.
        await host.MarkDeletedAsync(pod, 1);
        await PodTestHost.Eventually(() => host.Driver.Stops.Count == 2, "stopped again");
        Assert.Equal(Second, host.Driver.Stops.Last().Grace);

        // One second of the clock, not thirty, and the container is killed and the pod confirmed gone.
        host.Time.Advance(Second);
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-stubborn") == 1, "termination confirmed");
        Assert.Equal(137, host.Container(pod)!.State!.Terminated!.ExitCode);
        Assert.Equal(0, host.Driver.RunningCount("app"));
    }

    [Fact]
    public async Task LongerGracePeriod_NeverExtendsATerminationUnderWay()
    {
        await using var host = new PodTestHost();
        var pod = await RunContainerIgnoringTermAsync(host, "patient");
        await host.MarkDeletedAsync(pod, 10);
        await PodTestHost.Eventually(() => host.Driver.Stops.Count == 1, "the stop under way");

        await host.MarkDeletedAsync(pod, 60);
        await host.Manager.SyncAsync(null, CancellationToken.None);

        host.Time.Advance(TimeSpan.FromSeconds(10));
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-patient") == 1, "killed at the first deadline");
        Assert.Equal(TimeSpan.FromSeconds(10), host.Driver.Stops.Single().Grace);
    }

    [Fact]
    public async Task ForceDelete_WhileAContainerIgnoresTerm_KillsItAtOnce()
    {
        await using var host = new PodTestHost();
        var pod = await RunContainerIgnoringTermAsync(host, "forced-late");
        await host.MarkDeletedAsync(pod, 30);
        await PodTestHost.Eventually(() => host.Driver.Stops.Count == 1, "the stop under way");

        // kubectl delete pod --grace-period=0 --force: the pod is gone from the API, and from local state.
        await host.DeleteAsync(DesiredKind.Pod, "default", "forced-late");

        // Without the clock moving at all.
        await PodTestHost.Eventually(() => host.Manager.TrackedPods == 0 && host.State.ListTasks("uid-forced-late").Count == 0, "killed and cleaned up");
        Assert.Equal(TimeSpan.Zero, host.Driver.Stops.Last().Grace);
        Assert.Equal(0, host.Driver.RunningCount("app"));
    }

    [Fact]
    public async Task ShorterGracePeriod_WhileASidecarStops_StopsItAgainWithWhatIsLeft()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        host.Driver.IgnoringTerm["proxy"] = 0;
        var pod = SidecarPod("meshed", "Always");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("proxy") == 1 && host.Driver.RunningCount("app") == 1, "running");

        // The app stops on TERM; the sidecar, stopped after it, ignores TERM.
        await host.MarkDeletedAsync(pod, 60);
        await PodTestHost.Eventually(() => host.Driver.StopsOf("proxy").Count() == 1, "the sidecar's stop under way");
        Assert.Equal(TimeSpan.FromSeconds(60), host.Driver.StopsOf("app").Single());
        Assert.Equal(TimeSpan.FromSeconds(60), host.Driver.StopsOf("proxy").Single());

        // The sidecar's stop starts again with what is left of 1 s: the kubelet's 2 s minimum.
        await host.MarkDeletedAsync(pod, 1);
        await PodTestHost.Eventually(() => host.Driver.StopsOf("proxy").Count() == 2, "the sidecar stopped again");
        Assert.Equal(TimeSpan.FromSeconds(2), host.Driver.StopsOf("proxy").Last());

        host.Time.Advance(TimeSpan.FromSeconds(2));
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-meshed") == 1, "termination confirmed");
        Assert.Equal(0, host.Driver.RunningCount("proxy"));
    }

    [Fact]
    public async Task ForceDelete_DuringAPreStopHook_CutsTheHookShort()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        host.Driver.HangingExecs["drain"] = 0;
        var pod = PodTestHost.MakePod("draining", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1.36",
            Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Exec = new ExecAction { Command = ["drain"] } } },
        });
        pod.Spec.TerminationGracePeriodSeconds = 120;
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        await host.MarkDeletedAsync(pod, 120);
        await PodTestHost.Eventually(() => host.Driver.ExecCommands.Contains(("app", "drain")), "the hook under way");

        await host.DeleteAsync(DesiredKind.Pod, "default", "draining");

        // The hook would never end on its own; cut short, the stop follows with the kubelet's 2 s minimum.
        await PodTestHost.Eventually(() => host.Manager.TrackedPods == 0 && host.State.ListTasks("uid-draining").Count == 0, "stopped and cleaned up");
        Assert.Equal(TimeSpan.FromSeconds(2), host.Driver.Stops.Single().Grace);
        Assert.DoesNotContain(host.Publisher.Events, e => e.Reason == "FailedPreStopHook");
    }

    [Fact]
    public async Task ShorterGracePeriod_DuringAPreStopHook_CutsItShortAtTheNewDeadline()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        host.Driver.HangingExecs["drain"] = 0;
        var pod = PodTestHost.MakePod("draining", "Always", new Container
        {
            Name = "app",
            Image = "busybox:1.36",
            Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Exec = new ExecAction { Command = ["drain"] } } },
        });
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        await host.MarkDeletedAsync(pod, 300);
        await PodTestHost.Eventually(() => host.Driver.ExecCommands.Contains(("app", "drain")), "the hook under way");

        await host.MarkDeletedAsync(pod, 3);

        await host.AdvanceUntil(() => !host.Driver.Stops.IsEmpty, Second, "the hook cut short and the container stopped");
        Assert.Equal(TimeSpan.FromSeconds(2), host.Driver.Stops.Single().Grace);
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-draining") == 1, "termination confirmed");
    }

    /// <summary>Starts the host and a pod whose container "app" ignores TERM, and waits until it runs.</summary>
    private static async Task<Pod> RunContainerIgnoringTermAsync(PodTestHost host, string name)
    {
        await host.StartAsync();
        host.Driver.IgnoringTerm["app"] = 0;
        var pod = PodTestHost.MakePod(name);
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "running");
        return pod;
    }
}
