using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Nodes;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.Nodes;

public class NodeLifecycleControllerTests
{
    private const string Unreachable = "node.kubernetes.io/unreachable";

    [Fact]
    public async Task Reconcile_WhenTheLeaseStops_MarksTheNodeUnknownTaintsItAndEvictsByToleration()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateRenewingNodesAsync(cluster, time, "edge-1");

        // A healthy peer keeps renewing: with every node dark, nothing would be evicted.
        await CreateRenewingNodesAsync(cluster, time, "edge-0");
        await cluster.CreateAsync(NewPod("intolerant", "edge-1"));
        await cluster.CreateAsync(NewPod("patient", "edge-1", new Toleration { Key = Unreachable, Operator = "Exists", Effect = "NoExecute", TolerationSeconds = 10 }));
        await cluster.CreateAsync(NewPod("forever", "edge-1", new Toleration { Key = Unreachable, Operator = "Exists", Effect = "NoExecute" }));
        var nodes = await cluster.TrackAsync<Node>();
        var pods = await cluster.TrackAsync<Pod>();
        var renewing = true;
        var markedWhileRenewing = false;
        nodes.Observe = informer => markedWhileRenewing |= renewing && informer.Get(null, "edge-1") is { } n && (IsUnknown(n) || HasUnreachable(n));
        await using var harness = await Harness.StartAsync(cluster, time);

        // Renewals every 3 s keep the node healthy across 9 s, longer than the 4 s grace period.
        for (var i = 0; i < 3; i++)
        {
            await RenewAsync(cluster, harness, time, "edge-0", "edge-1");
            time.Advance(TimeSpan.FromSeconds(3));
            await harness.IdleAsync(cluster, "edge-0", "edge-1");
        }

        await RenewAsync(cluster, harness, time, "edge-0", "edge-1");
        var lastRenewal = time.GetUtcNow();
        time.Advance(TimeSpan.FromSeconds(3));
        await harness.IdleAsync(cluster, "edge-0", "edge-1");
        await harness.SettledAsync(nodes);
        renewing = false;
        await RenewAsync(cluster, harness, time, "edge-0");
        time.Advance(TimeSpan.FromSeconds(2));

        var node = await WaitForNodeAsync(nodes, n => IsUnknown(n) && HasTaint(n, Unreachable, "NoExecute"), "edge-1 unknown and tainted");
        Assert.False(markedWhileRenewing);
        var ready = node.Status!.Conditions!.Single(c => c.Type == "Ready");
        Assert.Equal(NodeLifecycleController.UnknownReason, ready.Reason);
        Assert.Equal("Kubelet stopped posting node status.", ready.Message);
        Assert.NotNull(node.Spec.Taints!.Single(t => t.Key == Unreachable && t.Effect == "NoExecute").TimeAdded);
        Assert.Contains(node.Spec.Taints!, t => t.Key == Unreachable && t.Effect == "NoSchedule");
        Assert.True(time.GetUtcNow() - lastRenewal > TimeSpan.FromSeconds(4));
        await pods.WaitUntilAsync(() => !Names(pods).Contains("intolerant"), "the intolerant pod evicted");
        Assert.Equal(["forever", "patient"], Names(pods));

        // Evicted gracefully: Terminating for its grace period, until a node confirms it stopped.
        var evicted = pods.List().Single(p => p.Metadata.Name == "intolerant");
        Assert.Equal(30, evicted.Metadata.DeletionGracePeriodSeconds);
        var target = evicted.Status!.Conditions!.Single(c => c.Type == "DisruptionTarget");
        Assert.Equal(("True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"), (target.Status, target.Reason, target.Message));
        var events = await cluster.TrackAsync<Event>();
        var eviction = Assert.Single(events.List(), e => e.Reason == "TaintManagerEviction");
        Assert.Equal("Marking for deletion Pod default/intolerant", eviction.Message);
        Assert.Equal("intolerant", eviction.InvolvedObject.Name);

        // tolerationSeconds: 10 runs out 10 s after the taint was added (the peer renewing meanwhile).
        for (var i = 0; i < 5; i++)
        {
            await RenewAsync(cluster, harness, time, "edge-0");
            time.Advance(TimeSpan.FromSeconds(2));
            await harness.IdleAsync(cluster, "edge-0", "edge-1");
        }

        await pods.WaitUntilAsync(() => !Names(pods).Contains("patient"), "the patient pod evicted after 10 s");

        // A renewed lease brings the node back; the pod that tolerates for ever is still there.
        await RenewAsync(cluster, harness, time, "edge-0", "edge-1");
        node = await WaitForNodeAsync(nodes, n => !IsUnknown(n) && !HasUnreachable(n), "edge-1 reachable again");
        Assert.Equal("True", node.Status!.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Null(node.Spec.Taints);
        Assert.Equal(["forever"], Names(pods));
    }

    [Fact]
    public async Task Reconcile_WhenANodeIsMarkedUnreachable_ReleasesItForEvictionAtOnce_NotAtTheNextPeriodicPass()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateRenewingNodesAsync(cluster, time, "edge-1", "edge-0");
        await cluster.CreateAsync(NewPod("intolerant", "edge-1"));
        var nodes = await cluster.TrackAsync<Node>();
        var pods = await cluster.TrackAsync<Pod>();

        // A periodic pass far longer than the test: only the pass the marked node asks for can release it.
        await using var harness = await Harness.StartAsync(cluster, time, new NodeLifecycleOptions { MonitorPeriod = TimeSpan.FromHours(1) });
        await harness.IdleAsync(cluster, "edge-0", "edge-1");
        var passes = harness.Controller.MonitorPasses;
        await RenewAsync(cluster, harness, time, "edge-0");
        time.Advance(TimeSpan.FromSeconds(3));
        await harness.IdleAsync(cluster, "edge-0", "edge-1");
        await RenewAsync(cluster, harness, time, "edge-0");
        time.Advance(TimeSpan.FromSeconds(3));

        var node = await WaitForNodeAsync(nodes, n => IsUnknown(n) && HasTaint(n, Unreachable, "NoExecute"), "edge-1 unknown and released for eviction");
        await pods.WaitUntilAsync(() => !Names(pods).Contains("intolerant"), "the intolerant pod evicted");
        Assert.True(harness.Controller.MonitorPasses > passes);
        Assert.Contains(node.Spec.Taints!, t => t.Key == Unreachable && t.Effect == "NoSchedule");
    }

    [Fact]
    public async Task Reconcile_WhenANodeIsDeleted_DeletesItsPodsAfterTheQuarantine()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateRenewingNodesAsync(cluster, time, "edge-0", "edge-9");
        var stays = new[]
        {
            new Toleration { Key = Unreachable, Operator = "Exists", Effect = "NoExecute" },
            new Toleration { Key = "node.kubernetes.io/not-ready", Operator = "Exists", Effect = "NoExecute" },
        };
        await cluster.CreateAsync(NewPod("kept", "edge-0", stays));
        await cluster.CreateAsync(NewPod("orphan", "edge-9", stays));
        await cluster.CreateAsync(NewPod("never-registered", "edge-new", stays));

        // Terminating when the controller starts (as after a restart): no node will ever confirm it.
        await cluster.CreateAsync(NewPod("leaving", "edge-gone", stays));
        await cluster.Client.DeleteAsync(ResourceCatalog.For<Pod>(), "default", "leaving", null, null, CancellationToken.None);
        var pods = await cluster.TrackAsync<Pod>();
        string? orphanMarked = null;
        pods.Observe = informer =>
        {
            if (informer.Get("default", "orphan") is { } p && p.Status?.Conditions?.Find(c => c.Type == "DisruptionTarget") is { } target)
            {
                orphanMarked = $"{p.Status.Phase} {target.Reason}: {target.Message}";
            }
        };
        await using var harness = await Harness.StartAsync(cluster, time);
        await harness.IdleAsync(cluster, "edge-0", "edge-9");

        await cluster.Client.DeleteAsync(ResourceCatalog.For<Node>(), null, "edge-9", null, null, CancellationToken.None);
        await harness.Nodes.WaitForRevisionAsync(await cluster.Service.Store.GetCurrentRevisionAsync(), CancellationToken.None);
        await harness.IdleAsync(cluster, "edge-0");
        time.Advance(new NodeLifecycleOptions().OrphanQuarantine - TimeSpan.FromSeconds(1));
        await harness.IdleAsync(cluster, "edge-0");
        Assert.Equal(["kept", "never-registered", "orphan"], Names(pods));

        time.Advance(TimeSpan.FromSeconds(2));

        await pods.WaitUntilAsync(() => pods.List().Select(p => p.Metadata.Name).SequenceEqual(["kept"]), "the pods of missing nodes deleted, the terminating one too");

        // Marked Failed and a disruption target before it went, as Kubernetes' pod garbage collector does.
        Assert.Equal("Failed DeletionByPodGC: PodGC: node no longer exists", orphanMarked);
    }

    [Fact]
    public async Task Reconcile_WhenReadyIsFalse_TaintsNotReadyAndEvictsIntolerantPods()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateNodeAsync(cluster, "edge-2", ready: "False", time.GetUtcNow());
        await cluster.CreateAsync(NewLease("edge-2", time.GetUtcNow()));
        await CreateRenewingNodesAsync(cluster, time, "edge-0");
        await cluster.CreateAsync(NewPod("intolerant", "edge-2"));
        await cluster.CreateAsync(NewPod("tolerant", "edge-2", new Toleration { Key = "node.kubernetes.io/not-ready", Operator = "Exists" }));
        var nodes = await cluster.TrackAsync<Node>();
        var pods = await cluster.TrackAsync<Pod>();
        await using var harness = await Harness.StartAsync(cluster, time);

        var node = await WaitForNodeAsync(nodes, n => n.Spec.Taints?.Count(t => t.Key == "node.kubernetes.io/not-ready") == 2, "not-ready taints");
        Assert.False(HasUnreachable(node));
        await pods.WaitUntilAsync(() => Names(pods).SequenceEqual(["tolerant"]), "the intolerant pod evicted");

        await cluster.Client.MutateAsync<Node>(null, "edge-2", "status", n =>
        {
            n.Status!.Conditions!.Single(c => c.Type == "Ready").Status = "True";
            return true;
        }, CancellationToken.None);
        await WaitForNodeAsync(nodes, n => n.Spec.Taints is null, "not-ready taints removed");
    }

    [Fact]
    public async Task Reconcile_WhenANodeIsNotReady_MarksItsReadyPodsNotReady_UntilItIsReadyAgain()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateNodeAsync(cluster, "edge-2", ready: "False", time.GetUtcNow());
        await cluster.CreateAsync(NewLease("edge-2", time.GetUtcNow()));
        await CreateRenewingNodesAsync(cluster, time, "edge-0");
        var stays = new Toleration { Key = "node.kubernetes.io/not-ready", Operator = "Exists" };
        foreach (var (name, node) in new[] { ("stays", "edge-2"), ("elsewhere", "edge-0") })
        {
            await cluster.CreateAsync(NewPod(name, node, stays));
            await ReportReadyAsync(cluster, name);
        }

        var pods = await cluster.TrackAsync<Pod>();
        var events = await cluster.TrackAsync<Event>();
        await using var harness = await Harness.StartAsync(cluster, time);

        await pods.WaitUntilAsync(() => ReadyOf(pods, "stays") == "False", "the pod on the not-ready node marked not Ready");
        await events.WaitUntilAsync(() => events.List().Any(e => e.Reason == "NodeNotReady"), "the pod's NodeNotReady event");
        var marked = Assert.Single(events.List(), e => e.Reason == "NodeNotReady");
        Assert.Equal("stays", marked.InvolvedObject.Name);
        Assert.Equal("Warning", marked.Type);
        Assert.Equal("Node is not ready", marked.Message);
        var condition = pods.Informer.Get("default", "stays")!.Status!.Conditions!.Single(c => c.Type == "Ready");
        Assert.Equal(("NodeNotReady", "Node is not ready"), (condition.Reason, condition.Message));
        Assert.Equal("Running", pods.Informer.Get("default", "stays")!.Status!.Phase);

        // The node's agent reports the pod Ready again while the node is still not Ready: marked again.
        await ReportReadyAsync(cluster, "stays");
        await pods.WaitUntilAsync(() => ReadyOf(pods, "stays") == "False", "the pod marked not Ready again");
        await harness.IdleAsync(cluster, "edge-0", "edge-2");
        var eventsBefore = events.List().Count;

        // Once the node is Ready, the pod gets back the Ready its agent reported, which need not report it again.
        await cluster.Client.MutateAsync<Node>(null, "edge-2", "status", n =>
        {
            n.Status!.Conditions!.Single(c => c.Type == "Ready").Status = "True";
            return true;
        }, CancellationToken.None);
        await pods.WaitUntilAsync(() => ReadyOf(pods, "stays") == "True", "the pod Ready again");
        condition = pods.Informer.Get("default", "stays")!.Status!.Conditions!.Single(c => c.Type == "Ready");
        Assert.Null(condition.Reason);

        // A pod its agent reported not Ready itself is not the controller's to make Ready.
        await cluster.Client.MutateAsync<Pod>("default", "elsewhere", "status", p =>
        {
            p.Status = new PodStatus { Phase = "Running", Conditions = [new PodCondition { Type = "Ready", Status = "False", Reason = "ContainersNotReady" }] };
            return true;
        }, CancellationToken.None);
        await pods.WaitUntilAsync(() => ReadyOf(pods, "elsewhere") == "False", "the agent's report seen");
        await harness.Pods.WaitForRevisionAsync(await cluster.Service.Store.GetCurrentRevisionAsync(), CancellationToken.None);
        await harness.IdleAsync(cluster, "edge-0", "edge-2");
        await pods.Informer.WaitForRevisionAsync(await cluster.Service.Store.GetCurrentRevisionAsync(), CancellationToken.None);
        Assert.Equal("False", ReadyOf(pods, "elsewhere"));
        Assert.Equal(eventsBefore, events.List().Count);
    }

    [Fact]
    public async Task Reconcile_TaintsACordonedNodeUnschedulable_AndANodeUnderPressure_UntilThatEnds()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateRenewingNodesAsync(cluster, time, "edge-0", "edge-1");
        var nodes = await cluster.TrackAsync<Node>();
        await using var harness = await Harness.StartAsync(cluster, time);
        await harness.IdleAsync(cluster, "edge-0", "edge-1");

        // kubectl cordon sets spec.unschedulable; kubectl uncordon clears it.
        await cluster.Client.MutateAsync<Node>(null, "edge-1", null, n => (n.Spec.Unschedulable = true) == true, CancellationToken.None);
        var node = await WaitForNodeAsync(nodes, n => HasTaint(n, "node.kubernetes.io/unschedulable", "NoSchedule"), "the unschedulable taint");
        Assert.Null(Assert.Single(node.Spec.Taints!).TimeAdded);
        await cluster.Client.MutateAsync<Node>(null, "edge-1", null, n => (n.Spec.Unschedulable = null) is null, CancellationToken.None);
        await WaitForNodeAsync(nodes, n => n.Spec.Taints is null, "the unschedulable taint removed");

        await SetConditionAsync(cluster, "edge-1", "MemoryPressure", "True");
        await SetConditionAsync(cluster, "edge-1", "DiskPressure", "False");
        node = await WaitForNodeAsync(nodes, n => HasTaint(n, "node.kubernetes.io/memory-pressure", "NoSchedule"), "the memory-pressure taint");
        Assert.Equal(["node.kubernetes.io/memory-pressure"], node.Spec.Taints!.Select(t => t.Key));
        await SetConditionAsync(cluster, "edge-1", "MemoryPressure", "False");
        await WaitForNodeAsync(nodes, n => n.Spec.Taints is null, "the memory-pressure taint removed");
    }

    private static Task<Node?> SetConditionAsync(TestCluster cluster, string node, string type, string status) =>
        cluster.Client.MutateAsync<Node>(null, node, "status", n =>
        {
            var conditions = n.Status!.Conditions!;
            conditions.RemoveAll(c => c.Type == type);
            conditions.Add(new NodeCondition { Type = type, Status = status, Reason = "NodeReported" });
            return true;
        }, CancellationToken.None);

    private static Task<Pod?> ReportReadyAsync(TestCluster cluster, string pod) =>
        cluster.Client.MutateAsync<Pod>("default", pod, "status", p =>
        {
            p.Status = new PodStatus { Phase = "Running", Conditions = [new PodCondition { Type = "Ready", Status = "True" }] };
            return true;
        }, CancellationToken.None);

    private static string? ReadyOf(Tracker<Pod> pods, string name) =>
        pods.Informer.Get("default", name)?.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status;

    [Fact]
    public async Task Reconcile_WhenEveryNodeGoesDarkAtOnce_MarksThemUnreachableButEvictsNothing()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string[] names = ["edge-a1", "edge-a2", "edge-b1"];
        foreach (var name in names)
        {
            await CreateNodeAsync(cluster, name, ready: "True", time.GetUtcNow(), site: name[5] == 'a' ? "plant-a" : "plant-b");
            await cluster.CreateAsync(NewLease(name, time.GetUtcNow()));
            await cluster.CreateAsync(NewPod("app-" + name, name));
        }

        var nodes = await cluster.TrackAsync<Node>();
        var pods = await cluster.TrackAsync<Pod>();
        await using var harness = await Harness.StartAsync(cluster, time);

        // The control plane hears from no node for longer than the grace period.
        time.Advance(TimeSpan.FromSeconds(5));
        await nodes.WaitUntilAsync(
            () => names.All(n => nodes.Informer.Get(null, n) is { } node && IsUnknown(node) && HasTaint(node, Unreachable, "NoSchedule")),
            "every node unknown and unschedulable");
        for (var pass = 0; pass < 3; pass++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await harness.IdleAsync(cluster, names);
        }

        Assert.True(harness.Controller.Disruption.ControlPlaneDisrupted);
        Assert.All(names, n => Assert.False(HasTaint(nodes.Informer.Get(null, n)!, Unreachable, "NoExecute")));
        Assert.Equal(3, pods.List().Count);

        // One node is heard from again: the others are dead after all, and their pods are evicted.
        await RenewAsync(cluster, harness, time, "edge-a1");
        await nodes.WaitUntilAsync(() => !IsUnknown(nodes.Informer.Get(null, "edge-a1")!), "edge-a1 reachable again");
        time.Advance(TimeSpan.FromSeconds(1));
        await pods.WaitUntilAsync(() => Names(pods).SequenceEqual(["app-edge-a1"]), "the pods of the dead nodes evicted");
        Assert.False(harness.Controller.Disruption.ControlPlaneDisrupted);

        // The taint was written before the evictions, but the node and pod watches deliver independently.
        await nodes.WaitUntilAsync(() => HasTaint(nodes.Informer.Get(null, "edge-b1")!, Unreachable, "NoExecute"), "edge-b1 tainted NoExecute");
    }

    [Fact]
    public async Task Reconcile_WhenMostNodesOfASiteGoDark_EvictsOneNodeAtATimeAtTheSecondaryRate()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string[] dark = ["edge-a1", "edge-a2", "edge-a3"];
        string[] alive = ["edge-a4", "edge-b1"];
        foreach (var name in dark.Concat(alive))
        {
            await CreateNodeAsync(cluster, name, ready: "True", time.GetUtcNow(), site: name[5] == 'a' ? "plant-a" : "plant-b");
            await cluster.CreateAsync(NewLease(name, time.GetUtcNow()));
            await cluster.CreateAsync(NewPod("app-" + name, name));
        }

        var pods = await cluster.TrackAsync<Pod>();
        await using var harness = await Harness.StartAsync(cluster, time, new NodeLifecycleOptions { SecondaryEvictionRate = 0.1 });

        // Three of plant-a's four nodes stop renewing (75% >= 55%): one node's pods go at once, then one per 10 s.
        for (var i = 0; i < 3; i++)
        {
            await RenewAsync(cluster, harness, time, alive);
            time.Advance(TimeSpan.FromSeconds(2));
            await harness.IdleAsync(cluster, [.. dark, .. alive]);
        }

        await pods.WaitUntilAsync(() => Names(pods).Count == 4, "one dark node's pod evicted");
        Assert.Equal(DisruptionState.PartialDisruption, harness.Controller.Disruption.States["plant-a"]);
        for (var i = 0; i < 4; i++)
        {
            await RenewAsync(cluster, harness, time, alive);
            time.Advance(TimeSpan.FromSeconds(2));
            await harness.IdleAsync(cluster, [.. dark, .. alive]);
        }

        Assert.Equal(4, Names(pods).Count);
        await RenewAsync(cluster, harness, time, alive);
        time.Advance(TimeSpan.FromSeconds(2));
        await pods.WaitUntilAsync(() => Names(pods).Count == 3, "a second dark node's pod evicted 10 s later");
        Assert.Contains("app-edge-a4", Names(pods));
        Assert.Contains("app-edge-b1", Names(pods));
    }

    [Fact]
    public void EvictionTime_UsesTheEarliestTolerationSecondsAndNeverWithoutThem()
    {
        var added = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var taints = new List<Taint> { new() { Key = Unreachable, Effect = "NoExecute", TimeAdded = added } };
        using var controller = NewDetachedController();

        Assert.Equal(added, controller.EvictionTime("n", NewPod("a", "n"), taints, added));
        Assert.Null(controller.EvictionTime("n", NewPod("b", "n", new Toleration { Operator = "Exists" }), taints, added));
        Assert.Equal(added.AddSeconds(5), controller.EvictionTime("n", NewPod("c", "n",
            new Toleration { Key = Unreachable, Operator = "Exists", TolerationSeconds = 30 },
            new Toleration { Key = Unreachable, Operator = "Exists", Effect = "NoExecute", TolerationSeconds = 5 }), taints, added));
        Assert.Equal(added, controller.EvictionTime("n", NewPod("d", "n", new Toleration { Key = "other", Operator = "Exists" }), taints, added));
    }

    [Fact]
    public void EvictionTime_OfATaintRemovedAndPutBack_StartsTheTolerationAgain()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var taints = new List<Taint> { new() { Key = "maintenance", Value = "1", Effect = "NoExecute" } };
        var pod = NewPod("w", "n", new Toleration { Key = "maintenance", Operator = "Exists", Effect = "NoExecute", TolerationSeconds = 20 });
        using var controller = NewDetachedController();

        Assert.Equal(start.AddSeconds(20), controller.EvictionTime("n", pod, taints, start));
        controller.ForgetGoneTaints("n", taints);
        Assert.Equal(start.AddSeconds(20), controller.EvictionTime("n", pod, taints, start.AddSeconds(5)));

        controller.ForgetGoneTaints("n", []);
        var back = start.AddSeconds(30);
        Assert.Equal(back.AddSeconds(20), controller.EvictionTime("n", pod, taints, back));
    }

    [Fact]
    public async Task Reconcile_InANewTerm_KeepsANodeMarkedUnreachableUntilItsHeartbeatChanges()
    {
        // A new leader sees every heartbeat for the first time; an old one must not make a dead node Ready again.
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await CreateRenewingNodesAsync(cluster, time, "edge-0", "edge-1");
        var nodes = await cluster.TrackAsync<Node>();
        await using (var first = await Harness.StartAsync(cluster, time))
        {
            // Idle before each step of the fake clock, so that no reconcile sets its timer across a step.
            await RenewAsync(cluster, first, time, "edge-0", "edge-1");
            await first.IdleAsync(cluster, "edge-0", "edge-1");
            time.Advance(TimeSpan.FromSeconds(3));
            await first.IdleAsync(cluster, "edge-0", "edge-1");
            await RenewAsync(cluster, first, time, "edge-0");
            await first.IdleAsync(cluster, "edge-0", "edge-1");
            time.Advance(TimeSpan.FromSeconds(2));
            await WaitForNodeAsync(nodes, n => n.Metadata.Name == "edge-1" && IsUnknown(n) && HasUnreachable(n), "edge-1 marked by the first term");
            await first.IdleAsync(cluster, "edge-0", "edge-1");
        }

        await using var second = await Harness.StartAsync(cluster, time);
        await RenewAsync(cluster, second, time, "edge-0");
        await second.IdleAsync(cluster, "edge-0", "edge-1");
        var kept = (await cluster.Client.GetAsync<Node>(null, "edge-1", CancellationToken.None))!;
        Assert.True(IsUnknown(kept) && HasUnreachable(kept), "the new term restored a node whose heartbeat it never saw change");

        await RenewAsync(cluster, second, time, "edge-1");
        await WaitForNodeAsync(nodes, n => n.Metadata.Name == "edge-1" && !IsUnknown(n) && !HasUnreachable(n), "edge-1 restored once it renews");
    }

    [Fact]
    public async Task Queue_PutsTheMonitorPassAndNodesWithActivePodsAheadOfTheOthers()
    {
        // Thousands of nodes going dark together each need writes; the few that host pods must not wait behind them.
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var pods = new Informer<Pod>(ResourceCatalog.For<Pod>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
        Informer<T> Idle<T>()
            where T : KubeObject => new(ResourceCatalog.For<T>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
        var events = new EventRecorder(cluster.Client, time, "c", "i", NullLogger.Instance);
        var (nodes, leases, options) = (Idle<Node>(), Idle<Lease>(), new NodeLifecycleOptions());
        using var controller = new NodeLifecycleController(nodes, leases, pods, cluster.Client, events, time, NullLogger.Instance,
            new ControllerOptions(), options, new NodeHeartbeats(nodes, leases, options, time));
        using var stop = new CancellationTokenSource();
        var run = pods.RunAsync(stop.Token);
        await cluster.CreateAsync(NewPod("running", "busy"));
        await cluster.CreateAsync(NewPod("finished", "done"));

        // A DaemonSet's pod stays on a dark node (it tolerates both NoExecute taints without limit): nothing to hurry for.
        await cluster.CreateAsync(NewPod("daemon", "daemon",
            new Toleration { Key = Unreachable, Operator = "Exists", Effect = "NoExecute" },
            new Toleration { Key = "node.kubernetes.io/not-ready", Operator = "Exists", Effect = "NoExecute" }));
        await cluster.CreateAsync(NewPod("patient", "patient", new Toleration { Operator = "Exists", Effect = "NoExecute", TolerationSeconds = 600 }));
        var last = await cluster.Client.MutateAsync<Pod>("default", "finished", "status", p =>
        {
            p.Status = new PodStatus { Phase = "Succeeded" };
            return true;
        }, CancellationToken.None);
        await pods.WaitForRevisionAsync(Objects.RevisionOf(last!), CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        // Not run: the queue keeps what is added, and the constructor added the monitor pass.
        controller.Enqueue("idle");
        controller.Enqueue("done");
        controller.Enqueue("daemon");
        controller.Enqueue("busy");
        controller.Enqueue("patient");
        var order = new List<string>();
        while (controller.Queue.Count > 0)
        {
            order.Add((await controller.Queue.GetAsync(CancellationToken.None)).Item);
        }

        Assert.Equal([NodeLifecycleController.MonitorKey, "busy", "patient", "idle", "done", "daemon"], order);
        await stop.CancelAsync();
        await run;
    }

    private static NodeLifecycleController NewDetachedController()
    {
        var time = new FakeTimeProvider();
        var client = new ApiClient(null!, "tests");
        Informer<T> Informer<T>()
            where T : KubeObject => new(ResourceCatalog.For<T>(), null!, null!, time, NullLogger.Instance);
        var (nodes, leases, options) = (Informer<Node>(), Informer<Lease>(), new NodeLifecycleOptions());
        return new NodeLifecycleController(nodes, leases, Informer<Pod>(), client, new EventRecorder(client, time, "c", "i", NullLogger.Instance),
            time, NullLogger.Instance, new ControllerOptions(), options, new NodeHeartbeats(nodes, leases, options, time));
    }

    private static async Task RenewAsync(TestCluster cluster, Harness harness, FakeTimeProvider time, params string[] names)
    {
        foreach (var name in names)
        {
            var lease = await cluster.Client.MutateAsync<Lease>("kube-node-lease", name, null, l =>
            {
                l.Spec.RenewTime = time.GetUtcNow();
                return true;
            }, CancellationToken.None) ?? throw new InvalidOperationException("lease gone");

            // The controller notes a renewal when its informer sees it, on its own clock: let it see this one first.
            await harness.Leases.WaitForRevisionAsync(Objects.RevisionOf(lease), CancellationToken.None);
        }
    }

    /// <summary>Ready nodes, each with a Lease renewed now.</summary>
    private static async Task CreateRenewingNodesAsync(TestCluster cluster, FakeTimeProvider time, params string[] names)
    {
        foreach (var name in names)
        {
            await CreateNodeAsync(cluster, name, ready: "True", time.GetUtcNow());
            await cluster.CreateAsync(NewLease(name, time.GetUtcNow()));
        }
    }

    private static async Task CreateNodeAsync(TestCluster cluster, string name, string ready, DateTimeOffset now, string? site = null)
    {
        await cluster.CreateAsync(new Node
        {
            Metadata = new ObjectMeta { Name = name, Labels = site is null ? null : new Dictionary<string, string> { ["verge.dev/site"] = site } },
        });
        await cluster.Client.MutateAsync<Node>(null, name, "status", n =>
        {
            n.Status = new NodeStatus
            {
                Conditions = [new NodeCondition { Type = "Ready", Status = ready, Reason = "NodeReported", LastHeartbeatTime = now, LastTransitionTime = now }],
            };
            return true;
        }, CancellationToken.None);
    }

    [Fact]
    public async Task GraceOf_WhenTheLeaseDeclaresALongerDuration_UsesItUpToTheMaximum()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await cluster.CreateAsync(NewLease("short", time.GetUtcNow(), seconds: 2));
        await cluster.CreateAsync(NewLease("large-fleet", time.GetUtcNow(), seconds: NodeHeartbeat.ForFleet(5000).LeaseDurationSeconds));
        var last = Objects.RevisionOf(await cluster.CreateAsync(NewLease("boastful", time.GetUtcNow(), seconds: 3600)));
        await using var harness = await Harness.StartAsync(cluster, time);
        await harness.Leases.WaitForRevisionAsync(last, CancellationToken.None).WaitAsync(TestCluster.WaitLimit);

        Assert.Equal(TimeSpan.FromSeconds(4), harness.Controller.GraceOf("short"));
        Assert.Equal(TimeSpan.FromSeconds(6), harness.Controller.GraceOf("large-fleet"));
        Assert.Equal(NodeHeartbeat.MaxLeaseDuration, harness.Controller.GraceOf("boastful"));
        Assert.Equal(TimeSpan.FromSeconds(4), harness.Controller.GraceOf("no-lease"));
    }

    private static Lease NewLease(string node, DateTimeOffset now, int seconds = 4) => new()
    {
        Metadata = new ObjectMeta { Name = node, Namespace = "kube-node-lease" },
        Spec = new LeaseSpec { HolderIdentity = node, LeaseDurationSeconds = seconds, RenewTime = now },
    };

    private static Pod NewPod(string name, string node, params Toleration[] tolerations) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default" },
        Spec = new PodSpec
        {
            NodeName = node,
            Containers = [new Container { Name = "app", Image = "registry.example/app:1" }],
            Tolerations = tolerations.Length == 0 ? null : [.. tolerations],
        },
    };

    /// <summary>
    /// The pods not being deleted: an evicted pod stays, Terminating, until its node confirms it stopped, and these
    /// nodes have no agent.
    /// </summary>
    private static List<string> Names(Tracker<Pod> pods) =>
        [.. pods.List().Where(p => p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.Name!).Order(StringComparer.Ordinal)];

    private static bool IsUnknown(Node n) => n.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status == "Unknown";

    private static bool HasUnreachable(Node n) => n.Spec.Taints?.Any(t => t.Key == Unreachable) == true;

    private static async Task<Node> WaitForNodeAsync(Tracker<Node> nodes, Func<Node, bool> predicate, string what)
    {
        Node? found = null;
        await nodes.WaitUntilAsync(() => (found = nodes.Informer.Get(null, "edge-1") ?? nodes.Informer.Get(null, "edge-2")) is { } n && predicate(n), what);
        return found!;
    }

    private static bool HasTaint(Node n, string key, string effect) => n.Spec.Taints?.Any(t => t.Key == key && t.Effect == effect) == true;

    /// <summary>The controller with its own informers, run as the controller manager would run it.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        private Harness(TestCluster cluster, FakeTimeProvider time, NodeLifecycleOptions options)
        {
            Nodes = new Informer<Node>(ResourceCatalog.For<Node>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
            Leases = new Informer<Lease>(ResourceCatalog.For<Lease>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
            Pods = new Informer<Pod>(ResourceCatalog.For<Pod>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
            var events = new EventRecorder(cluster.Client, time, "verge-controller-manager", "test", NullLogger.Instance);
            Controller = new NodeLifecycleController(Nodes, Leases, Pods, cluster.Client, events, time, NullLogger.Instance,
                new ControllerOptions(), options, new NodeHeartbeats(Nodes, Leases, options, time));
        }

        public Informer<Node> Nodes { get; }

        public Informer<Lease> Leases { get; }

        public Informer<Pod> Pods { get; }

        public NodeLifecycleController Controller { get; }

        public static async Task<Harness> StartAsync(TestCluster cluster, FakeTimeProvider time, NodeLifecycleOptions? options = null)
        {
            var harness = new Harness(cluster, time, options ?? new NodeLifecycleOptions());
            var ct = harness._stop.Token;
            harness._run = Task.WhenAll(harness.Nodes.RunAsync(ct), harness.Leases.RunAsync(ct), harness.Pods.RunAsync(ct), harness.Controller.RunAsync(ct));
            await Task.WhenAll(harness.Nodes.Synced, harness.Leases.Synced, harness.Pods.Synced);
            return harness;
        }

        /// <summary>Waits until the controller's node informer has seen everything the test's tracker has.</summary>
        public Task SettledAsync(Tracker<Node> nodes) => Nodes.WaitForRevisionAsync(nodes.Informer.Revision, CancellationToken.None);

        /// <summary>
        /// Waits until the controller has nothing to do until the fake clock moves: no key queued or being reconciled,
        /// and its node informer has seen the newest version of every node (its writes to nodes queue more work).
        /// </summary>
        public async Task IdleAsync(TestCluster cluster, params string[] nodeNames)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                var revision = await NewestAsync(cluster, nodeNames);
                await Nodes.WaitForRevisionAsync(revision, CancellationToken.None);
                if (Controller.Queue.ActiveCount == 0 && await NewestAsync(cluster, nodeNames) == revision)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, "the node lifecycle controller did not settle");
                await Task.Delay(10);
            }
        }

        private static async Task<long> NewestAsync(TestCluster cluster, string[] nodeNames)
        {
            long newest = 0;
            foreach (var name in nodeNames)
            {
                if (await cluster.Client.GetAsync<Node>(null, name, CancellationToken.None) is { } node)
                {
                    newest = Math.Max(newest, Objects.RevisionOf(node));
                }
            }

            return newest;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _run;
            }
            catch (OperationCanceledException)
            {
            }

            Controller.Dispose();
            _stop.Dispose();
        }
    }
}
