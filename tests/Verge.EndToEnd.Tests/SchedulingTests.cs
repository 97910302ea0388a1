using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Verge.EndToEnd.Tests;

/// <summary>
/// The control plane places and moves workloads: kubectl against a real <c>verge server</c> with hollow nodes from
/// <c>verge sim nodes</c> processes.
/// </summary>
public sealed class SchedulingTests : ServerTestBase
{
    [Fact]
    public async Task SeedDeployment_RunsTwoReplicasOnHollowNodes_AndMovesThemWhenANodeDies()
    {
        await using var siteA = await Simulator.StartAsync(Server, "edge-a", count: 2, sites: 1);
        await using var siteB = await Simulator.StartAsync(Server, "edge-b", count: 2, sites: 1);
        await Kubectl.OkAsync("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s");

        Assert.Contains("created", await Kubectl.OkAsync("apply", "-f", Manifest));
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s"));
        var pods = await RunningPodsAsync();
        Assert.Equal(2, pods.Count);
        Assert.All(pods, p => Assert.StartsWith("edge-", p.Node, StringComparison.Ordinal));

        // Take down the simulator that runs at least one replica, and watch the replicas come back elsewhere.
        var victim = pods[0].Node.StartsWith("edge-a", StringComparison.Ordinal) ? siteA : siteB;
        var survivorPrefix = victim == siteA ? "edge-b" : "edge-a";
        var clock = Stopwatch.StartNew();
        victim.Kill();
        while (true)
        {
            var running = await RunningPodsAsync();
            if (running.Count == 2 && running.All(p => p.Node.StartsWith(survivorPrefix, StringComparison.Ordinal)))
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"replicas not moved after {clock.Elapsed}: {string.Join(", ", running)}");
            await Kubectl.OkAsync("get", "pods", "-w", "--request-timeout=2s", "-o", "name");
        }

        Console.WriteLine($"replicas of a dead node running elsewhere {clock.Elapsed.TotalSeconds:F1} s after it stopped");
        var unreachable = await Kubectl.OkAsync("get", "nodes", "-o", "jsonpath={.items[*].spec.taints[*].key}");
        Assert.Contains("node.kubernetes.io/unreachable", unreachable);
    }

    [Fact]
    public async Task Drain_EvictsANodesPods_WhichRunAgainOnTheOthers()
    {
        await using var nodes = await Simulator.StartAsync(Server, "drain", count: 3, sites: 1);
        await Kubectl.OkAsync("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s");
        Assert.Contains("created", await Kubectl.OkAsync("apply", "-f", Manifest));
        await Kubectl.OkAsync("scale", "deploy/edge-microservice", "--replicas=3");
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s"));
        var drained = (await RunningPodsAsync())[0].Node;

        // kubectl drain finds the eviction subresource in discovery and posts a protobuf Eviction for each pod.
        var output = await Kubectl.OkAsync("drain", drained, "--ignore-daemonsets", "--timeout=60s");
        Assert.Contains($"node/{drained} drained", output);
        Assert.Contains("evicted", output);

        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s"));
        var pods = await RunningPodsAsync();
        Assert.Equal(3, pods.Count);
        Assert.DoesNotContain(pods, p => p.Node == drained);
        Assert.Equal("true", await Kubectl.OkAsync("get", "node", drained, "-o", "jsonpath={.spec.unschedulable}"));
    }

    [Fact]
    public async Task PodThatFitsNowhere_StaysPendingWithTheSchedulersReason()
    {
        await using var nodes = await Simulator.StartAsync(Server, "small", count: 2, sites: 1);
        var pod = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: too-big
            spec:
              containers:
              - name: c
                image: busybox
                resources:
                  requests:
                    memory: 4Ti
            """;
        await Kubectl.RunWithInputAsync(pod, "apply", "-f", "-");
        await Kubectl.OkAsync("wait", "--for=condition=PodScheduled=false", "pod/too-big", "--timeout=60s");
        var events = await Kubectl.OkAsync("get", "events", "--field-selector", "involvedObject.name=too-big,reason=FailedScheduling", "-o", "jsonpath={.items[*].message}");
        Assert.Contains("0/2 nodes are available: 2 Insufficient memory.", events);
        Assert.Equal("Pending", await Kubectl.OkAsync("get", "pod", "too-big", "-o", "jsonpath={.status.phase}"));
    }

    [Fact]
    public async Task GatedPod_WaitsForItsSchedulingGates_ThenIsReadyOnlyOnceItsReadinessGateIs()
    {
        await using var nodes = await Simulator.StartAsync(Server, "gates", count: 1, sites: 1);
        var pod = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: gated
            spec:
              schedulingGates:
              - name: example.com/quota
              readinessGates:
              - conditionType: example.com/load-balancer
              containers:
              - name: c
                image: busybox
            """;
        await Kubectl.RunWithInputAsync(pod, "apply", "-f", "-");
        await Kubectl.OkAsync("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s");
        Assert.Matches(@"gated\s+0/1\s+SchedulingGated", await Kubectl.OkAsync("get", "pod", "gated"));

        var added = await Kubectl.RunAsync("patch", "pod", "gated", "--type=json", "-p", """[{"op":"add","path":"/spec/schedulingGates/-","value":{"name":"example.com/later"}}]""");
        Assert.NotEqual(0, added.ExitCode);
        Assert.Contains("only deletion is allowed, but found new scheduling gate 'example.com/later'", added.Stderr);

        await Kubectl.OkAsync("patch", "pod", "gated", "--type=json", "-p", """[{"op":"remove","path":"/spec/schedulingGates"}]""");
        await Kubectl.OkAsync("wait", "--for=jsonpath={.status.phase}=Running", "pod/gated", "--timeout=60s");
        Assert.Matches(@"gated\s+1/1\s+Running\s+\S+\s+\S+\s+\S+\s+\S+\s+<none>\s+0/1", await Kubectl.OkAsync("get", "pod", "gated", "-o", "wide"));
        Assert.Equal("False", await Kubectl.OkAsync("get", "pod", "gated", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"));

        await Kubectl.OkAsync("patch", "pod", "gated", "--subresource=status", "-p", """{"status":{"conditions":[{"type":"example.com/load-balancer","status":"True"}]}}""");
        await Kubectl.OkAsync("wait", "--for=condition=Ready", "pod/gated", "--timeout=60s");
        Assert.Matches(@"<none>\s+1/1", await Kubectl.OkAsync("get", "pod", "gated", "-o", "wide"));
    }

    [Fact]
    public async Task Spread_KeepsReplicasOnDifferentSites()
    {
        await using var nodes = await Simulator.StartAsync(Server, "spread", count: 6, sites: 3);
        var deployment = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: spread
            spec:
              replicas: 3
              selector:
                matchLabels: {app: spread}
              template:
                metadata:
                  labels: {app: spread}
                spec:
                  topologySpreadConstraints:
                  - maxSkew: 1
                    topologyKey: verge.dev/site
                    whenUnsatisfiable: DoNotSchedule
                    labelSelector:
                      matchLabels: {app: spread}
                  containers:
                  - name: c
                    image: busybox
                    resources:
                      requests: {cpu: 100m}
            """;
        await Kubectl.RunWithInputAsync(deployment, "apply", "-f", "-");
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/spread", "--timeout=60s"));
        var nodeNames = (await Kubectl.OkAsync("get", "pods", "-l", "app=spread", "-o", "jsonpath={.items[*].spec.nodeName}"))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var sites = new HashSet<string>();
        foreach (var node in nodeNames)
        {
            sites.Add(await Kubectl.OkAsync("get", "node", node, "-o", "jsonpath={.metadata.labels.verge\\.dev/site}"));
        }

        Assert.Equal(3, nodeNames.Length);
        Assert.Equal(3, sites.Count);
    }

    [Fact]
    public async Task DaemonSet_FollowsNodeLabels()
    {
        await using var nodes = await Simulator.StartAsync(Server, "ds", count: 3, sites: 1);
        var daemonSet = """
            apiVersion: apps/v1
            kind: DaemonSet
            metadata:
              name: collector
            spec:
              selector:
                matchLabels: {app: collector}
              template:
                metadata:
                  labels: {app: collector}
                spec:
                  nodeSelector: {role: gateway}
                  containers:
                  - name: c
                    image: busybox
            """;
        await Kubectl.RunWithInputAsync(daemonSet, "apply", "-f", "-");
        await Kubectl.OkAsync("label", "node", "ds-0001", "role=gateway");
        await Kubectl.OkAsync("wait", "--for=jsonpath={.status.numberReady}=1", "ds/collector", "--timeout=60s");
        Assert.Equal("ds-0001", await Kubectl.OkAsync("get", "pods", "-l", "app=collector", "-o", "jsonpath={.items[*].spec.nodeName}"));

        await Kubectl.OkAsync("label", "node", "ds-0002", "role=gateway");
        await Kubectl.OkAsync("label", "node", "ds-0001", "role-");
        await Kubectl.OkAsync("wait", "--for=delete", "pods", "-l", "app=collector", "--field-selector", "spec.nodeName=ds-0001", "--timeout=60s");
        await Kubectl.OkAsync("wait", "--for=jsonpath={.status.numberReady}=1", "ds/collector", "--timeout=60s");
        Assert.Equal("ds-0002", await Kubectl.OkAsync("get", "pods", "-l", "app=collector", "-o", "jsonpath={.items[*].spec.nodeName}"));
    }

    [Fact]
    public async Task DaemonSet_RolloutHistoryAndUndo_WorkWithKubectl()
    {
        await using var nodes = await Simulator.StartAsync(Server, "dsr", count: 2, sites: 1);
        var daemonSet = """
            apiVersion: apps/v1
            kind: DaemonSet
            metadata:
              name: logger
            spec:
              selector:
                matchLabels: {app: logger}
              template:
                metadata:
                  labels: {app: logger}
                spec:
                  containers:
                  - name: c
                    image: busybox:1
            """;
        await Kubectl.RunWithInputAsync(daemonSet, "apply", "-f", "-");
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "ds/logger", "--timeout=60s"));
        await Kubectl.OkAsync("set", "image", "ds/logger", "c=busybox:2");
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "ds/logger", "--timeout=60s"));

        var history = await Kubectl.OkAsync("rollout", "history", "ds/logger");
        Assert.Matches(@"(?m)^1\s", history);
        Assert.Matches(@"(?m)^2\s", history);
        Assert.Contains("busybox:1", await Kubectl.OkAsync("rollout", "history", "ds/logger", "--revision=1"));

        Assert.Contains("rolled back", await Kubectl.OkAsync("rollout", "undo", "ds/logger"));
        Assert.Equal("busybox:1", await Kubectl.OkAsync("get", "ds", "logger", "-o", "jsonpath={.spec.template.spec.containers[0].image}"));
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "ds/logger", "--timeout=60s"));
        Assert.Equal("busybox:1 busybox:1", await Kubectl.OkAsync("get", "pods", "-l", "app=logger", "-o", "jsonpath={.items[*].spec.containers[0].image}"));

        // The restored template is the newest revision now, not a copy: revisions 2 and 3.
        history = await Kubectl.OkAsync("rollout", "history", "ds/logger");
        Assert.Matches(@"(?m)^2\s", history);
        Assert.Matches(@"(?m)^3\s", history);
        Assert.DoesNotMatch(@"(?m)^1\s", history);
        var revisions = await Kubectl.OkAsync("get", "controllerrevisions", "-l", "app=logger", "-o", "jsonpath={.items[*].revision}");
        Assert.Equal(["2", "3"], revisions.Split(' ').Order(StringComparer.Ordinal));
    }

    private async Task<List<(string Name, string Node)>> RunningPodsAsync()
    {
        var list = JsonNode.Parse(await Kubectl.OkAsync("get", "pods", "-l", "app=edge-microservice", "-o", "json"))!;
        return list["items"]!.AsArray()
            .Where(p => p!["status"]?["phase"]?.GetValue<string>() == "Running" && p["metadata"]!["deletionTimestamp"] is null)
            .Select(p => (p!["metadata"]!["name"]!.GetValue<string>(), p["spec"]!["nodeName"]?.GetValue<string>() ?? ""))
            .ToList();
    }
}
