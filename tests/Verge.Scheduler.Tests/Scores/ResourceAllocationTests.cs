using Verge.Scheduler.Scores;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Scores;

public sealed class ResourceAllocationTests
{
    [Theory]
    [InlineData(0, 1000, ScoringStrategy.LeastAllocated, 100)]
    [InlineData(250, 1000, ScoringStrategy.LeastAllocated, 75)]
    [InlineData(1500, 1000, ScoringStrategy.LeastAllocated, 0)]
    [InlineData(250, 1000, ScoringStrategy.MostAllocated, 25)]
    [InlineData(1500, 1000, ScoringStrategy.MostAllocated, 100)]
    [InlineData(10, 0, ScoringStrategy.MostAllocated, 0)]
    public void Score_MatchesKubeSchedulerFormulas(long requested, long allocatable, ScoringStrategy strategy, long expected)
    {
        Assert.Equal(expected, ResourceAllocation.Score(requested, allocatable, strategy));
    }

    private static ClusterSnapshot TwoNodes() => ClusterSnapshot.From(
        [Node("busy", cpu: "4", memory: "8Gi"), Node("idle", cpu: "4", memory: "8Gi")],
        [Pod("load", cpu: "3", memory: "6Gi", node: "busy")]);

    [Fact]
    public void LeastAllocated_PrefersTheEmptierNode()
    {
        var plan = Scheduler.Schedule(TwoNodes(), [Pod("p", cpu: "500m", memory: "1Gi")], new SchedulerOptions());

        Assert.Equal("idle", NodeOf(plan, "p"));
    }

    [Fact]
    public void MostAllocated_PacksOntoTheFullerNode()
    {
        var plan = Scheduler.Schedule(TwoNodes(), [Pod("p", cpu: "500m", memory: "1Gi")], new SchedulerOptions { Strategy = ScoringStrategy.MostAllocated });

        Assert.Equal("busy", NodeOf(plan, "p"));
    }

    [Fact]
    public void MostAllocated_BatchFillsOneNodeBeforeTheNext()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")], []);
        var pods = Enumerable.Range(0, 4).Select(i => Pod($"p{i}", cpu: "1", memory: "1Gi")).ToArray();

        var plan = Scheduler.Schedule(snapshot, pods, new SchedulerOptions { Strategy = ScoringStrategy.MostAllocated, Seed = 5 });

        Assert.Equal(plan.Bindings[0].NodeName, plan.Bindings[1].NodeName);
        Assert.Equal(plan.Bindings[2].NodeName, plan.Bindings[3].NodeName);
        Assert.NotEqual(plan.Bindings[0].NodeName, plan.Bindings[2].NodeName);
    }

    [Fact]
    public void ResourceWeights_CanMakeMemoryDecide()
    {
        var snapshot = ClusterSnapshot.From(
            [Node("cpu-free", cpu: "8", memory: "8Gi"), Node("mem-free", cpu: "8", memory: "8Gi")],
            [Pod("x", cpu: "100m", memory: "7Gi", node: "cpu-free"), Pod("y", cpu: "7", memory: "100Mi", node: "mem-free")]);
        var options = new SchedulerOptions { ResourceWeights = new Dictionary<string, int> { ["memory"] = 1 } };

        Assert.Equal("mem-free", NodeOf(Scheduler.Schedule(snapshot, [Pod("p", cpu: "500m", memory: "500Mi")], options), "p"));
    }
}
