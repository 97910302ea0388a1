using Microsoft.Extensions.Logging.Abstractions;
using Verge.Controllers.DaemonSets;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;

namespace Verge.Controllers.Tests.DaemonSets;

public class DaemonSetControllerTests
{
    [Fact]
    public async Task Reconcile_WithANodeSelector_RunsOnePodOnExactlyTheMatchingNodesAndFollowsLabelsAndDeletions()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        await cluster.StartNodeAsync();
        await CreateNodeAsync(cluster, "n1", "a");
        await CreateNodeAsync(cluster, "n2", "a");
        await CreateNodeAsync(cluster, "n3", "b");
        var pods = await cluster.TrackAsync<Pod>();
        var daemonSets = await cluster.TrackAsync<DaemonSet>();
        await using var harness = await Harness.StartAsync(cluster);
        var ds = NewDaemonSet("agent");
        ds.Spec.Template.Spec!.NodeSelector = new() { ["verge.dev/site"] = "a" };
        ds = await cluster.CreateAsync(ds);

        await pods.WaitUntilAsync(() => PodNodes(pods).SequenceEqual(["n1", "n2"]), () => $"pods on n1, n2; have {string.Join(",", PodNodes(pods))}");
        var status = (await daemonSets.WaitForAsync("agent", d => d.Status is { DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2 }, "2 ready")).Status!;
        Assert.Equal(0, status.NumberMisscheduled);
        Assert.Equal(2, status.UpdatedNumberScheduled);
        Assert.Equal(0, status.NumberUnavailable);
        Assert.Equal(ds.Metadata.Generation, status.ObservedGeneration);
        var pod = pods.List()[0];
        Assert.Equal(ds.Metadata.Uid, Objects.ControllerOf(pod)!.Uid);
        Assert.Equal(DaemonSetPlanner.Hash(ds), pod.Metadata.Labels![DaemonSetPlanner.HashLabel]);
        Assert.Contains(pod.Spec.Tolerations!, t => t.Key == "node.kubernetes.io/unreachable" && t.Effect == "NoExecute" && t.TolerationSeconds is null);

        // The pod names its node through a required affinity for the scheduler to honour, and is not bound yet.
        Assert.Null(pod.Spec.NodeName);
        var term = Assert.Single(pod.Spec.Affinity!.NodeAffinity!.RequiredDuringSchedulingIgnoredDuringExecution!.NodeSelectorTerms);
        var field = Assert.Single(term.MatchFields!);
        Assert.Equal(("metadata.name", "In"), (field.Key, field.Operator));
        Assert.Equal([DaemonSetPlanner.TargetNode(pod)!], field.Values!);

        // n2 leaves site a and n3 joins it: the pod moves.
        await cluster.Client.MutateAsync<Node>(null, "n2", null, n => (n.Metadata.Labels!["verge.dev/site"] = "b") is not null, CancellationToken.None);
        await cluster.Client.MutateAsync<Node>(null, "n3", null, n => (n.Metadata.Labels!["verge.dev/site"] = "a") is not null, CancellationToken.None);
        await pods.WaitUntilAsync(() => PodNodes(pods).SequenceEqual(["n1", "n3"]), () => $"pods on n1, n3; have {string.Join(",", PodNodes(pods))}");

        // A deleted node loses its pod.
        await cluster.Client.DeleteAsync(ResourceCatalog.For<Node>(), null, "n1", null, null, CancellationToken.None);
        await pods.WaitUntilAsync(() => PodNodes(pods).SequenceEqual(["n3"]), () => $"a pod on n3 only; have {string.Join(",", PodNodes(pods))}");
        await daemonSets.WaitForAsync("agent", d => d.Status is { DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberReady: 1 }, "1 desired and ready");

        var events = (await cluster.TrackAsync<Event>()).List();
        Assert.Equal(3, events.Where(e => e.Reason == "SuccessfulCreate").Sum(e => e.Count ?? 1));
        Assert.Equal(2, events.Where(e => e.Reason == "SuccessfulDelete").Sum(e => e.Count ?? 1));
    }

    [Fact]
    public async Task Reconcile_WhenTheTemplateChanges_ReplacesPodsWithAtMostMaxUnavailableMissing()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        await cluster.StartNodeAsync();
        foreach (var name in new[] { "n1", "n2", "n3", "n4" })
        {
            await CreateNodeAsync(cluster, name, "a");
        }

        var pods = await cluster.TrackAsync<Pod>();
        var daemonSets = await cluster.TrackAsync<DaemonSet>();
        await using var harness = await Harness.StartAsync(cluster);
        await cluster.CreateAsync(NewDaemonSet("agent"));
        await daemonSets.WaitForAsync("agent", d => d.Status is { NumberAvailable: 4, UpdatedNumberScheduled: 4 }, "4 available");
        var oldPods = pods.List().Select(p => p.Metadata.Uid).ToHashSet();

        var fewestAvailable = int.MaxValue;
        pods.Observe = informer => fewestAvailable = Math.Min(fewestAvailable,
            informer.List("default").Where(p => PodState.IsActive(p) && PodState.IsReady(p)).Select(DaemonSetPlanner.TargetNode).Distinct().Count());
        var updated = await cluster.UpdateAsync<DaemonSet>("agent", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/agent:2");
        var hash = DaemonSetPlanner.Hash(updated);

        await pods.WaitUntilAsync(
            () => pods.List().Count == 4 && pods.List().All(p => PodState.IsReady(p) && p.Metadata.Labels![DaemonSetPlanner.HashLabel] == hash),
            "4 ready pods of the new template");
        var done = await daemonSets.WaitForAsync("agent", d => d.Status is { UpdatedNumberScheduled: 4, NumberAvailable: 4 } && d.Status.ObservedGeneration == updated.Metadata.Generation, "rolled out");
        Assert.Equal(0, done.Status!.NumberUnavailable);
        Assert.DoesNotContain(pods.List(), p => oldPods.Contains(p.Metadata.Uid));
        Assert.Equal(3, fewestAvailable);
        Assert.Equal(["n1", "n2", "n3", "n4"], PodNodes(pods));
    }

    [Fact]
    public async Task Reconcile_KeepsEachTemplateAsAControllerRevisionAndRenumbersARestoredOne()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        await cluster.StartNodeAsync();
        await CreateNodeAsync(cluster, "n1", "a");
        var revisions = await cluster.TrackAsync<ControllerRevision>();
        await using var harness = await Harness.StartAsync(cluster);
        var ds = NewDaemonSet("agent");
        ds.Spec.RevisionHistoryLimit = 1;
        ds.Metadata.Annotations = new() { ["kubernetes.io/change-cause"] = "first" };
        ds = await cluster.CreateAsync(ds);
        var firstHash = DaemonSetPlanner.Hash(ds);

        var first = await WaitForRevisionsAsync(revisions, ["agent-" + firstHash + ":1"]);
        var revision = first.Single();
        Assert.Equal(ds.Metadata.Uid, Objects.ControllerOf(revision)!.Uid);
        Assert.Equal(firstHash, revision.Metadata.Labels!["controller-revision-hash"]);
        Assert.Equal("agent", revision.Metadata.Labels["app"]);
        Assert.Equal("first", revision.Metadata.Annotations!["kubernetes.io/change-cause"]);
        Assert.Equal("replace", revision.Data!["spec"]!["template"]!["$patch"]!.GetValue<string>());
        Assert.Equal("registry.example/agent:1", revision.Data["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());

        var second = await cluster.UpdateAsync<DaemonSet>("agent", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/agent:2");
        var secondHash = DaemonSetPlanner.Hash(second);
        await WaitForRevisionsAsync(revisions, ["agent-" + firstHash + ":1", "agent-" + secondHash + ":2"]);

        // Back to the first template (what kubectl rollout undo does): its revision becomes the newest.
        await cluster.UpdateAsync<DaemonSet>("agent", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/agent:1");
        await WaitForRevisionsAsync(revisions, ["agent-" + firstHash + ":3", "agent-" + secondHash + ":2"]);

        // A third template: with a history limit of 1, the oldest old revision goes once no pod runs it.
        var third = await cluster.UpdateAsync<DaemonSet>("agent", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/agent:3");
        await WaitForRevisionsAsync(revisions, ["agent-" + firstHash + ":3", "agent-" + DaemonSetPlanner.Hash(third) + ":4"]);
    }

    [Fact]
    public void Plan_WithMaxSurge_StartsTheNewPodBesideTheOldOne_AndDeletesTheOldOnceTheNewIsAvailable()
    {
        var now = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var ds = NewDaemonSet("agent");
        ds.Metadata.Uid = "ds-uid";
        ds.Spec.UpdateStrategy = new DaemonSetUpdateStrategy
        {
            Type = "RollingUpdate",
            RollingUpdate = new RollingUpdateDaemonSet { MaxSurge = new IntOrString(1), MaxUnavailable = new IntOrString(0) },
        };
        Node[] nodes = [.. new[] { "n1", "n2", "n3" }.Select(n => new Node { Metadata = new ObjectMeta { Name = n } })];
        var hash = DaemonSetPlanner.Hash(ds);
        Pod PodOn(string node, string podHash, bool ready)
        {
            var pod = DaemonSetPlanner.PodFor(ds, podHash, node);
            pod.Metadata.Name = $"{node}-{podHash}";
            pod.Metadata.Uid = pod.Metadata.Name;
            pod.Spec.NodeName = node;
            pod.Status = new PodStatus
            {
                Phase = "Running",
                Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = now.AddMinutes(-1) }],
            };
            return pod;
        }

        // Every node runs an available pod of the old template: one new pod starts, beside its old one, nothing goes.
        List<Pod> old = [PodOn("n1", "old", true), PodOn("n2", "old", true), PodOn("n3", "old", true)];
        var start = DaemonSetPlanner.Plan(ds, hash, nodes, old, now);
        Assert.Equal(["n1"], start.CreateOn);
        Assert.Empty(start.Delete);

        // The new pod is not available yet: it uses up the surge, so nothing else happens.
        var waiting = DaemonSetPlanner.Plan(ds, hash, nodes, [.. old, PodOn("n1", hash, false)], now);
        Assert.Empty(waiting.CreateOn);
        Assert.Empty(waiting.Delete);

        // It is available: its old pod goes, and the next node gets its new pod.
        var next = DaemonSetPlanner.Plan(ds, hash, nodes, [.. old, PodOn("n1", hash, true)], now);
        Assert.Equal(["n1-old"], next.Delete.Select(p => p.Metadata.Name));
        Assert.Equal(["n2"], next.CreateOn);

        // An old pod that is not available is replaced at once, beyond the surge.
        var broken = DaemonSetPlanner.Plan(ds, hash, nodes, [PodOn("n1", "old", true), PodOn("n1", hash, false), PodOn("n2", "old", false), PodOn("n3", "old", true)], now);
        Assert.Equal(["n2"], broken.CreateOn);
        Assert.Empty(broken.Delete);
    }

    [Fact]
    public void Plan_WhileADaemonPodIsTerminating_WaitsForItToGoBeforeStartingItsReplacement()
    {
        var now = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var ds = NewDaemonSet("agent");
        ds.Metadata.Uid = "ds-uid";
        Node[] nodes = [new Node { Metadata = new ObjectMeta { Name = "n1" } }, new Node { Metadata = new ObjectMeta { Name = "n2" } }];
        var hash = DaemonSetPlanner.Hash(ds);
        var leaving = DaemonSetPlanner.PodFor(ds, "old", "n1");
        leaving.Metadata.Name = "n1-old";
        leaving.Spec.NodeName = "n1";
        leaving.Metadata.DeletionTimestamp = now.AddSeconds(30);
        leaving.Metadata.DeletionGracePeriodSeconds = 30;

        // The node's old pod still holds its host ports and devices: only the node without any pod gets one.
        var waiting = DaemonSetPlanner.Plan(ds, hash, nodes, [leaving], now);
        Assert.Equal(["n2"], waiting.CreateOn);
        Assert.Empty(waiting.Delete);
        Assert.Equal(2, waiting.Status.NumberUnavailable);

        // Gone: its replacement starts.
        Assert.Equal(["n1", "n2"], DaemonSetPlanner.Plan(ds, hash, nodes, [], now).CreateOn);
    }

    [Fact]
    public void Evaluate_HonoursSelectorAffinityAndTaintsWithTheImplicitTolerations()
    {
        var spec = new PodSpec
        {
            Containers = [new Container { Name = "a" }],
            Affinity = new Affinity
            {
                NodeAffinity = new NodeAffinity
                {
                    RequiredDuringSchedulingIgnoredDuringExecution = new NodeSelector
                    {
                        NodeSelectorTerms = [new NodeSelectorTerm { MatchExpressions = [new NodeSelectorRequirement { Key = "tier", Operator = "In", Values = ["edge"] }] }],
                    },
                },
            },
        };
        Node NodeWith(string tier, params Taint[] taints) => new()
        {
            Metadata = new ObjectMeta { Name = "n", Labels = new() { ["tier"] = tier } },
            Spec = new NodeSpec { Taints = taints.Length == 0 ? null : [.. taints] },
        };

        Assert.Equal((true, true), DaemonSetEligibility.Evaluate(spec, NodeWith("edge")));
        Assert.Equal((false, false), DaemonSetEligibility.Evaluate(spec, NodeWith("core")));
        Assert.Equal((true, true), DaemonSetEligibility.Evaluate(spec, NodeWith("edge",
            new Taint { Key = "node.kubernetes.io/unreachable", Effect = "NoExecute" },
            new Taint { Key = "node.kubernetes.io/unschedulable", Effect = "NoSchedule" })));
        Assert.Equal((false, true), DaemonSetEligibility.Evaluate(spec, NodeWith("edge", new Taint { Key = "gpu", Effect = "NoSchedule" })));
        Assert.Equal((false, false), DaemonSetEligibility.Evaluate(spec, NodeWith("edge", new Taint { Key = "gpu", Effect = "NoExecute" })));
        spec.Tolerations = [new Toleration { Key = "gpu", Operator = "Exists" }];
        Assert.Equal((true, true), DaemonSetEligibility.Evaluate(spec, NodeWith("edge", new Taint { Key = "gpu", Effect = "NoExecute" })));
    }

    private static async Task<IReadOnlyList<ControllerRevision>> WaitForRevisionsAsync(Tracker<ControllerRevision> revisions, string[] expected)
    {
        string Describe() => string.Join(",", revisions.List().Select(r => $"{r.Metadata.Name}:{r.Revision}").Order(StringComparer.Ordinal));
        await revisions.WaitUntilAsync(() => Describe() == string.Join(",", expected.Order(StringComparer.Ordinal)), () => $"revisions {string.Join(",", expected)}; have {Describe()}");
        return revisions.List();
    }

    /// <summary>The nodes the active pods are for (no scheduler runs here, so the pods stay unbound).</summary>
    private static List<string> PodNodes(Tracker<Pod> pods) =>
        [.. pods.List().Where(PodState.IsActive).Select(p => DaemonSetPlanner.TargetNode(p) ?? "").Order(StringComparer.Ordinal)];

    private static Task<Node> CreateNodeAsync(TestCluster cluster, string name, string site) =>
        cluster.CreateAsync(new Node { Metadata = new ObjectMeta { Name = name, Labels = new() { ["verge.dev/site"] = site } } });

    private static DaemonSet NewDaemonSet(string name)
    {
        var labels = new Dictionary<string, string> { ["app"] = name };
        return new DaemonSet
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "default" },
            Spec = new DaemonSetSpec
            {
                Selector = new() { MatchLabels = new(labels) },
                Template = new PodTemplateSpec
                {
                    Metadata = new ObjectMeta { Labels = new(labels) },
                    Spec = new PodSpec { Containers = [new Container { Name = "agent", Image = "registry.example/agent:1" }] },
                },
            },
        };
    }

    /// <summary>The controller with its own informers, run as the controller manager would run it.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly DaemonSetController _controller;
        private readonly Informer<DaemonSet> _daemonSets;
        private readonly Informer<Pod> _pods;
        private readonly Informer<Node> _nodes;
        private readonly Informer<ControllerRevision> _revisions;
        private Task _run = Task.CompletedTask;

        private Harness(TestCluster cluster)
        {
            var time = TimeProvider.System;
            _daemonSets = new Informer<DaemonSet>(ResourceCatalog.For<DaemonSet>(), cluster.Service, cluster.Cache, time, NullLogger.Instance);
            _pods = new Informer<Pod>(ResourceCatalog.For<Pod>(), cluster.Service, cluster.Cache, time, NullLogger.Instance);
            _nodes = new Informer<Node>(ResourceCatalog.For<Node>(), cluster.Service, cluster.Cache, time, NullLogger.Instance);
            _revisions = new Informer<ControllerRevision>(ResourceCatalog.For<ControllerRevision>(), cluster.Service, cluster.Cache, time, NullLogger.Instance);
            var events = new EventRecorder(cluster.Client, time, "verge-controller-manager", "test", NullLogger.Instance);
            _controller = new DaemonSetController(_daemonSets, _pods, _nodes, _revisions, cluster.Client, events, time, NullLogger.Instance,
                new ControllerOptions(), new DaemonSetOptions());
        }

        public static async Task<Harness> StartAsync(TestCluster cluster)
        {
            var harness = new Harness(cluster);
            var ct = harness._stop.Token;
            harness._run = Task.WhenAll(harness._daemonSets.RunAsync(ct), harness._pods.RunAsync(ct), harness._nodes.RunAsync(ct), harness._revisions.RunAsync(ct), harness._controller.RunAsync(ct));
            await Task.WhenAll(harness._daemonSets.Synced, harness._pods.Synced, harness._nodes.Synced, harness._revisions.Synced);
            return harness;
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

            _controller.Dispose();
            _stop.Dispose();
        }
    }
}
