using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class TopologySpreadTests
{
    private static ClusterSnapshot Sites(params Verge.Core.Core.Pod[] bound) => ClusterSnapshot.From(
    [
        Node("n1", labels: Labels("verge.dev/site=s1")),
        Node("n2", labels: Labels("verge.dev/site=s2")),
        Node("n3", labels: Labels("verge.dev/site=s3")),
    ], bound);

    private static Verge.Core.Core.Pod Web(string name, string? node = null, bool hard = true) =>
        Pod(name, node: node, labels: Labels("app=web")).WithSpread(Spread(Conventions.SiteLabel, 1, "web", hard));

    [Fact]
    public void Schedule_DoNotSchedule_PlacesOnEmptiestSite()
    {
        var snapshot = Sites(Web("w1", "n1"), Web("w2", "n2"));

        Assert.Equal("n3", NodeOf(Schedule(snapshot, Web("w3")), "w3"));
    }

    [Fact]
    public void Schedule_Batch_SpreadsAcrossSitesEvenly()
    {
        var plan = Schedule(Sites(), Web("a"), Web("b"), Web("c"), Web("d"), Web("e"), Web("f"));

        Assert.All(plan.Bindings.GroupBy(b => b.NodeName), g => Assert.Equal(2, g.Count()));
    }

    [Fact]
    public void Schedule_WhenSkewWouldBreak_ReportsSpreadReason()
    {
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", labels: Labels("verge.dev/site=s1")),
            Node("n2", memory: "1Gi", labels: Labels("verge.dev/site=s2")),
            Node("n3", memory: "1Gi", labels: Labels("verge.dev/site=s3")),
        ], [Web("w1", "n1")]);
        var pod = Pod("w2", memory: "2Gi", labels: Labels("app=web")).WithSpread(Spread(Conventions.SiteLabel, 1, "web"));

        var plan = Scheduler.Schedule(snapshot, [pod], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 2 Insufficient memory.", Message(plan));
    }

    [Fact]
    public void Schedule_WhenANodeFailsBothResourcesAndSpread_ReportsItAsKubeSchedulerDoes_UnderResources()
    {
        // The walk asks the spread first, but the reasons come in kube-scheduler's filter order: resources, then spread.
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", memory: "1Gi", labels: Labels("verge.dev/site=s1")),
            Node("n2", memory: "1Gi", labels: Labels("verge.dev/site=s2")),
        ], [Web("w1", "n1"), Web("w2", "n1")]);
        var pod = Pod("w3", memory: "2Gi", labels: Labels("app=web")).WithSpread(Spread(Conventions.SiteLabel, 1, "web"));

        var plan = Scheduler.Schedule(snapshot, [pod], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/2 nodes are available: 2 Insufficient memory.", Message(plan));
    }

    [Fact]
    public void Schedule_NodeSelectorLimitsDomainsToItsOwn()
    {
        // Only s1 is eligible for this pod, so s1 alone sets the minimum and the pod fits there.
        var snapshot = Sites(Web("w1", "n1"), Web("w2", "n2"));
        var pod = Web("w3");
        pod.Spec.NodeSelector = Labels("verge.dev/site=s1");

        Assert.Equal("n1", NodeOf(Schedule(snapshot, pod), "w3"));
    }

    [Fact]
    public void Schedule_WhenNodeLacksTopologyKey_ReportsMissingLabel()
    {
        var snapshot = ClusterSnapshot.From([Node("bare")], []);

        var plan = Scheduler.Schedule(snapshot, [Web("w")], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label).", Message(plan));
    }

    [Fact]
    public void Schedule_SpreadOnZone_CountsByZoneLabel()
    {
        var snapshot = ClusterSnapshot.From(
        [
            Node("a1", labels: Labels("topology.kubernetes.io/zone=a")),
            Node("a2", labels: Labels("topology.kubernetes.io/zone=a")),
            Node("b1", labels: Labels("topology.kubernetes.io/zone=b")),
        ], [Pod("x", node: "a1", labels: Labels("app=db"))]);
        var pod = Pod("y", labels: Labels("app=db")).WithSpread(Spread(Conventions.ZoneLabel, 1, "db"));

        Assert.Equal("b1", NodeOf(Schedule(snapshot, pod), "y"));
    }

    [Fact]
    public void Schedule_OtherNamespacesAndLabels_AreNotCounted()
    {
        var snapshot = Sites(
            Pod("o1", node: "n3", labels: Labels("app=web"), ns: "other"),
            Pod("o2", node: "n3", labels: Labels("app=api")),
            Web("w1", "n1"),
            Web("w2", "n2"));

        Assert.Equal("n3", NodeOf(Schedule(snapshot, Web("w3")), "w3"));
    }

    [Fact]
    public void Schedule_ScheduleAnyway_PrefersEmptierSiteButNeverBlocks()
    {
        var snapshot = Sites(Web("w1", "n1", hard: false), Web("w2", "n1", hard: false), Web("w3", "n2", hard: false));

        Assert.Equal("n3", NodeOf(Schedule(snapshot, Web("w4", hard: false)), "w4"));

        var pinned = Web("w5", hard: false);
        pinned.Spec.NodeSelector = Labels("verge.dev/site=s1");
        Assert.Equal("n1", NodeOf(Schedule(snapshot, pinned), "w5"));
    }

    [Fact]
    public void Schedule_MinDomains_TreatsMissingDomainsAsZero()
    {
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", labels: Labels("verge.dev/site=s1")),
            Node("n2", labels: Labels("verge.dev/site=s2")),
        ], [Web("w1", "n1"), Web("w2", "n2")]);
        var pod = Web("w3");
        pod.Spec.TopologySpreadConstraints![0].MinDomains = 3;

        var plan = Scheduler.Schedule(snapshot, [pod], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints.", Message(plan));
    }

    [Fact]
    public void Schedule_NodeAffinityNarrowsTheDomainsCounted()
    {
        // s3 holds two web pods but the pod may only use s1 and s2, so s3 does not set the minimum.
        var snapshot = Sites(Web("w1", "n3"), Web("w2", "n3"), Web("w3", "n1"));
        var pod = Web("w4").WithRequiredAffinity(new Verge.Core.Core.NodeSelectorTerm { MatchExpressions = [Req("verge.dev/site", "In", "s1", "s2")] });

        Assert.Equal("n2", NodeOf(Schedule(snapshot, pod), "w4"));
    }
}
