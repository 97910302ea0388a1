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
