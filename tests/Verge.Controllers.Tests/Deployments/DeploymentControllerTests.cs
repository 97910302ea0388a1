using Verge.Controllers.Deployments;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Controllers.Tests.Deployments;

public class DeploymentControllerTests
{
    private static bool RolledOut(Deployment d) =>
        d.Status is { } s && s.ObservedGeneration >= d.Metadata.Generation
        && s.UpdatedReplicas == d.Spec.Replicas && s.Replicas == d.Spec.Replicas && s.AvailableReplicas == d.Spec.Replicas;

    private static bool Is(Deployment d, string type, string status, string reason) =>
        DeploymentUtil.Condition(d.Status, type) is { } c && c.Status == status && c.Reason == reason;

    private static List<ReplicaSet> ReplicaSetsOf(Tracker<ReplicaSet> tracker, Deployment d) =>
        [.. tracker.List().Where(rs => Objects.ControllerOf(rs)?.Uid == d.Metadata.Uid)];

    [Fact]
    public async Task Reconcile_WhenDeploymentIsCreated_ReachesAvailableReplicas()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var pods = await cluster.TrackAsync<Pod>();

        var created = await cluster.CreateAsync(TestCluster.NewDeployment("web", 3));
        var d = await deployments.WaitForAsync("web", d => RolledOut(d) && Is(d, "Progressing", "True", "NewReplicaSetAvailable"), "web rolled out");

        var rs = Assert.Single(ReplicaSetsOf(replicaSets, d));
        var hash = PodTemplateHash.Compute(created.Spec.Template, null);
        Assert.Equal($"web-{hash}", rs.Metadata.Name);
        Assert.Equal(hash, rs.Spec.Template.Metadata!.Labels![PodTemplateHash.Label]);
        Assert.Equal(hash, rs.Spec.Selector!.MatchLabels![PodTemplateHash.Label]);
        Assert.Equal("1", rs.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.Equal("3", rs.Metadata.Annotations[DeploymentUtil.DesiredReplicasAnnotation]);
        Assert.Equal("4", rs.Metadata.Annotations[DeploymentUtil.MaxReplicasAnnotation]);
        Assert.Equal("1", d.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.True(Is(d, "Available", "True", "MinimumReplicasAvailable"));
        Assert.Equal($"ReplicaSet \"{rs.Metadata.Name}\" has successfully progressed.", DeploymentUtil.Condition(d.Status, "Progressing")!.Message);
        Assert.Equal(0, d.Status!.UnavailableReplicas);
        Assert.Equal(3, d.Status.ReadyReplicas);

        var owned = pods.List().Where(p => Objects.ControllerOf(p)?.Uid == rs.Metadata.Uid).ToList();
        Assert.Equal(3, owned.Count);
        Assert.All(owned, p =>
        {
            Assert.StartsWith($"{rs.Metadata.Name}-", p.Metadata.Name, StringComparison.Ordinal);
            Assert.Equal(5, p.Metadata.Name!.Length - rs.Metadata.Name!.Length - 1);
            Assert.Equal(hash, p.Metadata.Labels![PodTemplateHash.Label]);
            var owner = Assert.Single(p.Metadata.OwnerReferences!);
            Assert.True(owner is { Kind: "ReplicaSet", ApiVersion: "apps/v1", Controller: true, BlockOwnerDeletion: true });
        });

        var events = (await cluster.TrackAsync<Event>()).List();
        Assert.Contains(events, e => e.Reason == "ScalingReplicaSet" && e.InvolvedObject.Name == "web"
            && e.Message == $"Scaled up replica set {rs.Metadata.Name} from 0 to 3");
        Assert.Contains(events, e => e.Reason == "SuccessfulCreate" && e.InvolvedObject.Name == rs.Metadata.Name
            && e.Message!.StartsWith($"Created pod: {rs.Metadata.Name}-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reconcile_WhenReplicasChange_ScalesTheReplicaSetUpAndDown()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var pods = await cluster.TrackAsync<Pod>();
        await cluster.CreateAsync(TestCluster.NewDeployment("web", 2));
        await deployments.WaitForAsync("web", RolledOut, "2 replicas");

        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Replicas = 5);
        var d = await deployments.WaitForAsync("web", d => RolledOut(d) && d.Spec.Replicas == 5, "5 replicas");
        var rs = Assert.Single(ReplicaSetsOf(replicaSets, d));
        Assert.Equal(5, rs.Spec.Replicas);
        Assert.Equal("5", rs.Metadata.Annotations![DeploymentUtil.DesiredReplicasAnnotation]);
        await pods.WaitUntilAsync(() => pods.List().Count(PodState.IsActive) == 5, "5 pods");

        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Replicas = 1);
        await deployments.WaitForAsync("web", d => RolledOut(d) && d.Spec.Replicas == 1, "1 replica");
        await pods.WaitUntilAsync(() => pods.List().Count == 1, "1 pod left");

        var events = (await cluster.TrackAsync<Event>()).List().Select(e => e.Message).ToList();
        Assert.Contains($"Scaled up replica set {rs.Metadata.Name} to 5 from 2", events);
        Assert.Contains($"Scaled down replica set {rs.Metadata.Name} to 1 from 5", events);
        Assert.Contains(events, m => m!.StartsWith("Deleted pod: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reconcile_WhenTemplateChangesWithMaxUnavailableZero_NeverDropsBelowDesiredAvailable()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var pods = await cluster.TrackAsync<Pod>();
        var deployment = TestCluster.NewDeployment("web", 3);
        deployment.Spec.Strategy = new DeploymentStrategy
        {
            Type = "RollingUpdate",
            RollingUpdate = new RollingUpdateDeployment { MaxUnavailable = new IntOrString(0), MaxSurge = new IntOrString(1) },
        };
        await cluster.CreateAsync(deployment);
        var v1 = await deployments.WaitForAsync("web", RolledOut, "v1 rolled out");
        await pods.WaitUntilAsync(() => pods.List().Count(PodState.IsReady) == 3, "3 ready pods");

        // Every state the pods pass through, in revision order, from now on.
        var lock_ = new Lock();
        int minReady = int.MaxValue, maxPods = 0, states = 0;
        pods.Observe = informer =>
        {
            var current = informer.List("default");
            lock (lock_)
            {
                minReady = Math.Min(minReady, current.Count(PodState.IsReady));
                maxPods = Math.Max(maxPods, current.Count);
                states++;
            }
        };

        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/web:2");
        var v2 = await deployments.WaitForAsync("web", d => d.Metadata.Generation == 2 && RolledOut(d), "v2 rolled out");
        var newRs = DeploymentUtil.FindNewReplicaSet(v2, ReplicaSetsOf(replicaSets, v2))!;
        await pods.WaitUntilAsync(() => pods.List() is { Count: 3 } all && all.All(p => PodState.IsReady(p)
            && p.Metadata.Labels![PodTemplateHash.Label] == newRs.Spec.Template.Metadata!.Labels![PodTemplateHash.Label]), "only new pods");

        lock (lock_)
        {
            Assert.True(states >= 9, $"saw only {states} states");
            Assert.Equal(3, minReady);
            Assert.Equal(4, maxPods);
        }

        Assert.Equal("2", v2.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        var old = Assert.Single(ReplicaSetsOf(replicaSets, v2), rs => rs.Metadata.Uid != newRs.Metadata.Uid);
        Assert.Equal(0, old.Spec.Replicas);
        Assert.Equal("1", old.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.NotEqual(v1.Metadata.Annotations![DeploymentUtil.RevisionAnnotation], newRs.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
    }

    [Fact]
    public async Task Reconcile_WhenStrategyIsRecreate_RemovesOldPodsBeforeCreatingNewOnes()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var pods = await cluster.TrackAsync<Pod>();
        var deployment = TestCluster.NewDeployment("web", 2);
        deployment.Spec.Strategy = new DeploymentStrategy { Type = "Recreate" };
        await cluster.CreateAsync(deployment);
        await deployments.WaitForAsync("web", RolledOut, "v1 rolled out");

        var mixed = 0;
        pods.Observe = informer =>
        {
            var images = informer.List("default").Select(p => p.Spec.Containers[0].Image).Distinct().Count();
            if (images > 1)
            {
                Interlocked.Increment(ref mixed);
            }
        };
        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/web:2");
        await deployments.WaitForAsync("web", d => d.Metadata.Generation == 2 && RolledOut(d), "v2 rolled out");
        await pods.WaitUntilAsync(() => pods.List() is { Count: 2 } all && all.All(p => p.Spec.Containers[0].Image == "registry.example/web:2"), "2 new pods");

        Assert.Equal(0, Volatile.Read(ref mixed));
    }

    [Fact]
    public async Task Reconcile_WhenTemplateIsRolledBack_ReusesTheOldReplicaSet()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        await cluster.CreateAsync(TestCluster.NewDeployment("web", 2));
        await deployments.WaitForAsync("web", RolledOut, "v1 rolled out");
        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/web:2");
        var v2 = await deployments.WaitForAsync("web", d => d.Metadata.Generation == 2 && RolledOut(d), "v2 rolled out");
        var first = Assert.Single(ReplicaSetsOf(replicaSets, v2), rs => DeploymentUtil.Revision(rs) == 1);

        // What kubectl rollout undo does: the old ReplicaSet's template without its hash label becomes the Deployment's.
        var template = Objects.Clone(first).Spec.Template;
        template.Metadata!.Labels!.Remove(PodTemplateHash.Label);
        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Template = template);
        var undone = await deployments.WaitForAsync("web", d => d.Metadata.Generation == 3 && RolledOut(d)
            && Is(d, "Progressing", "True", "NewReplicaSetAvailable"), "rolled back");

        var all = ReplicaSetsOf(replicaSets, undone);
        Assert.Equal(2, all.Count);
        var reused = Assert.Single(all, rs => rs.Metadata.Uid == first.Metadata.Uid);
        Assert.Equal(2, reused.Spec.Replicas);
        Assert.Equal("3", reused.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.Equal("1", reused.Metadata.Annotations[DeploymentUtil.RevisionHistoryAnnotation]);
        Assert.Equal("3", undone.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
        Assert.Equal(0, Assert.Single(all, rs => rs.Metadata.Uid != first.Metadata.Uid).Spec.Replicas);
    }

    [Fact]
    public async Task Reconcile_WhenRevisionHistoryLimitIsExceeded_DeletesTheOldestReplicaSets()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        var deployment = TestCluster.NewDeployment("web", 1);
        deployment.Spec.RevisionHistoryLimit = 1;
        await cluster.CreateAsync(deployment);
        for (var version = 2; version <= 4; version++)
        {
            await deployments.WaitForAsync("web", d => d.Metadata.Generation == version - 1 && RolledOut(d), $"v{version - 1} rolled out");
            await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Template.Spec!.Containers[0].Image = $"registry.example/web:{version}");
        }

        var d = await deployments.WaitForAsync("web", d => d.Metadata.Generation == 4 && RolledOut(d), "v4 rolled out");
        // Revisions 1 and 2 go (scaled to zero, beyond the limit of one old ReplicaSet); 3 stays for rollback.
        await replicaSets.WaitUntilAsync(
            () => ReplicaSetsOf(replicaSets, d).Select(DeploymentUtil.Revision).Order().SequenceEqual([3L, 4L]),
            () => "revisions 3 and 4 left, not " + string.Join("; ", ReplicaSetsOf(replicaSets, d).Select(rs =>
                $"{DeploymentUtil.Revision(rs)}: {rs.Spec.Replicas}/{rs.Status?.Replicas} gen {rs.Metadata.Generation}/{rs.Status?.ObservedGeneration}")));
        Assert.Equal(0, ReplicaSetsOf(replicaSets, d).Single(rs => DeploymentUtil.Revision(rs) == 3).Spec.Replicas);
    }

    [Fact]
    public async Task Reconcile_WhenPaused_ScalesButDoesNotRollOutUntilResumed()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var replicaSets = await cluster.TrackAsync<ReplicaSet>();
        await cluster.CreateAsync(TestCluster.NewDeployment("web", 2));
        await deployments.WaitForAsync("web", RolledOut, "v1 rolled out");

        await cluster.UpdateAsync<Deployment>("web", d =>
        {
            d.Spec.Paused = true;
            d.Spec.Template.Spec!.Containers[0].Image = "registry.example/web:2";
        });
        var paused = await deployments.WaitForAsync("web", d => d.Status?.ObservedGeneration == d.Metadata.Generation
            && Is(d, "Progressing", "Unknown", "DeploymentPaused"), "paused observed");
        Assert.Equal("Deployment is paused", DeploymentUtil.Condition(paused.Status, "Progressing")!.Message);
        Assert.Single(ReplicaSetsOf(replicaSets, paused));

        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Replicas = 3);
        var scaled = await deployments.WaitForAsync("web", d => d.Status?.ObservedGeneration == d.Metadata.Generation
            && d.Status!.Replicas == 3 && d.Status.AvailableReplicas == 3, "scaled while paused");
        var only = Assert.Single(ReplicaSetsOf(replicaSets, scaled));
        Assert.Equal("registry.example/web:1", only.Spec.Template.Spec!.Containers[0].Image);
        Assert.Equal(0, scaled.Status!.UpdatedReplicas);

        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Paused = false);
        var resumed = await deployments.WaitForAsync("web", d => RolledOut(d) && Is(d, "Progressing", "True", "NewReplicaSetAvailable"), "rolled out after resume");
        Assert.Equal(2, ReplicaSetsOf(replicaSets, resumed).Count);
        Assert.Equal("2", resumed.Metadata.Annotations![DeploymentUtil.RevisionAnnotation]);
    }

    [Fact]
    public async Task Reconcile_WhenNewPodsNeverBecomeReady_ReportsProgressDeadlineExceeded()
    {
        await using var cluster = await TestCluster.StartAsync();
        var node = await cluster.StartNodeAsync();
        var deployments = await cluster.TrackAsync<Deployment>();
        var deployment = TestCluster.NewDeployment("web", 1);
        deployment.Spec.ProgressDeadlineSeconds = 1;
        await cluster.CreateAsync(deployment);
        await deployments.WaitForAsync("web", RolledOut, "v1 rolled out");

        node.Runs = pod => pod.Spec.Containers[0].Image != "registry.example/web:broken";
        await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Template.Spec!.Containers[0].Image = "registry.example/web:broken");
        var stuck = await deployments.WaitForAsync("web", d => Is(d, "Progressing", "False", "ProgressDeadlineExceeded"), "deadline exceeded");

        Assert.Matches("^ReplicaSet \"web-[a-z0-9]+\" has timed out progressing.$", DeploymentUtil.Condition(stuck.Status, "Progressing")!.Message);
        Assert.True(Is(stuck, "Available", "True", "MinimumReplicasAvailable"));
        Assert.Equal(1, stuck.Status!.UnavailableReplicas);
    }
}
