using Verge.Core.Quantities;
using Verge.Scheduler.Snapshot;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Snapshot;

public sealed class ClusterSnapshotTests
{
    [Fact]
    public void Bind_BeforeItsNodeArrives_CountsOnceTheNodeIsAdded()
    {
        var snapshot = new ClusterSnapshot();
        snapshot.Bind(Pod("early", cpu: "2", node: "a"));
        snapshot.AddOrUpdateNode(Node("a", cpu: "2"));

        var plan = Scheduler.Schedule(snapshot, [Pod("p", cpu: "1")], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu.", Message(plan));
    }

    [Fact]
    public void Unbind_FreesTheResources()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2")], [Pod("old", cpu: "2", node: "a")]);

        Assert.True(snapshot.Unbind("default", "old"));

        Assert.Equal("a", NodeOf(Schedule(snapshot, Pod("p", cpu: "2")), "p"));
        Assert.False(snapshot.Unbind("default", "old"));
    }

    [Fact]
    public void Bind_FinishedPod_IsNotCounted()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "1")], []);
        var done = Pod("done", cpu: "1", node: "a");
        done.Status = new() { Phase = "Succeeded" };

        Assert.False(snapshot.Bind(done));
        Assert.Equal(0, snapshot.PodCount);
    }

    [Fact]
    public void RemoveNode_ThenReAdd_KeepsItsPods()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")], [Pod("x", cpu: "2", node: "a")]);

        Assert.True(snapshot.RemoveNode("a"));
        Assert.Equal(1, snapshot.NodeCount);
        snapshot.AddOrUpdateNode(Node("a", cpu: "2"));

        Assert.Equal("b", NodeOf(Schedule(snapshot, Pod("p", cpu: "2")), "p"));
        Assert.Equal("a", snapshot.NodeOf("default", "x"));
    }

    [Fact]
    public void UpdateNode_ChangingSiteLabel_MovesSpreadCounts()
    {
        var web = Build.Labels("app=web");
        var snapshot = ClusterSnapshot.From(
            [Node("n1", labels: Build.Labels("verge.dev/site=s1")), Node("n2", labels: Build.Labels("verge.dev/site=s2"))],
            [Pod("w1", node: "n1", labels: web)]);

        snapshot.AddOrUpdateNode(Node("n1", labels: Build.Labels("verge.dev/site=s2")));
        snapshot.AddOrUpdateNode(Node("n2", labels: Build.Labels("verge.dev/site=s1")));

        var pod = Pod("w2", labels: web).WithSpread(Spread(Conventions.SiteLabel, 1, "web"));
        Assert.Equal("n2", NodeOf(Schedule(snapshot, pod), "w2"));
    }

    [Fact]
    public void UpdateNode_NewReadiness_IsSeen()
    {
        var snapshot = ClusterSnapshot.From([Node("a", ready: "Unknown")], []);
        snapshot.AddOrUpdateNode(Node("a"));

        Assert.Equal("a", NodeOf(Schedule(snapshot, Pod("p")), "p"));
    }

    [Fact]
    public void PodRequests_MaxOfSumAndInitContainers_LimitsDefaultRequests()
    {
        var pod = Pod("p", cpu: "300m", memory: "1Gi");
        pod.Spec.Containers.Add(new() { Name = "side", Resources = new() { Limits = new() { ["cpu"] = Quantity.Parse("200m") } } });
        pod.Spec.InitContainers = [new() { Name = "init", Resources = new() { Requests = new() { ["memory"] = Quantity.Parse("2Gi"), ["cpu"] = Quantity.Parse("100m") } } }];

        var requests = PodInfo.PodRequests(pod.Spec);

        Assert.Equal(500, requests["cpu"]);
        Assert.Equal(2L * 1024 * 1024 * 1024, requests["memory"]);
    }

    [Fact]
    public void PodRequests_WithSidecars_AddThemToTheAppContainers_AndToEachLaterInitContainer()
    {
        static Verge.Core.Core.Container Init(string name, string memory, string? restartPolicy = null) =>
            new() { Name = name, RestartPolicy = restartPolicy, Resources = new() { Requests = new() { ["memory"] = Quantity.Parse(memory) } } };
        var pod = Pod("p", memory: "1Gi");
        pod.Spec.InitContainers = [Init("migrate", "512Mi"), Init("proxy", "256Mi", "Always"), Init("warm", "1Gi"), Init("log", "128Mi", "Always")];

        // Running: the app (1Gi) and both sidecars (384Mi) = 1408Mi, more than any init step (warm beside proxy: 1280Mi).
        Assert.Equal(1408L * 1024 * 1024, PodInfo.PodRequests(pod.Spec)["memory"]);

        // An init step beside the sidecars started before it may need more: warm (1536Mi) beside proxy (256Mi).
        pod.Spec.InitContainers[2] = Init("warm", "1536Mi");
        Assert.Equal(1792L * 1024 * 1024, PodInfo.PodRequests(pod.Spec)["memory"]);
        Assert.Equal(1792L * 1024 * 1024, PodInfo.Create(pod, new ResourceRegistry(), registerResources: true).NonZeroMemory);
    }

    [Fact]
    public void Priority_ResolvesSystemClassesWhenUnset()
    {
        var pod = Pod("p");
        pod.Spec.Priority = null;
        pod.Spec.PriorityClassName = "system-node-critical";

        Assert.Equal(Conventions.SystemNodeCritical, PodInfo.PriorityOf(pod));
    }
}
