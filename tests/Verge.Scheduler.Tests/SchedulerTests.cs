using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests;

public sealed class SchedulerTests
{
    [Fact]
    public void Schedule_WithNoNodes_SaysSo()
    {
        Assert.Equal("no nodes available to schedule pods", Message(Schedule(new ClusterSnapshot(), Pod("p"))));
    }

    [Fact]
    public void Schedule_BatchNeverOvercommits()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")], []);
        var pods = Enumerable.Range(0, 5).Select(i => Pod($"p{i}", cpu: "1")).ToArray();

        var plan = Scheduler.Schedule(snapshot, pods, new SchedulerOptions { EnablePreemption = false });

        Assert.Equal(4, plan.Bindings.Count);
        Assert.All(plan.Bindings.GroupBy(b => b.NodeName), g => Assert.Equal(2, g.Count()));
        Assert.Equal("0/2 nodes are available: 2 Insufficient cpu.", Message(plan));
    }

    [Fact]
    public void Schedule_DoesNotChangeTheSnapshot()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "1")], []);

        Schedule(snapshot, Pod("p", cpu: "1"));
        var again = Schedule(snapshot, Pod("q", cpu: "1"));

        Assert.Equal("a", NodeOf(again, "q"));
        Assert.Equal(0, snapshot.PodCount);
    }

    [Fact]
    public void Schedule_HigherPriorityGoesFirst()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "1")], []);

        var plan = Scheduler.Schedule(snapshot, [Pod("low", cpu: "1", priority: 1), Pod("high", cpu: "1", priority: 100)],
            new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("high", Assert.Single(plan.Bindings).Pod.Metadata.Name);
        Assert.Equal("low", Assert.Single(plan.Failures).Pod.Metadata.Name);
    }

    [Fact]
    public void Schedule_SkipsBoundAndDuplicatePods()
    {
        var snapshot = ClusterSnapshot.From([Node("a")], [Pod("bound", node: "a")]);

        var plan = Schedule(snapshot, Pod("bound"), Pod("named", node: "a"), Pod("p"), Pod("p"));

        Assert.Equal(3, plan.Skipped);
        Assert.Single(plan.Bindings);
    }

    [Fact]
    public void Schedule_SameSeed_SamePlan_DifferentSeedsVary()
    {
        var nodes = Enumerable.Range(0, 50).Select(i => Node($"n{i:D2}")).ToList();
        var pods = Enumerable.Range(0, 20).Select(i => Pod($"p{i}", cpu: "100m")).ToArray();
        string Run(int seed) => string.Join(',', Scheduler.Schedule(ClusterSnapshot.From(nodes, []), pods, new SchedulerOptions { Seed = seed }).Bindings.Select(b => b.NodeName));

        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
    }

    [Theory]
    [InlineData(50, 50)]
    [InlineData(100, 100)]
    [InlineData(1000, 420)]
    [InlineData(5000, 500)]
    [InlineData(10000, 500)]
    [InlineData(100000, 5000)]
    public void FeasibleNodesToFind_FollowsKubeSchedulerAdaptivePercentage(int nodes, int expected)
    {
        Assert.Equal(expected, new SchedulerOptions().FeasibleNodesToFind(nodes));
    }

    [Fact]
    public void FeasibleNodesToFind_HonoursExplicitPercentage()
    {
        Assert.Equal(3000, new SchedulerOptions { PercentageOfNodesToScore = 30 }.FeasibleNodesToFind(10000));
        Assert.Equal(100, new SchedulerOptions { PercentageOfNodesToScore = 1 }.FeasibleNodesToFind(1000));
    }

    [Fact]
    public void Options_RejectNegativeWeights()
    {
        Assert.Throws<ArgumentException>(() => Scheduler.Schedule(new ClusterSnapshot(), [], new SchedulerOptions { LocalityWeight = -1 }));
        Assert.Throws<ArgumentException>(() => Scheduler.Schedule(new ClusterSnapshot(), [], new SchedulerOptions { PercentageOfNodesToScore = 101 }));
    }

    [Fact]
    public void Sampling_StillFindsTheOnlyFeasibleNode()
    {
        var nodes = Enumerable.Range(0, 400).Select(i => Node($"n{i:D3}", cpu: i == 321 ? "8" : "1")).ToList();

        var plan = Schedule(ClusterSnapshot.From(nodes, []), Pod("p", cpu: "4"));

        Assert.Equal("n321", NodeOf(plan, "p"));
    }
}
