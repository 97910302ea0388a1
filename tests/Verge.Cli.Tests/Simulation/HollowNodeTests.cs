using System.Text.Json.Nodes;
using Verge.Cli.Simulation;
using Verge.Cli.Tests.Integration;

namespace Verge.Cli.Tests.Simulation;

/// <summary><c>verge sim nodes</c> against a real API server, run in-process and stopped as Ctrl-C does.</summary>
public sealed class HollowNodeTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private const string Leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
    private static int _prefixes;

    private readonly CliHarness _cli = new();

    private static string NewPrefix(string name) => $"{name}{Interlocked.Increment(ref _prefixes)}";

    private Task<SimulatorRun> StartAsync(int count, params string[] extra) => SimulatorRun.StartAsync(_cli, server.KubeconfigPath, count, extra);

    private ApiProbe Probe() => ApiProbe.Open(_cli, server.KubeconfigPath);

    [Fact]
    public async Task Nodes_WhenStarted_RegistersNodesWithLabelsCapacityAndReadyCondition()
    {
        var prefix = NewPrefix("reg");
        await using var sim = await StartAsync(3, "--name-prefix", prefix, "--sites", "2", "--cpu", "8", "--memory", "16Gi", "--pods", "50");
        using var probe = Probe();

        var nodes = (await probe.GetAsync("/api/v1/nodes?labelSelector=verge.dev/hollow%3Dtrue"))["items"]!.AsArray()
            .Where(n => n!["metadata"]!["name"]!.GetValue<string>().StartsWith(prefix + "-", StringComparison.Ordinal))
            .OrderBy(n => n!["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal)
            .ToList();

        Assert.Equal([$"{prefix}-0001", $"{prefix}-0002", $"{prefix}-0003"], nodes.Select(n => n!["metadata"]!["name"]!.GetValue<string>()));
        Assert.Equal(["site-0", "site-1", "site-0"], nodes.Select(n => n!["metadata"]!["labels"]!["verge.dev/site"]!.GetValue<string>()));
        var node = nodes[0]!;
        var labels = node["metadata"]!["labels"]!;
        Assert.Equal(("site-0", $"{prefix}-0001", "linux", "amd64", "true"), (
            labels["topology.kubernetes.io/zone"]!.GetValue<string>(),
            labels["kubernetes.io/hostname"]!.GetValue<string>(),
            labels["kubernetes.io/os"]!.GetValue<string>(),
            labels["kubernetes.io/arch"]!.GetValue<string>(),
            labels["verge.dev/hollow"]!.GetValue<string>()));
        foreach (var field in new[] { "capacity", "allocatable" })
        {
            var resources = node["status"]![field]!;
            Assert.Equal(("8", "16Gi", "50"), (resources["cpu"]!.GetValue<string>(), resources["memory"]!.GetValue<string>(), resources["pods"]!.GetValue<string>()));
            Assert.NotNull(resources["ephemeral-storage"]);
        }

        var info = node["status"]!["nodeInfo"]!;
        Assert.Equal((HollowObjects.KubeletVersion, "amd64", "linux", "hollow://1"), (
            info["kubeletVersion"]!.GetValue<string>(), info["architecture"]!.GetValue<string>(),
            info["operatingSystem"]!.GetValue<string>(), info["containerRuntimeVersion"]!.GetValue<string>()));
        var ready = node["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "Ready")!;
        Assert.Equal("True", ready["status"]!.GetValue<string>());
        Assert.NotNull(ready["lastHeartbeatTime"]);
        Assert.Contains(node["status"]!["addresses"]!.AsArray(), a => a!["type"]!.GetValue<string>() == "InternalIP");
        Assert.Equal(0, await sim.StopAsync());
        Assert.Contains("stopped: 3 nodes left as they are", sim.Out.Text, StringComparison.Ordinal);
        Assert.Equal("", sim.Error.Text);
    }

    [Fact]
    public async Task Nodes_WhenRunning_RenewsOneLeasePerNode()
    {
        var prefix = NewPrefix("lease");
        await using var sim = await StartAsync(2, "--name-prefix", prefix, "--renew-interval", "200ms");
        using var probe = Probe();
        var name = $"{prefix}-0002";

        var lease = await probe.GetAsync($"{Leases}/{name}");
        var first = DateTimeOffset.Parse(lease["spec"]!["renewTime"]!.GetValue<string>());
        var renewed = await probe.WaitAsync(Leases, $"fieldSelector=metadata.name%3D{name}",
            l => DateTimeOffset.Parse(l["spec"]!["renewTime"]!.GetValue<string>()) > first);

        Assert.Equal((name, 4), (lease["spec"]!["holderIdentity"]!.GetValue<string>(), lease["spec"]!["leaseDurationSeconds"]!.GetValue<int>()));
        Assert.Equal(name, renewed!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal("Node", lease["metadata"]!["ownerReferences"]![0]!["kind"]!.GetValue<string>());
        Assert.NotNull(await probe.GetAsync($"{Leases}/{prefix}-0001"));
    }

    [Theory]
    [InlineData(2)] // one watch per node (fieldSelector spec.nodeName)
    [InlineData(12)] // one watch on all pods, filtered by node name
    public async Task Pods_WhenBoundToHollowNode_BecomeRunningAndReady(int count)
    {
        var prefix = NewPrefix("run");
        await using var sim = await StartAsync(count, "--name-prefix", prefix);
        using var probe = Probe();
        var pod = Pod(NewPrefix("web"), $"{prefix}-0002", initContainer: true);

        await probe.CreateAsync("/api/v1/namespaces/default/pods", pod);
        var running = await probe.WaitAsync("/api/v1/namespaces/default/pods", $"fieldSelector=metadata.name%3D{pod["metadata"]!["name"]}", HollowObjects.IsRunning);

        var status = running!["status"]!;
        Assert.Equal("Running", status["phase"]!.GetValue<string>());
        Assert.Matches(@"^10\.\d+\.\d+\.\d+$", status["podIP"]!.GetValue<string>());
        Assert.NotNull(status["hostIP"]);
        Assert.NotNull(status["startTime"]);
        foreach (var type in new[] { "PodScheduled", "Initialized", "ContainersReady", "Ready" })
        {
            Assert.Contains(status["conditions"]!.AsArray(), c => c!["type"]!.GetValue<string>() == type && c["status"]!.GetValue<string>() == "True");
        }

        var container = status["containerStatuses"]!.AsArray().Single()!;
        Assert.Equal(("app", true, true, 0, "hollow://image", "registry.example/app:1"), (
            container["name"]!.GetValue<string>(), container["ready"]!.GetValue<bool>(), container["started"]!.GetValue<bool>(),
            container["restartCount"]!.GetValue<int>(), container["imageID"]!.GetValue<string>(), container["image"]!.GetValue<string>()));
        Assert.StartsWith("hollow://" + running["metadata"]!["uid"]!.GetValue<string>(), container["containerID"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(container["state"]!["running"]!["startedAt"]);
        Assert.Equal("Completed", status["initContainerStatuses"]![0]!["state"]!["terminated"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void IsMarkedNotReady_OnlyForTheNodeLifecycleControllersMark()
    {
        static JsonNode Pod(string ready, string? reason)
        {
            var condition = new JsonObject { ["type"] = "Ready", ["status"] = ready };
            if (reason is not null)
            {
                condition["reason"] = reason;
            }

            return new JsonObject
            {
                ["status"] = new JsonObject { ["phase"] = "Running", ["podIP"] = "10.0.0.1", ["conditions"] = new JsonArray(condition) },
            };
        }

        Assert.True(HollowObjects.IsMarkedNotReady(Pod("False", "NodeNotReady")));
        Assert.False(HollowObjects.IsMarkedNotReady(Pod("False", "ContainersNotReady")));
        Assert.False(HollowObjects.IsMarkedNotReady(Pod("True", null)));
        Assert.True(HollowObjects.IsRunning(Pod("True", null)));
    }

    [Fact]
    public async Task Pods_WithReadinessGate_AreReadyOnlyOnceTheGateConditionIsTrue()
    {
        var prefix = NewPrefix("gate");
        await using var sim = await StartAsync(1, "--name-prefix", prefix);
        using var probe = Probe();
        var pod = Pod(NewPrefix("gated"), $"{prefix}-0001");
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        pod["spec"]!["readinessGates"] = new JsonArray(new JsonObject { ["conditionType"] = "example.com/load-balancer" });
        await probe.CreateAsync("/api/v1/namespaces/default/pods", pod);
        var query = $"fieldSelector=metadata.name%3D{name}";

        var running = await probe.WaitAsync("/api/v1/namespaces/default/pods", query, HollowObjects.IsRunning);
        Assert.Equal(("False", "ReadinessGatesNotReady"), ReadyOf(running!));

        // Another controller sets the gate's condition (a strategic merge keeps the node's conditions).
        var gate = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "example.com/load-balancer", ["status"] = "True" }),
            },
        };
        await probe.Client.SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/default/pods/{name}/status", gate.ToJsonString(),
            "application/strategic-merge-patch+json", "application/json", CancellationToken.None);

        var ready = await probe.WaitAsync("/api/v1/namespaces/default/pods", query, p => ReadyOf(p).Status == "True");
        Assert.Contains(ready!["status"]!["conditions"]!.AsArray(), c => c!["type"]!.GetValue<string>() == "example.com/load-balancer");
    }

    private static (string Status, string? Reason) ReadyOf(JsonNode pod)
    {
        var ready = pod["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "Ready")!;
        return (ready["status"]!.GetValue<string>(), ready["reason"]?.GetValue<string>());
    }

    [Fact]
    public async Task Pods_WhenOnAnotherNode_AreLeftAlone()
    {
        var prefix = NewPrefix("mine");
        await using var sim = await StartAsync(12, "--name-prefix", prefix);
        using var probe = Probe();
        var foreign = Pod(NewPrefix("foreign"), "not-a-hollow-node");
        var own = Pod(NewPrefix("own"), $"{prefix}-0012");

        // The simulator sees the foreign pod first (one watch, in order), then its own.
        await probe.CreateAsync("/api/v1/namespaces/default/pods", foreign);
        await probe.CreateAsync("/api/v1/namespaces/default/pods", own);
        await probe.WaitAsync("/api/v1/namespaces/default/pods", $"fieldSelector=metadata.name%3D{own["metadata"]!["name"]}", HollowObjects.IsRunning);

        var after = await probe.GetAsync($"/api/v1/namespaces/default/pods/{foreign["metadata"]!["name"]}");
        Assert.NotEqual("Running", after["status"]?["phase"]?.GetValue<string>());
        Assert.Null(after["status"]?["podIP"]);
    }

    [Fact]
    public async Task Pods_WhenDeletedWithGracePeriod_GoAway()
    {
        var prefix = NewPrefix("del");
        await using var sim = await StartAsync(1, "--name-prefix", prefix);
        using var probe = Probe();
        var pod = Pod(NewPrefix("gone"), $"{prefix}-0001");
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        await probe.CreateAsync("/api/v1/namespaces/default/pods", pod);
        await probe.WaitAsync("/api/v1/namespaces/default/pods", $"fieldSelector=metadata.name%3D{name}", HollowObjects.IsRunning);

        var deleted = probe.WaitAsync("/api/v1/namespaces/default/pods", $"fieldSelector=metadata.name%3D{name}", _ => false, untilDeleted: true);
        await probe.Client.SendAsync(HttpMethod.Delete, $"/api/v1/namespaces/default/pods/{name}?gracePeriodSeconds=30", null, null, "application/json", CancellationToken.None);
        await deleted;

        Assert.Null(await probe.Client.TryGetAsync($"/api/v1/namespaces/default/pods/{name}", CancellationToken.None));
    }

    [Fact]
    public async Task Nodes_WhenTwoSimulatorsWithDifferentPrefixes_BothServeTheirOwnNodes()
    {
        var a = NewPrefix("east");
        var b = NewPrefix("west");
        await using var simA = await StartAsync(2, "--name-prefix", a, "--renew-interval", "200ms");
        await using var simB = await StartAsync(3, "--name-prefix", b, "--renew-interval", "200ms");
        using var probe = Probe();
        var podA = Pod(NewPrefix("a"), $"{a}-0001");
        var podB = Pod(NewPrefix("b"), $"{b}-0003");
        await probe.CreateAsync("/api/v1/namespaces/default/pods", podA);
        await probe.CreateAsync("/api/v1/namespaces/default/pods", podB);

        await probe.WaitAsync("/api/v1/namespaces/default/pods", $"fieldSelector=metadata.name%3D{podA["metadata"]!["name"]}", HollowObjects.IsRunning);
        await probe.WaitAsync("/api/v1/namespaces/default/pods", $"fieldSelector=metadata.name%3D{podB["metadata"]!["name"]}", HollowObjects.IsRunning);
        Assert.Equal(0, await simA.StopAsync());

        // B goes on renewing after A stopped.
        var lease = await probe.GetAsync($"{Leases}/{b}-0001");
        var last = DateTimeOffset.Parse(lease["spec"]!["renewTime"]!.GetValue<string>());
        await probe.WaitAsync(Leases, $"fieldSelector=metadata.name%3D{b}-0001", l => DateTimeOffset.Parse(l["spec"]!["renewTime"]!.GetValue<string>()) > last);
        var names = (await probe.GetAsync("/api/v1/nodes?labelSelector=verge.dev/hollow%3Dtrue"))["items"]!.AsArray()
            .Select(n => n!["metadata"]!["name"]!.GetValue<string>()).ToHashSet();
        Assert.Superset(new HashSet<string> { $"{a}-0001", $"{a}-0002", $"{b}-0001", $"{b}-0002", $"{b}-0003" }, names);
        Assert.Equal(0, await simB.StopAsync());
    }

    [Fact]
    public async Task Nodes_WhenRestarted_TakesOverItsNodes()
    {
        var prefix = NewPrefix("again");
        string uid;
        await using (var first = await StartAsync(1, "--name-prefix", prefix))
        {
            using var probe = Probe();
            uid = (await probe.GetAsync($"/api/v1/nodes/{prefix}-0001"))["metadata"]!["uid"]!.GetValue<string>();
            Assert.Equal(0, await first.StopAsync());
        }

        await using var second = await StartAsync(1, "--name-prefix", prefix, "--cpu", "2");
        using var after = Probe();
        var node = await after.GetAsync($"/api/v1/nodes/{prefix}-0001");
        Assert.Equal((uid, "2"), (node["metadata"]!["uid"]!.GetValue<string>(), node["status"]!["capacity"]!["cpu"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("--count", "0", "error: invalid --count 0: want at least 1")]
    [InlineData("--renew-interval", "soon", "error: invalid --renew-interval \"soon\": want a duration such as 1s or 500ms")]
    [InlineData("--renew-interval", "40s", "error: invalid --renew-interval \"40s\": want a duration such as 1s or 500ms, at most 13s")]
    [InlineData("--name-prefix", "Bad_Prefix", "error: invalid --name-prefix \"Bad_Prefix\"")]
    public async Task Nodes_WhenFlagsAreInvalid_FailsWithOneLine(string flag, string value, string error)
    {
        var args = new List<string> { "sim", "nodes", "--count", "1", "--kubeconfig", server.KubeconfigPath };
        var at = args.IndexOf(flag);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([flag, value]);
        }

        var result = await _cli.RunAsync([.. args]);

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.StartsWith(error, result.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_WhenNoServerListens_FailsWithOneLine()
    {
        var kubeconfig = File.ReadAllText(server.KubeconfigPath);
        var port = new Uri(System.Text.RegularExpressions.Regex.Match(kubeconfig, @"server:\s*(\S+)").Groups[1].Value).Port;
        var closed = _cli.WriteFile("closed.kubeconfig", kubeconfig.Replace($":{port}", ":1", StringComparison.Ordinal));

        var result = await _cli.RunAsync("sim", "nodes", "--count", "1", "--kubeconfig", closed);

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("refused", result.ErrorLines[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1s", 1000)]
    [InlineData("500ms", 500)]
    [InlineData("1m30s", 90000)]
    [InlineData("1.5s", 1500)]
    public void DurationText_ParsesFlagDurations(string text, int milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    public void Dispose() => _cli.Dispose();

    private static JsonObject Pod(string name, string nodeName, bool initContainer = false)
    {
        var spec = new JsonObject
        {
            ["nodeName"] = nodeName,
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "registry.example/app:1" }),
        };
        if (initContainer)
        {
            spec["initContainers"] = new JsonArray(new JsonObject { ["name"] = "setup", ["image"] = "registry.example/setup:1" });
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
            ["spec"] = spec,
        };
    }
}
