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
        using var simulator = new Running(server.KubeconfigPath, new HollowNodeOptions
        {
            Count = 2,
            Prefix = "beat",
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            SummaryInterval = TimeSpan.FromMilliseconds(100),
        });
        await simulator.Output.WaitForAsync("registered 2 nodes");
        using var probe = new ApiProbe(new KubeClient(Kubeconfig.Load([server.KubeconfigPath]).Resolve(null)));
        var node = await probe.GetAsync("/api/v1/nodes/beat-0001");
        var first = DateTimeOffset.Parse(Ready(node)["lastHeartbeatTime"]!.GetValue<string>());

        var beaten = await probe.WaitAsync("/api/v1/nodes", "fieldSelector=metadata.name%3Dbeat-0001",
            n => DateTimeOffset.Parse(Ready(n)["lastHeartbeatTime"]!.GetValue<string>()) > first);
        await simulator.Output.WaitForAsync("2 nodes, 0 pods running");
        await simulator.StopAsync();

        Assert.Equal("True", Ready(beaten!)["status"]!.GetValue<string>());
        Assert.Equal(Ready(node)["lastTransitionTime"]!.GetValue<string>(), Ready(beaten!)["lastTransitionTime"]!.GetValue<string>());
        Assert.Equal("", simulator.Errors.Text);
    }

    [Fact]
    public async Task Run_WhenThePodWatchEnds_ResumesIt_AndCountsItInTheSummary()
    {
        using var simulator = new Running(server.KubeconfigPath, new HollowNodeOptions
        {
            Count = 1,
            Prefix = "resume",
            SummaryInterval = TimeSpan.FromMilliseconds(100),
            PodWatchTimeout = TimeSpan.FromSeconds(1),
        });
        await simulator.Output.WaitForAsync("registered 1 nodes");

        // The server ends each watch after a second; the simulator watches again from where it was, with no list.
        await simulator.Output.WaitForAsync("pod watch resumed 2 and relisted 0 times");
        await simulator.StopAsync();
        Assert.Equal("", simulator.Errors.Text);
    }

    /// <summary>The engine running against the test server until it is stopped.</summary>
    private sealed class Running : IDisposable
    {
        private readonly KubeClient _client;
        private readonly HollowNodeSimulator _simulator;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public Running(string kubeconfig, HollowNodeOptions options)
        {
            _client = new KubeClient(Kubeconfig.Load([kubeconfig]).Resolve(null));
            _simulator = new HollowNodeSimulator(_client, options, TimeProvider.System, Output, Errors);
            _run = _simulator.RunAsync(_stop.Token);
        }

        public LineWaiter Output { get; } = new();

        public LineWaiter Errors { get; } = new();

        /// <summary>Stops it as Ctrl-C does: its run ends cancelled.</summary>
        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _run);
        }

        public void Dispose()
        {
            _stop.Cancel();
            _simulator.Dispose();
            _client.Dispose();
            _stop.Dispose();
        }
    }

    private static System.Text.Json.Nodes.JsonNode Ready(System.Text.Json.Nodes.JsonNode node) =>
        node["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "Ready")!;
}
