using Verge.ApiServer.Http;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Scheduling;
using Verge.Core.Selectors;

namespace Verge.Controllers.Tests.Scheduling;

public class SchedulingLoopTests
{
    [Fact]
    public async Task Loop_WhenAPodFitsOneNode_BindsItThereAndRecordsScheduled()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("small", "1", "1Gi"));
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("big", "4", "8Gi"));
        h.StartScheduler();

        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("web", "2Gi"));

        var bound = await h.WaitForBoundAsync("web");
        Assert.Equal("big", bound.Spec.NodeName);
        var scheduled = await h.WaitForEventAsync("web", "Scheduled");
        Assert.Equal("Successfully assigned default/web to big", scheduled.Message);
        Assert.Equal("Normal", scheduled.Type);
        Assert.Equal("default-scheduler", scheduled.Source?.Component);
    }

    [Fact]
    public void PodBinderBound_SetsTheNodeNameAndPodScheduled_AndLeavesTheStoredPodAsItWas()
    {
        var stored = SchedulingHarness.NewPod("web", "2Gi");
        stored.Metadata.ResourceVersion = "42";
        stored.Metadata.Labels = new() { ["app"] = "web" };
        stored.Spec.Tolerations = [new Toleration { Key = "k", Operator = "Exists" }];
        var unschedulable = new PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/1 nodes are available" };
        stored.Status = new PodStatus { Phase = "Pending", Conditions = [unschedulable] };
        var before = System.Text.Json.JsonSerializer.Serialize(stored, Verge.Core.Serialization.VergeJsonContext.Default.Pod);
        var now = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

        var bound = Verge.ApiServer.Registry.PodBinder.Bound(stored, "edge-1", now);

        Assert.Equal(before, System.Text.Json.JsonSerializer.Serialize(stored, Verge.Core.Serialization.VergeJsonContext.Default.Pod));
        Assert.Equal("edge-1", bound.Spec.NodeName);
        Assert.Null(bound.Metadata.ResourceVersion);
        var scheduled = Assert.Single(bound.Status!.Conditions!);
        Assert.Equal(("PodScheduled", "True", now, null, null), (scheduled.Type, scheduled.Status, scheduled.LastTransitionTime, scheduled.Reason, scheduled.Message));
        stored.Spec.NodeName = "edge-1";
        stored.Metadata.ResourceVersion = null;
        stored.Status.Conditions = [scheduled];
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(stored, Verge.Core.Serialization.VergeJsonContext.Default.Pod),
            System.Text.Json.JsonSerializer.Serialize(bound, Verge.Core.Serialization.VergeJsonContext.Default.Pod));
    }

    [Fact]
    public async Task Loop_WhenANodesHeartbeatHasLapsed_PlacesNothingThereUntilItRenews()
    {
        var lapsed = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>(StringComparer.Ordinal) { ["dark"] = 0 };
        await using var h = await StartWithDarkAndLiveAsync(name => lapsed.ContainsKey(name));

        // "dark" has the most room, so spreading by free resources would choose it; it has not renewed its heartbeat.
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("first", "100Mi"));
        Assert.Equal("live", (await h.WaitForBoundAsync("first")).Spec.NodeName);

        // Only "dark" can hold this one: it waits, told why, until the node renews (no change of the Node object).
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("big", "3Gi"));
        var failed = await h.WaitForEventAsync("big", "FailedScheduling");
        Assert.Contains("1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }", failed.Message, StringComparison.Ordinal);
        lapsed.TryRemove("dark", out _);
        Assert.Equal("dark", (await h.WaitForBoundAsync("big")).Spec.NodeName);
    }

    [Fact]
    public async Task Loop_WhenAPodToleratesUnreachable_MayStillGoToALapsedNode()
    {
        // As it may to a node the node lifecycle controller has marked; refusing it would retry it without end.
        await using var h = await StartWithDarkAndLiveAsync(name => name == "dark");

        var pod = SchedulingHarness.NewPod("agent", "3Gi");
        pod.Spec.Tolerations = [new Toleration { Operator = "Exists" }];
        await h.Cluster.CreateAsync(pod);

        Assert.Equal("dark", (await h.WaitForBoundAsync("agent")).Spec.NodeName);
    }

    /// <summary>A big node "dark" that spreading by free room would choose, and a small one "live".</summary>
    private static async Task<SchedulingHarness> StartWithDarkAndLiveAsync(Func<string, bool> lapsed)
    {
        var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("dark", "16", "64Gi"));
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("live", "2", "2Gi"));
        h.StartScheduler(lapsed);
        return h;
    }

    [Fact]
    public async Task Loop_WhenAPodFitsNowhere_LeavesItPendingWithTheReason()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("n1", "2", "1Gi"));
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("n2", "2", "1Gi"));
        h.StartScheduler();

        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("huge", "4Gi"));

        var failed = await h.WaitForEventAsync("huge", "FailedScheduling");
        Assert.Equal("Warning", failed.Type);
        Assert.StartsWith("0/2 nodes are available: 2 Insufficient memory.", failed.Message, StringComparison.Ordinal);
        var pod = await h.Pods.WaitForAsync("huge", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled") == true, "PodScheduled condition");
        var condition = Assert.Single(pod.Status!.Conditions!, c => c.Type == "PodScheduled");
        Assert.Equal("False", condition.Status);
        Assert.Equal("Unschedulable", condition.Reason);
        Assert.Equal(failed.Message, condition.Message);
        Assert.True(string.IsNullOrEmpty(pod.Spec.NodeName));
    }

    [Fact]
    public async Task Loop_WithSpreadOverSites_PutsReplicasOnDifferentSites()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("a1", "4", "8Gi", site: "a"));
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("a2", "4", "8Gi", site: "a"));
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("a3", "4", "8Gi", site: "a"));
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("b1", "4", "8Gi", site: "b"));
        h.StartScheduler();

        var labels = new Dictionary<string, string> { ["app"] = "web" };
        for (var i = 0; i < 4; i++)
        {
            var pod = SchedulingHarness.NewPod($"web-{i}", "100Mi", labels: new(labels));
            pod.Spec.TopologySpreadConstraints =
            [
                new TopologySpreadConstraint
                {
                    MaxSkew = 1,
                    TopologyKey = "verge.dev/site",
                    WhenUnsatisfiable = "DoNotSchedule",
                    LabelSelector = new LabelSelector { MatchLabels = new(labels) },
                },
            ];
            await h.Cluster.CreateAsync(pod);
        }

        await h.Pods.WaitUntilAsync(() => h.Pods.List().Count(p => !string.IsNullOrEmpty(p.Spec.NodeName)) == 4, "4 pods bound");
        var sites = h.Pods.List().GroupBy(p => p.Spec.NodeName!.StartsWith('a') ? "a" : "b").ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(2, sites["a"]);
        Assert.Equal(2, sites["b"]);
    }

    [Fact]
    public async Task Loop_WhenTheNodeIsFull_HigherPriorityPreemptsLower()
    {
        await using var h = await StartWithLowPriorityPodOnTheOnlyNodeAsync(_ => false);

        await CreateHighPriorityPodAsync(h);

        var preempted = await h.WaitForEventAsync("low", "Preempted");
        Assert.EndsWith("on node only", preempted.Message, StringComparison.Ordinal);
        var victim = await ConfirmStoppedAsync(h, "low");
        var target = victim.Status!.Conditions!.Single(c => c.Type == "DisruptionTarget");
        Assert.Equal(("True", "PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod"),
            (target.Status, target.Reason, target.Message));
        var bound = await h.WaitForBoundAsync("high");
        Assert.Equal("only", bound.Spec.NodeName);
        Assert.Null(h.Pods.Informer.Get("default", "low"));
        var nominated = await h.Cluster.GetAsync<Pod>("high");
        Assert.Equal("only", nominated!.Status?.NominatedNodeName);
    }

    [Fact]
    public async Task Loop_AfterAPreemption_AReplacementOfTheVictimDoesNotTakeTheNominatedPodsRoom()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(new PriorityClass { Metadata = new ObjectMeta { Name = "low" }, Value = 10 });
        await h.Cluster.CreateAsync(new PriorityClass { Metadata = new ObjectMeta { Name = "high" }, Value = 1000 });
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("only", "4", "2Gi"));
        h.StartScheduler();
        // The victim takes a while to go, as a pod on a node does (Terminating until its node confirms): it keeps its
        // room until it is gone, and the nominated pod waits for it rather than preempt again.
        var low = SchedulingHarness.NewPod("low", "1536Mi");
        low.Spec.PriorityClassName = "low";
        await h.Cluster.CreateAsync(low);
        await h.WaitForBoundAsync("low");
        await CreateHighPriorityPodAsync(h);
        await h.WaitForEventAsync("low", "Preempted");

        // What a ReplicaSet does for its preempted pod: a new one of the same priority, at once.
        var replacement = SchedulingHarness.NewPod("low-replacement", "1536Mi");
        replacement.Spec.PriorityClassName = "low";
        await h.Cluster.CreateAsync(replacement);
        var failed = await h.WaitForEventAsync("low-replacement", "FailedScheduling");
        Assert.Contains("Insufficient memory", failed.Message, StringComparison.Ordinal);
        await ConfirmStoppedAsync(h, "low");

        var bound = await h.WaitForBoundAsync("high");
        Assert.Equal("only", bound.Spec.NodeName);
        Assert.Null((await h.Cluster.GetAsync<Pod>("low-replacement"))!.Spec.NodeName);
        Assert.Single(h.Events.List(), e => e.Reason == "Preempted");
    }

    [Fact]
    public async Task Loop_APodBeingDeleted_KeepsItsRoomUntilItIsGone()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("only", "4", "2Gi"));
        h.StartScheduler();

        // Its node takes a while to stop it (Terminating for up to its grace period), as during a rolling update or
        // a drain.
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("old", "1536Mi"));
        await h.WaitForBoundAsync("old");
        await h.Cluster.Client.DeleteAsync(ResourceCatalog.For<Pod>(), "default", "old", null, null, CancellationToken.None);
        await h.Pods.WaitForAsync("old", p => p.Metadata.DeletionTimestamp is not null, "old being deleted");

        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("new", "1536Mi"));
        var failed = await h.WaitForEventAsync("new", "FailedScheduling");
        Assert.StartsWith("0/1 nodes are available: 1 Insufficient memory.", failed.Message, StringComparison.Ordinal);

        await ConfirmStoppedAsync(h, "old");
        Assert.Equal("only", (await h.WaitForBoundAsync("new")).Spec.NodeName);
    }

    /// <summary>
    /// What the node does once it has stopped a pod being deleted: deletes it with a grace period of 0. Returns the pod
    /// as it was while terminating.
    /// </summary>
    private static async Task<Pod> ConfirmStoppedAsync(SchedulingHarness h, string name)
    {
        var pod = await h.Pods.WaitForAsync(name, p => p.Metadata.DeletionTimestamp is not null, name + " being deleted");
        Assert.True(pod.Metadata.DeletionGracePeriodSeconds > 0, "the pod waits for its node");
        await h.Cluster.Client.DeleteAsync(ResourceCatalog.For<Pod>(), "default", name, pod.Metadata.Uid, null, CancellationToken.None, gracePeriodSeconds: 0);
        return pod;
    }

    [Fact]
    public async Task Loop_WhenTheOnlyNodeForPreemptionHasLapsed_PreemptsNothing()
    {
        var lapsed = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        await using var h = await StartWithLowPriorityPodOnTheOnlyNodeAsync(name => lapsed.ContainsKey(name));

        lapsed["only"] = 0;
        await CreateHighPriorityPodAsync(h);

        var failed = await h.WaitForEventAsync("high", "FailedScheduling");
        Assert.Contains("untolerated taint {node.kubernetes.io/unreachable: }", failed.Message, StringComparison.Ordinal);
        Assert.NotNull(await h.Cluster.GetAsync<Pod>("low"));
        Assert.DoesNotContain(h.Events.List(), e => e.Reason == "Preempted");
    }

    /// <summary>PriorityClasses "low" and "high", and a "low" pod taking most of the only node.</summary>
    private static async Task<SchedulingHarness> StartWithLowPriorityPodOnTheOnlyNodeAsync(Func<string, bool> lapsed)
    {
        var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(new PriorityClass { Metadata = new ObjectMeta { Name = "low" }, Value = 10 });
        await h.Cluster.CreateAsync(new PriorityClass { Metadata = new ObjectMeta { Name = "high" }, Value = 1000 });
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("only", "4", "2Gi"));
        h.StartScheduler(lapsed);
        var low = SchedulingHarness.NewPod("low", "1536Mi");
        low.Spec.PriorityClassName = "low";
        await h.Cluster.CreateAsync(low);
        await h.WaitForBoundAsync("low");
        return h;
    }

    private static async Task CreateHighPriorityPodAsync(SchedulingHarness h)
    {
        var high = SchedulingHarness.NewPod("high", "1536Mi");
        high.Spec.PriorityClassName = "high";
        await h.Cluster.CreateAsync(high);
    }

    [Fact]
    public async Task Loop_WhenANodeIsAddedLater_SchedulesThePendingPod()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("tiny", "1", "512Mi"));
        h.StartScheduler();
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("web", "2Gi"));
        await h.WaitForEventAsync("web", "FailedScheduling");

        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("roomy", "4", "8Gi"));

        var bound = await h.WaitForBoundAsync("web");
        Assert.Equal("roomy", bound.Spec.NodeName);
        await h.WaitForEventAsync("web", "Scheduled");
        var pod = await h.Pods.WaitForAsync("web", p => p.Status?.Conditions?.Any(c => c is { Type: "PodScheduled", Status: "True" }) == true, "PodScheduled=True");
        Assert.Equal("roomy", pod.Spec.NodeName);
    }

    [Fact]
    public async Task Loop_AGatedPod_WaitsUntilItsLastGateIsRemoved()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("n1", "4", "8Gi"));
        h.StartScheduler();
        var gated = SchedulingHarness.NewPod("gated", "100Mi");
        gated.Spec.SchedulingGates = [new PodSchedulingGate { Name = "example.com/quota" }, new PodSchedulingGate { Name = "example.com/image" }];
        await h.Cluster.CreateAsync(gated);
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("plain", "100Mi"));

        // The plain pod, created after the gated one, is bound: the scheduler has seen both.
        await h.WaitForBoundAsync("plain");
        var waiting = h.Pods.Informer.Get("default", "gated")!;
        Assert.True(string.IsNullOrEmpty(waiting.Spec.NodeName));
        var condition = Assert.Single(waiting.Status!.Conditions!);
        Assert.Equal(("PodScheduled", "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates"),
            (condition.Type, condition.Status, condition.Reason, condition.Message));
        Assert.Equal("SchedulingGated", Tables.PodStatus(waiting));

        await h.Cluster.UpdateAsync<Pod>("gated", p => p.Spec.SchedulingGates!.RemoveAt(0));
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("second", "100Mi"));
        await h.WaitForBoundAsync("second");
        Assert.True(string.IsNullOrEmpty(h.Pods.Informer.Get("default", "gated")!.Spec.NodeName));
        Assert.DoesNotContain(h.Events.List(), e => e.InvolvedObject.Name == "gated");

        await h.Cluster.UpdateAsync<Pod>("gated", p => p.Spec.SchedulingGates = null);

        var bound = await h.WaitForBoundAsync("gated");
        Assert.Equal("n1", bound.Spec.NodeName);
        Assert.Equal("Pending", Tables.PodStatus(bound));
    }

    [Fact]
    public async Task Binding_OfAGatedPod_IsAConflict()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        var gated = SchedulingHarness.NewPod("gated", "100Mi");
        gated.Spec.SchedulingGates = [new PodSchedulingGate { Name = "example.com/quota" }];
        await h.Cluster.CreateAsync(gated);

        var e = await Assert.ThrowsAsync<ApiException>(() => Verge.ApiServer.Registry.PodBinder.BindAsync(
            h.Cluster.Service, "default", "gated", "n1", null, dryRun: false, CancellationToken.None));

        Assert.Equal((409, "Operation cannot be fulfilled on pods \"gated\": pod gated has non-empty .spec.schedulingGates"), (e.Code, e.Message));
    }

    [Fact]
    public async Task Loop_IgnoresPodsOfAnotherScheduler()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        await h.Cluster.CreateAsync(SchedulingHarness.NewNode("n1", "4", "8Gi"));
        h.StartScheduler();
        var other = SchedulingHarness.NewPod("other", "100Mi");
        other.Spec.SchedulerName = "someone-else";
        await h.Cluster.CreateAsync(other);
        await h.Cluster.CreateAsync(SchedulingHarness.NewPod("mine", "100Mi"));

        await h.WaitForBoundAsync("mine");

        Assert.True(string.IsNullOrEmpty(h.Pods.Informer.Get("default", "other")!.Spec.NodeName));
    }

    [Fact]
    public async Task Loop_OnStart_CreatesTheSystemPriorityClasses()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();
        var classes = await h.Cluster.TrackAsync<PriorityClass>();
        h.StartScheduler();

        var node = await classes.WaitForAsync("system-node-critical", _ => true, "system-node-critical", ns: null!);
        var cluster = await classes.WaitForAsync("system-cluster-critical", _ => true, "system-cluster-critical", ns: null!);

        Assert.Equal(2_000_001_000, node.Value);
        Assert.Equal(2_000_000_000, cluster.Value);
        Assert.Equal("PreemptLowerPriority", node.PreemptionPolicy);
    }

    [Fact]
    public async Task PriorityClass_Create_ValidatesValueAndReservedNames()
    {
        await using var h = await SchedulingHarness.StartClusterAsync();

        var tooHigh = await Assert.ThrowsAsync<ApiException>(() => h.Cluster.CreateAsync(
            new PriorityClass { Metadata = new ObjectMeta { Name = "greedy" }, Value = 1_000_000_001 }));
        Assert.Equal(422, tooHigh.Code);
        Assert.Contains("value: Forbidden: maximum allowed value of a user defined priority is 1000000000", tooHigh.Message, StringComparison.Ordinal);

        var reserved = await Assert.ThrowsAsync<ApiException>(() => h.Cluster.CreateAsync(
            new PriorityClass { Metadata = new ObjectMeta { Name = "system-mine" }, Value = 5 }));
        Assert.Equal(422, reserved.Code);
        Assert.Contains("reserved for system use only", reserved.Message, StringComparison.Ordinal);

        var ok = await h.Cluster.CreateAsync(new PriorityClass { Metadata = new ObjectMeta { Name = "batch" }, Value = 1_000_000_000 });
        Assert.Equal("PreemptLowerPriority", ok.PreemptionPolicy);
        var changed = await Assert.ThrowsAsync<ApiException>(() => h.Cluster.UpdateAsync<PriorityClass>("batch", pc => pc.Value = 7, ns: null!));
        Assert.Equal(422, changed.Code);
    }
}
