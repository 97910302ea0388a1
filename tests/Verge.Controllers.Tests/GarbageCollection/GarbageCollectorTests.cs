using Verge.ApiServer.Registry;
using Verge.Controllers.GarbageCollection;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.GarbageCollection;

public class GarbageCollectorTests
{
    private static bool RolledOut(Deployment d) => d.Status is { } s && s.ObservedGeneration >= d.Metadata.Generation && s.AvailableReplicas == d.Spec.Replicas;

    private static async Task<(Tracker<Deployment> Deployments, Tracker<ReplicaSet> ReplicaSets, Tracker<Pod> Pods)> RunningDeploymentAsync(TestCluster cluster)
    {
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var pods = await cluster.TrackAsync<Pod>();
        await cluster.CreateAsync(TestCluster.NewDeployment("web", 2));
        await deployments.WaitForAsync("web", RolledOut, "web rolled out");
        await pods.WaitUntilAsync(() => pods.List().Count(PodState.IsReady) == 2, "2 ready pods");
        return (deployments, replicaSets, pods);
    }

    private static Task<(KubeObject Object, bool Removed)> DeleteAsync(TestCluster cluster, string? policy) =>
        cluster.Service.DeleteAsync(ResourceCatalog.For<Deployment>(), "default", "web", new DeleteOptions { PropagationPolicy = policy }, CancellationToken.None);

    [Fact]
    public async Task Delete_WithBackgroundPropagation_RemovesReplicaSetsAndPods()
    {
        await using var cluster = await TestCluster.StartAsync();
        var (deployments, replicaSets, pods) = await RunningDeploymentAsync(cluster);

        var (_, removed) = await DeleteAsync(cluster, null);

        Assert.True(removed);
        await deployments.WaitUntilAsync(() => deployments.List().Count == 0, "deployment gone");
        await replicaSets.WaitUntilAsync(() => replicaSets.List().Count == 0, "replica sets collected");
        await pods.WaitUntilAsync(() => pods.List().Count == 0, "pods collected");
    }

    [Fact]
    public async Task Delete_WithOrphanPropagation_KeepsReplicaSetsAndPodsWithoutOwner()
    {
        await using var cluster = await TestCluster.StartAsync();
        var (deployments, replicaSets, pods) = await RunningDeploymentAsync(cluster);
        var owner = Assert.Single(deployments.List());

        var (marked, removed) = await DeleteAsync(cluster, "Orphan");

        Assert.False(removed);
        Assert.Contains(GarbageCollector.OrphanFinalizer, marked.Metadata.Finalizers!);
        await deployments.WaitUntilAsync(() => deployments.List().Count == 0, "deployment gone");

        // Each informer follows the store on its own: wait until this one has seen the orphaning write, which the
        // store committed before the Deployment went away.
        await replicaSets.WaitUntilAsync(
            () => replicaSets.List().All(r => !(r.Metadata.OwnerReferences ?? []).Any(o => o.Uid == owner.Metadata.Uid)),
            "replica set orphaned");
        var rs = Assert.Single(replicaSets.List());
        Assert.DoesNotContain(rs.Metadata.OwnerReferences ?? [], o => o.Uid == owner.Metadata.Uid);
        Assert.Equal(2, pods.List().Count(p => Objects.ControllerOf(p)?.Uid == rs.Metadata.Uid));
    }

    [Fact]
    public async Task Delete_WithForegroundPropagation_RemovesTheOwnerOnlyAfterItsDependents()
    {
        await using var cluster = await TestCluster.StartAsync();
        var (deployments, replicaSets, pods) = await RunningDeploymentAsync(cluster);
        var start = cluster.Cache.Revision;

        var (marked, removed) = await DeleteAsync(cluster, "Foreground");

        Assert.False(removed);
        Assert.Contains(GarbageCollector.ForegroundFinalizer, marked.Metadata.Finalizers!);
        await deployments.WaitUntilAsync(() => deployments.List().Count == 0, "deployment gone");
        await replicaSets.WaitUntilAsync(() => replicaSets.List().Count == 0, "replica sets gone");
        await pods.WaitUntilAsync(() => pods.List().Count == 0, "pods gone");

        // The store's history, in order: every dependent was removed before the Deployment.
        var deploymentKey = ObjectCodec.Key(ResourceCatalog.For<Deployment>(), "default", "web");
        var removedBefore = new List<string>();
        using var limit = new CancellationTokenSource(TestCluster.WaitLimit);
        await foreach (var e in cluster.Service.Store.WatchAsync("/registry/", start, limit.Token))
        {
            if (e.Type != Store.WatchEventType.Deleted)
            {
                continue;
            }

            if (e.Current.Key == deploymentKey)
            {
                break;
            }

            removedBefore.Add(e.Current.Key);
        }

        Assert.Equal(2, removedBefore.Count(k => k.StartsWith("/registry/pods/", StringComparison.Ordinal)));
        Assert.Equal(1, removedBefore.Count(k => k.StartsWith("/registry/replicasets.apps/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Reconcile_WhenADependentHasAnotherLiveOwner_OnlyDropsTheGoneOwner()
    {
        await using var cluster = await TestCluster.StartAsync();
        var configMaps = await cluster.TrackAsync<ConfigMap>();
        var a = await cluster.CreateAsync(new ConfigMap { Metadata = new ObjectMeta { Name = "a", Namespace = "default" } });
        var b = await cluster.CreateAsync(new ConfigMap { Metadata = new ObjectMeta { Name = "b", Namespace = "default" } });
        await cluster.CreateAsync(new ConfigMap
        {
            Metadata = new ObjectMeta
            {
                Name = "child",
                Namespace = "default",
                OwnerReferences =
                [
                    new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "a", Uid = a.Metadata.Uid! },
                    new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "b", Uid = b.Metadata.Uid! },
                ],
            },
        });

        await cluster.Service.DeleteAsync(ResourceCatalog.For<ConfigMap>(), "default", "a", new DeleteOptions(), CancellationToken.None);

        var child = await configMaps.WaitForAsync("child", c => c.Metadata.OwnerReferences?.Count == 1, "reference to a dropped");
        Assert.Equal("b", child.Metadata.OwnerReferences![0].Name);

        await cluster.Service.DeleteAsync(ResourceCatalog.For<ConfigMap>(), "default", "b", new DeleteOptions(), CancellationToken.None);
        await configMaps.WaitUntilAsync(() => configMaps.List().Count == 0, "child collected");
    }
}
