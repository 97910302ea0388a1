using Verge.Agent.Tests.Fakes;

namespace Verge.Agent.Tests.Pods;

public sealed class RecoveryTests
{
    [Fact]
    public async Task NewPodManager_OverTheSameDataDir_ReattachesWithoutRestarting()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("durable");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        host.Driver.Exit("app", 1);
        await PodTestHost.Eventually(() => host.Container(pod)?.RestartCount == 1 && host.Container(pod)?.State?.Running is not null, "restarted once");

        await host.RestartAgentAsync();

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running after agent restart");
        Assert.Equal(2, host.Driver.Started.Count);
        Assert.Contains("uid-durable-app-1", host.Driver.Recovered);
        Assert.Equal(1, host.Container(pod)!.RestartCount);
        Assert.Equal(1, host.Container(pod)!.LastState!.Terminated!.ExitCode);

        // The re-attached task is watched: its exit is seen and it restarts.
        host.Driver.Exit("app", 1);
        await host.AdvanceUntil(() => host.Container(pod)?.RestartCount == 2 && host.Container(pod)?.State?.Running is not null, TimeSpan.FromSeconds(1), "restart after recovery");
    }

    [Fact]
    public async Task NetworkLeftWithoutATask_ByAnAgentThatDiedMidway_IsTornDown_WhileRunningPodsKeepTheirs()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("kept");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        await host.Network.SetUpAsync(new Verge.Agent.Networking.PodNetworkRequest("uid-gone", "default", "gone", []), CancellationToken.None);

        await host.RestartAgentAsync();
        await host.ApplyAsync(PodTestHost.MakePod("other"));

        await PodTestHost.Eventually(() => host.Network.TornDown.Contains("uid-gone"), "the leftover network torn down");
        Assert.DoesNotContain(host.Network.TornDown, uid => uid != "uid-gone");
        Assert.Contains(pod.Metadata.Uid, host.Network.ListPods());
    }

    [Fact]
    public async Task PodDeletedWhileTheAgentWasDown_IsStoppedFromItsLeftovers_ThenConfirmed()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("deleted-meanwhile");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");

        // The deletion reaches local state while no pod manager runs (the agent died as it arrived).
        await host.Manager.DisposeAsync();
        await host.MarkDeletedAsync(pod, 5);
        await host.RestartAgentAsync();

        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-deleted-meanwhile") == 1, "termination confirmed");
        Assert.Equal(TimeSpan.FromSeconds(5), host.Driver.Stops.Single().Grace);
        Assert.Empty(host.State.ListTasks("uid-deleted-meanwhile"));
        Assert.Contains("uid-deleted-meanwhile", host.Network.TornDown);
        Assert.Equal(0, host.Driver.RunningCount("app"));
    }

    [Fact]
    public async Task PodAlreadyStoppedBeforeARestart_IsConfirmedAgainOnce()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("stopped-before");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");
        await host.MarkDeletedAsync(pod, 5);
        await PodTestHost.Eventually(() => host.Publisher.TerminatedCount("uid-stopped-before") == 1, "termination confirmed");

        // The confirmation may not have reached the server: the next run sends it again, once, with nothing to stop.
        await host.RestartAgentAsync();
        await host.ApplyAsync(PodTestHost.MakePod("other"));
        await PodTestHost.Eventually(() => host.Driver.RunningCount("app") == 1, "the other pod running");

        Assert.Equal(1, host.Publisher.TerminatedCount("uid-stopped-before"));
        Assert.Single(host.Driver.Stops);
    }

    [Fact]
    public async Task AfterReboot_LostTaskStartsAgain_WithRestartCountContinued()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("rebooted");
        await host.ApplyAsync(pod);
        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "running");

        // A new driver instance knows no tasks: the machine rebooted.
        await host.RestartAgentAsync(new FakeDriver(time: host.Time));

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null && host.Container(pod)?.RestartCount == 1, "started again");
        Assert.Equal("Unknown", host.Container(pod)!.LastState!.Terminated!.Reason);
        Assert.EndsWith("uid-rebooted-app-1", host.Driver.Started.Single().Id);
    }

    [Fact]
    public async Task OfflineStart_RunsPodsFromLocalState_WithoutAnyNewBatch()
    {
        var dataDir = Directory.CreateTempSubdirectory("verge-offline-").FullName;
        var pod = PodTestHost.MakePod("offline");
        using (var state = Verge.Agent.State.LocalState.Open(dataDir))
        {
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(pod, Verge.Core.Serialization.VergeJson.Options);
            var key = new Verge.Agent.Channel.DesiredKey(Verge.Agent.Channel.DesiredKind.Pod, "default", "offline");
            await state.ApplyAsync(new Verge.Agent.Channel.DesiredBatch(5, true, [new Verge.Agent.Channel.DesiredChange(key, false, 5, json)]), CancellationToken.None);
        }

        // No control plane: the agent starts from what is on disk.
        await using var host = new PodTestHost(dataDir: dataDir);
        await host.StartAsync();

        await PodTestHost.Eventually(() => host.Container(pod)?.State?.Running is not null, "pod from local state running");
        Assert.Equal(5, host.State.LastRevision);
    }
}
