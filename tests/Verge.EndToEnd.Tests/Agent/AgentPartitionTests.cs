using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Verge.EndToEnd.Tests.Agent;

/// <summary>
/// Edge promise 1 end to end: an agent in its own network namespace whose link to the control plane is cut keeps
/// running and restarting its workloads, survives its own crash and restart from local state, and after the link
/// heals reports what happened without restarting anything that did not need it.
/// </summary>
[Collection(EdgeClusterGroup.Name)]
public sealed class AgentPartitionTests(EdgeCluster cluster, ITestOutputHelper output)
{
    private const string Node = "e2e-edge-2";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Partition_WorkloadsKeepRunningRestartLocallyAndResyncWithoutRestarts()
    {
        var netns = await cluster.CreateNamespaceAsync();
        var agent = await cluster.StartAgentAsync(Node, netns, "10.215.0.0/24");
        var dataDir = agent.DataDir;
        var runcRoot = Path.Combine(dataDir, "runc", "state");
        try
        {
            // steady counts forever; crasher runs until the test kills it.
            await cluster.ApplyAsync(Pod("e2e-steady", "i=0; while true; do i=$$((i+1)); echo tick $i; sleep 1; done"));
            await cluster.ApplyAsync(Pod("e2e-crasher", "echo up; exec sleep 3600"));
            var steady = await RunningAsync("e2e-steady");
            var crasher = await RunningAsync("e2e-crasher");
            var steadyTask = TaskId(steady);
            var crasherTask = TaskId(crasher);
            var steadyPid = await RuncPidAsync(runcRoot, steadyTask);

            var bytesBeforeCut = await cluster.ChannelBytesAsync(Node);
            await netns.CutAsync();

            // A crash while cut off is restarted locally (a new task id: the instance number goes up).
            await EdgeTools.ExecAsync("runc", ["--root", runcRoot, "kill", crasherTask, "KILL"]);
            await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var running = await RuncRunningAsync(runcRoot);
                    return running.Any(id => id != crasherTask && id.Contains("-app-", StringComparison.Ordinal) && id.StartsWith(Uid(crasher), StringComparison.Ordinal))
                        ? "restarted"
                        : null;
                },
                Timeout,
                async () => $"runc list: {string.Join(", ", await RuncRunningAsync(runcRoot))}\n{agent.Output}");

            // The agent crashes and comes back while still cut off: it restores the pods from local state and
            // re-attaches to the running containers instead of starting them again.
            agent.Kill();
            var restarted = cluster.Track(AgentProcess.Start(dataDir, cluster.AgentArgs(Node, token: null, "10.215.0.0/24"), netns));
            await restarted.WaitForLineAsync("pods from local state are running", Timeout);
            Assert.Equal(steadyPid, await RuncPidAsync(runcRoot, steadyTask));
            var ticksBefore = TickCount(dataDir, steady);
            await EdgeTools.EventuallyAsync(
                () => Task.FromResult<string?>(TickCount(dataDir, steady) > ticksBefore ? "counting" : null),
                Timeout,
                () => Task.FromResult(restarted.Output));

            // The control plane notices the cut (the node's Ready condition leaves True) before the link heals.
            await EdgeTools.EventuallyAsync(
                async () => await NodeReadyAsync() != "True" ? "not ready" : null,
                Timeout,
                () => cluster.Kubectl.OkAsync("get", "node", Node, "-o", "yaml"));

            // Nobody knows that the pods of a node out of reach still serve: they are marked not Ready.
            await EdgeTools.EventuallyAsync(
                async () => await PodReadyAsync("e2e-steady") == "False" ? "not ready" : null,
                Timeout,
                async () => (await cluster.PodAsync("e2e-steady"))?["status"]?.ToJsonString() ?? "no pod");

            // Heal: the node comes back Ready and reports the local restart; nothing healthy was restarted.
            await netns.HealAsync();
            await restarted.WaitForLineAsync($"Agent {Node} is in sync", Timeout);
            var crasherAfter = await EdgeTools.EventuallyAsync(
                async () =>
                {
                    var pod = await cluster.PodAsync("e2e-crasher");
                    var status = pod?["status"]?["containerStatuses"]?[0];
                    return (int?)status?["restartCount"] >= 1 && status!["state"]?["running"] is not null ? status : null;
                },
                Timeout,
                async () => (await cluster.PodAsync("e2e-crasher"))?["status"]?.ToJsonString() ?? "no pod");
            Assert.Equal(137, (int?)crasherAfter["lastState"]?["terminated"]?["exitCode"]);
            await EdgeTools.EventuallyAsync(
                async () => await NodeReadyAsync() == "True" ? "ready" : null,
                Timeout,
                () => cluster.Kubectl.OkAsync("get", "node", Node, "-o", "yaml"));

            await PodReadyAgainAsync("e2e-steady");
            var steadyAfter = (await cluster.PodAsync("e2e-steady"))!["status"]!["containerStatuses"]![0]!;
            Assert.Equal(0, (int)steadyAfter["restartCount"]!);
            Assert.Equal((string?)steady["status"]!["containerStatuses"]![0]!["containerID"], (string?)steadyAfter["containerID"]);
            Assert.Equal(steadyPid, await RuncPidAsync(runcRoot, steadyTask));
            var log = File.ReadAllText(LogPath(dataDir, steady));
            Assert.Equal(1, log.Split('\n').Count(l => l == "tick 1"));

            var bytesAfterHeal = await cluster.ChannelBytesAsync(Node);
            output.WriteLine($"node channel bytes for {Node}: {bytesBeforeCut} before the cut, {bytesAfterHeal} after the heal and resync: {bytesAfterHeal - bytesBeforeCut} bytes across the partition, the agent restart and the resync");
            Assert.True(bytesAfterHeal > bytesBeforeCut, "the resync exchanged no bytes");
            Assert.False(restarted.HasExited, restarted.Output);

            // A second cut, short, with the agent running throughout: its session may outlive the cut, and its pods
            // change nothing, so it reports nothing; the control plane makes them Ready again when the node is.
            await netns.CutAsync();
            await EdgeTools.EventuallyAsync(
                async () => await PodReadyAsync("e2e-steady") == "False" ? "not ready" : null,
                Timeout,
                async () => (await cluster.PodAsync("e2e-steady"))?["status"]?.ToJsonString() ?? "no pod");
            await netns.HealAsync();
            await PodReadyAgainAsync("e2e-steady");
            Assert.Equal(steadyPid, await RuncPidAsync(runcRoot, steadyTask));
        }
        finally
        {
            await cluster.DeletePodsAsync("e2e-steady", "e2e-crasher");
            await cluster.Kubectl.RunAsync("delete", "node", Node, "--wait=false");
        }
    }

    private async Task<JsonNode> RunningAsync(string name) =>
        await EdgeTools.EventuallyAsync(
            async () =>
            {
                var pod = await cluster.PodAsync(name);
                return pod?["status"]?["containerStatuses"]?[0]?["state"]?["running"] is not null
                    && (string?)pod["status"]!["containerStatuses"]![0]!["containerID"] is { Length: > 0 }
                    ? pod
                    : null;
            },
            Timeout,
            async () => (await cluster.PodAsync(name))?["status"]?.ToJsonString() ?? "no pod");

    private async Task<string?> NodeReadyAsync()
    {
        var node = JsonNode.Parse(await cluster.Kubectl.OkAsync("get", "node", Node, "-o", "json"))!;
        var ready = node["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == "Ready");
        return (string?)ready?["status"];
    }

    private async Task PodReadyAgainAsync(string name) =>
        await EdgeTools.EventuallyAsync(
            async () => await PodReadyAsync(name) == "True" ? "ready" : null,
            Timeout,
            async () => (await cluster.PodAsync(name))?["status"]?.ToJsonString() ?? "no pod");

    private async Task<string?> PodReadyAsync(string name)
    {
        var pod = await cluster.PodAsync(name);
        var ready = pod?["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == "Ready");
        return (string?)ready?["status"];
    }

    private static string Uid(JsonNode pod) => (string)pod["metadata"]!["uid"]!;

    /// <summary>The runc container id from containerID "runc://ID".</summary>
    private static string TaskId(JsonNode pod)
    {
        var id = (string)pod["status"]!["containerStatuses"]![0]!["containerID"]!;
        Assert.StartsWith("runc://", id, StringComparison.Ordinal);
        return id["runc://".Length..];
    }

    private static string LogPath(string dataDir, JsonNode pod) => Path.Combine(dataDir, "pods", Uid(pod), "app", "0.log");

    private static int TickCount(string dataDir, JsonNode pod) =>
        File.ReadAllLines(LogPath(dataDir, pod)).Count(l => l.StartsWith("tick ", StringComparison.Ordinal));

    private static async Task<string> RuncPidAsync(string runcRoot, string id)
    {
        var state = JsonNode.Parse(await EdgeTools.RunAsync("runc", ["--root", runcRoot, "state", id]))!;
        Assert.Equal("running", (string?)state["status"]);
        return state["pid"]!.ToJsonString();
    }

    private static async Task<List<string>> RuncRunningAsync(string runcRoot)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var list = JsonNode.Parse(await EdgeTools.RunAsync("runc", ["--root", runcRoot, "list", "-f", "json"]));
                return list is JsonArray items
                    ? [.. items.Where(i => (string?)i!["status"] == "running").Select(i => (string)i!["id"]!)]
                    : [];
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("no such file or directory", StringComparison.Ordinal))
            {
                // runc list reads the state directory, then each container's state: a container deleted between the
                // two (the agent replacing the one it saw crash) fails the whole list. The next list no longer has it.
            }
        }
    }

    /// <summary>
    /// A pod on the partitioned node. It carries the tolerations Kubernetes' DefaultTolerationSeconds admission adds to
    /// every pod (300 s for unreachable and not-ready): Verge's API server does not add them, and without them the
    /// node lifecycle controller evicts the pods as soon as the node has been unreachable for its 4 s grace.
    /// </summary>
    private static string Pod(string name, string script) => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
        spec:
          nodeName: {Node}
          terminationGracePeriodSeconds: 1
          tolerations:
          - key: node.kubernetes.io/unreachable
            operator: Exists
            effect: NoExecute
            tolerationSeconds: 300
          - key: node.kubernetes.io/not-ready
            operator: Exists
            effect: NoExecute
            tolerationSeconds: 300
          containers:
          - name: app
            image: busybox:e2e
            command: ["sh", "-c", "{script}"]
        """;
}
