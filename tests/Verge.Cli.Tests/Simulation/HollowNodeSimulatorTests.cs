using Verge.Cli.Client;
using Verge.Cli.Simulation;
using Verge.Cli.Tests.Integration;

namespace Verge.Cli.Tests.Simulation;

/// <summary>The simulator engine with intervals the command line does not expose (heartbeat, summary).</summary>
public sealed class HollowNodeSimulatorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Run_WhenHeartbeatIsDue_RefreshesReadyHeartbeatAndPrintsSummaries()
    {
        using var client = new KubeClient(Kubeconfig.Load([server.KubeconfigPath]).Resolve(null));
        var output = new LineWaiter();
        var errors = new LineWaiter();
        var options = new HollowNodeOptions
        {
            Count = 2,
            Prefix = "beat",
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            SummaryInterval = TimeSpan.FromMilliseconds(100),
        };
        using var simulator = new HollowNodeSimulator(client, options, TimeProvider.System, output, errors);
        using var stop = new CancellationTokenSource();
        var run = simulator.RunAsync(stop.Token);
        await output.WaitForAsync("registered 2 nodes");
        using var probe = new ApiProbe(new KubeClient(Kubeconfig.Load([server.KubeconfigPath]).Resolve(null)));
        var node = await probe.GetAsync("/api/v1/nodes/beat-0001");
        var first = DateTimeOffset.Parse(Ready(node)["lastHeartbeatTime"]!.GetValue<string>());

        var beaten = await probe.WaitAsync("/api/v1/nodes", "fieldSelector=metadata.name%3Dbeat-0001",
            n => DateTimeOffset.Parse(Ready(n)["lastHeartbeatTime"]!.GetValue<string>()) > first);
        await output.WaitForAsync("2 nodes, 0 pods running");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        Assert.Equal("True", Ready(beaten!)["status"]!.GetValue<string>());
        Assert.Equal(Ready(node)["lastTransitionTime"]!.GetValue<string>(), Ready(beaten!)["lastTransitionTime"]!.GetValue<string>());
        Assert.Equal("", errors.Text);
    }

    [Fact]
    public async Task Run_WhenThePodWatchEnds_ResumesIt_AndCountsItInTheSummary()
    {
        using var client = new KubeClient(Kubeconfig.Load([server.KubeconfigPath]).Resolve(null));
        var output = new LineWaiter();
        var errors = new LineWaiter();
        var options = new HollowNodeOptions
        {
            Count = 1,
            Prefix = "resume",
            SummaryInterval = TimeSpan.FromMilliseconds(100),
            PodWatchTimeout = TimeSpan.FromSeconds(1),
        };
        using var simulator = new HollowNodeSimulator(client, options, TimeProvider.System, output, errors);
        using var stop = new CancellationTokenSource();
        var run = simulator.RunAsync(stop.Token);
        await output.WaitForAsync("registered 1 nodes");

        // The server ends each watch after a second; the simulator watches again from where it was, with no list.
        await output.WaitForAsync("pod watch resumed 2 and relisted 0 times");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal("", errors.Text);
    }

    private static System.Text.Json.Nodes.JsonNode Ready(System.Text.Json.Nodes.JsonNode node) =>
        node["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "Ready")!;
}
