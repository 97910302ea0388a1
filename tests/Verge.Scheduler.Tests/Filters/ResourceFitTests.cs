using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class ResourceFitTests
{
    [Fact]
    public void Schedule_WhenNodeLacksMemory_ReportsInsufficientMemory()
    {
        var snapshot = ClusterSnapshot.From([Node("a", memory: "1Gi")], []);

        var plan = Schedule(snapshot, Pod("p", memory: "2Gi"));

        Assert.Equal("0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.", Message(plan));
    }

    [Fact]
    public void Schedule_WhenBothCpuAndMemoryShort_CountsEachReason()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "1", memory: "1Gi"), Node("b", cpu: "8", memory: "1Gi")], []);

        var plan = Scheduler.Schedule(snapshot, [Pod("p", cpu: "2", memory: "2Gi")], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.", Message(plan));
    }

    [Fact]
    public void Schedule_CountsBoundPodsAgainstAllocatable()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")], [Pod("old", cpu: "1500m", node: "a")]);

        var plan = Schedule(snapshot, Pod("p", cpu: "1"));

        Assert.Equal("b", NodeOf(plan, "p"));
    }

    [Fact]
    public void Schedule_WhenExtendedResourceMissing_ReportsItByName()
    {
        var snapshot = ClusterSnapshot.From([Node("a"), Node("b", extra: new() { ["verge.dev/gpu"] = "1" })], []);

        var plan = Scheduler.Schedule(snapshot, [Pod("p", extra: new() { ["verge.dev/gpu"] = "1" }), Pod("q", extra: new() { ["verge.dev/gpu"] = "1" })],
            new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("b", NodeOf(plan, "p"));
        Assert.Equal("0/2 nodes are available: 2 Insufficient verge.dev/gpu.", Message(plan));
    }

    [Fact]
    public void Schedule_WhenNoNodeKnowsTheResource_ReportsInsufficient()
    {
        var snapshot = ClusterSnapshot.From([Node("a")], []);

        var plan = Scheduler.Schedule(snapshot, [Pod("p", extra: new() { ["verge.dev/camera"] = "1" })], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 Insufficient verge.dev/camera.", Message(plan));
    }

    [Fact]
    public void Schedule_WhenPodCountIsReached_ReportsTooManyPods()
    {
        var snapshot = ClusterSnapshot.From([Node("a", pods: 1)], [Pod("old", node: "a")]);

        var plan = Scheduler.Schedule(snapshot, [Pod("p")], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 Too many pods.", Message(plan));
    }

    [Fact]
    public void Schedule_PodWithoutRequests_FitsAFullNode()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "1")], [Pod("old", cpu: "1", node: "a")]);

        var plan = Schedule(snapshot, Pod("p"));

        Assert.Equal("a", NodeOf(plan, "p"));
    }

    [Fact]
    public void Schedule_InitContainerLargerThanSum_SetsTheRequest()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2")], []);
        var pod = Pod("p", cpu: "500m");
        pod.Spec.InitContainers = [new() { Name = "init", Resources = new() { Requests = new() { ["cpu"] = Verge.Core.Quantities.Quantity.Parse("3") } } }];

        var plan = Scheduler.Schedule(snapshot, [pod], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu.", Message(plan));
    }
}
