using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.ReplicaSets;

public class ReplicaSetControllerTests
{
    private static Pod Orphan(string name, Dictionary<string, string> labels) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default", Labels = labels },
        Spec = new PodSpec { Containers = [new Container { Name = "web", Image = "registry.example/web:1" }] },
    };

    [Fact]
    public async Task Reconcile_WhenPodsBecomeReady_ReportsReadyAndAvailableReplicas()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var rs = await cluster.CreateAsync(TestCluster.NewReplicaSet("web", 3));

        var done = await replicaSets.WaitForAsync("web", r => r.Status is { Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3 }, "3 available");

        Assert.Equal(3, done.Status!.FullyLabeledReplicas);
        Assert.Equal(rs.Metadata.Generation, done.Status.ObservedGeneration);
    }

    [Fact]
    public async Task Reconcile_WhenMinReadySecondsIsSet_CountsPodsAvailableOnlyAfterIt()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var rs = TestCluster.NewReplicaSet("web", 1);
        // Long enough that even a loaded machine reports the pod Ready before it counts as available.
        rs.Spec.MinReadySeconds = 5;
        await cluster.CreateAsync(rs);

        var ready = await replicaSets.WaitForAsync("web", r => r.Status is { ReadyReplicas: 1 }, "1 ready");
        Assert.Equal(0, ready.Status!.AvailableReplicas);
        await replicaSets.WaitForAsync("web", r => r.Status is { AvailableReplicas: 1 }, "1 available after minReadySeconds");
    }

    [Fact]
    public async Task Reconcile_WhenAnOrphanMatchesTheSelector_AdoptsItInsteadOfCreating()
    {
        await using var cluster = await TestCluster.StartAsync();
        var pods = await cluster.TrackAsync<Pod>();
        await cluster.CreateAsync(Orphan("stray", new() { ["app"] = "web" }));
        await cluster.CreateAsync(Orphan("other", new() { ["app"] = "db" }));

        var rs = await cluster.CreateAsync(TestCluster.NewReplicaSet("web", 2));
        await pods.WaitUntilAsync(() => pods.List().Count(p => Objects.ControllerOf(p)?.Uid == rs.Metadata.Uid) == 2, "2 owned pods");

        var stray = pods.List().Single(p => p.Metadata.Name == "stray");
        var reference = Assert.Single(stray.Metadata.OwnerReferences!);
        Assert.True(reference is { Kind: "ReplicaSet", Name: "web", Controller: true, BlockOwnerDeletion: true });
        Assert.Null(pods.List().Single(p => p.Metadata.Name == "other").Metadata.OwnerReferences);
        Assert.Equal(3, pods.List().Count);
    }

    [Fact]
    public async Task Reconcile_WhenAnOwnedPodStopsMatching_ReleasesItAndReplacesIt()
    {
        await using var cluster = await TestCluster.StartAsync();
        var pods = await cluster.TrackAsync<Pod>();
        var rs = await cluster.CreateAsync(TestCluster.NewReplicaSet("web", 1));
        var first = await pods.WaitForAsync(
            (await WaitForOneAsync(pods, rs)).Metadata.Name!, p => true, "first pod");

        await cluster.UpdateAsync<Pod>(first.Metadata.Name!, p => p.Metadata.Labels!["app"] = "debug");

        await pods.WaitUntilAsync(() => pods.List().Count == 2
            && pods.List().Count(p => Objects.ControllerOf(p)?.Uid == rs.Metadata.Uid) == 1, "released and replaced");
        Assert.Empty(pods.List().Single(p => p.Metadata.Name == first.Metadata.Name).Metadata.OwnerReferences ?? []);
    }

    [Fact]
    public async Task Reconcile_WhenScaledDown_DeletesPodsThatAreNotReadyFirst()
    {
        await using var cluster = await TestCluster.StartAsync();
        var node = await cluster.StartNodeAsync(_ => false);
        var pods = await cluster.TrackAsync<Pod>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var rs = await cluster.CreateAsync(TestCluster.NewReplicaSet("web", 3));
        await pods.WaitUntilAsync(() => pods.List().Count == 3, "3 pods");
        var keep = pods.List().OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).First().Metadata.Name;
        node.Runs = p => p.Metadata.Name == keep;
        node.Recheck();
        await replicaSets.WaitForAsync("web", r => r.Status?.ReadyReplicas == 1, "1 ready");

        await cluster.UpdateAsync<ReplicaSet>("web", r => r.Spec.Replicas = 1);

        await pods.WaitUntilAsync(() => pods.List().Count == 1, "scaled down to 1");
        Assert.Equal(keep, pods.List()[0].Metadata.Name);
        Assert.Equal(rs.Metadata.Uid, Objects.ControllerOf(pods.List()[0])!.Uid);
    }

    private static async Task<Pod> WaitForOneAsync(Tracker<Pod> pods, ReplicaSet rs)
    {
        await pods.WaitUntilAsync(() => pods.List().Any(p => Objects.ControllerOf(p)?.Uid == rs.Metadata.Uid), "a pod");
        return pods.List().First(p => Objects.ControllerOf(p)?.Uid == rs.Metadata.Uid);
    }
}
