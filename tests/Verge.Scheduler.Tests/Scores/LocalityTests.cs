using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Scores;

public sealed class LocalityTests
{
    private static ClusterSnapshot Fleet() => ClusterSnapshot.From(
    [
        Node("n1", labels: Labels("verge.dev/site=plant-a")),
        Node("n2", labels: Labels("verge.dev/site=plant-b"), annotations: new() { ["verge.dev/devices"] = "cam-1, cam-2" }),
        Node("n3", labels: Labels("verge.dev/site=plant-b"), annotations: new() { ["verge.dev/devices"] = "cam-2,plc-9" }),
    ], []);

    [Fact]
    public void SiteAnnotation_PrefersNodesOfThatSite()
    {
        var pod = Pod("p", annotations: new() { ["verge.dev/site"] = "plant-a" });

        Assert.Equal("n1", NodeOf(Schedule(Fleet(), pod), "p"));
    }

    [Fact]
    public void DevicesAnnotation_PrefersNodesReachingMoreOfThem()
    {
        var pod = Pod("p", annotations: new() { ["verge.dev/devices"] = "cam-1,cam-2" });

        Assert.Equal("n2", NodeOf(Schedule(Fleet(), pod), "p"));
    }

    [Fact]
    public void Locality_NeverOverridesAFilter()
    {
        var snapshot = ClusterSnapshot.From(
            [Node("near", memory: "1Gi", labels: Labels("verge.dev/site=s")), Node("far", labels: Labels("verge.dev/site=t"))], []);
        var pod = Pod("p", memory: "2Gi", annotations: new() { ["verge.dev/site"] = "s" });

        Assert.Equal("far", NodeOf(Schedule(snapshot, pod), "p"));
    }

    [Fact]
    public void LocalityWeightZero_TurnsItOff()
    {
        var snapshot = ClusterSnapshot.From(
            [Node("near", labels: Labels("verge.dev/site=s")), Node("far", labels: Labels("verge.dev/site=t"))],
            [Pod("load", cpu: "3", node: "near")]);
        var pod = Pod("p", cpu: "100m", annotations: new() { ["verge.dev/site"] = "s" });

        Assert.Equal("near", NodeOf(Scheduler.Schedule(snapshot, [pod], new SchedulerOptions()), "p"));
        Assert.Equal("far", NodeOf(Scheduler.Schedule(snapshot, [pod], new SchedulerOptions { LocalityWeight = 0 }), "p"));
    }
}
