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
    public void Schedule_APodBeingDeleted_DoesNotCountTowardsTheSpread_ButKeepsItsRoom()
    {
        // w1 and w1b are going: site s1 counts as empty, as in kube-scheduler (counted, it would have 2 to s2's 1 and
        // only n2 would do), though they still hold their cpu there.
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", cpu: "2", labels: Labels("verge.dev/site=s1")),
            Node("n2", labels: Labels("verge.dev/site=s2")),
        ],
        [
            Pod("w1", cpu: "1", node: "n1", labels: Labels("app=web")).Terminating(),
            Pod("w1b", cpu: "1", node: "n1", labels: Labels("app=web")).Terminating(),
            Web("w2", "n2"),
        ]);

        Assert.Equal("n1", NodeOf(Schedule(snapshot, Web("w3")), "w3"));
        var big = Pod("big", cpu: "2", labels: Labels("app=web")).WithSpread(Spread(Conventions.SiteLabel, 1, "web"));
        Assert.StartsWith("0/2 nodes are available: 1 Insufficient cpu", Message(Schedule(snapshot, big)), StringComparison.Ordinal);
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

    private static ClusterSnapshot TaintedThirdSite(params Verge.Core.Core.Pod[] bound) => ClusterSnapshot.From(
    [
        Node("n1", labels: Labels("verge.dev/site=s1")),
        Node("n2", labels: Labels("verge.dev/site=s2")),
        Node("n3", labels: Labels("verge.dev/site=s3"), taints: [Taint("dedicated", "gpu", "NoSchedule")]),
    ], bound);

    private static Verge.Core.Core.Pod WebWith(string name, string? taints, string? affinity = null)
    {
        var pod = Web(name);
        pod.Spec.TopologySpreadConstraints![0].NodeTaintsPolicy = taints;
        pod.Spec.TopologySpreadConstraints![0].NodeAffinityPolicy = affinity;
        return pod;
    }

    [Fact]
    public void Schedule_NodeTaintsPolicyIgnore_CountsATaintedSitesZero_AndBlocks()
    {
        // The default: s3's node is tainted, yet its domain counts with 0 pods, so s1 and s2 are over the skew.
        var snapshot = TaintedThirdSite(Web("w1", "n1"), Web("w2", "n2"));

        var plan = Scheduler.Schedule(snapshot, [WebWith("w3", taints: null)], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match pod topology spread constraints.", Message(plan));
        Assert.Single(Scheduler.Schedule(snapshot, [WebWith("w3", taints: "Ignore")], new SchedulerOptions { EnablePreemption = false }).Failures);
    }

    [Fact]
    public void Schedule_NodeTaintsPolicyHonor_LeavesOutTheDomainsOfNodesThePodDoesNotTolerate()
    {
        var snapshot = TaintedThirdSite(Web("w1", "n1"), Web("w2", "n2"));

        var plan = Schedule(snapshot, WebWith("w3", taints: "Honor"));

        Assert.Contains(NodeOf(plan, "w3"), new[] { "n1", "n2" });
    }

    [Fact]
    public void Schedule_NodeTaintsPolicyHonor_CountsATaintedNodeThePodTolerates()
    {
        var snapshot = TaintedThirdSite(Web("w1", "n1"), Web("w2", "n2"));
        var pod = WebWith("w3", taints: "Honor").WithTolerations(new Verge.Core.Core.Toleration { Key = "dedicated", Operator = "Exists" });

        Assert.Equal("n3", NodeOf(Schedule(snapshot, pod), "w3"));
    }

    [Fact]
    public void Schedule_NodeTaintsPolicyHonor_TreatsACordonedNodeAsTaintedUnschedulable()
    {
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", labels: Labels("verge.dev/site=s1")),
            Node("n2", labels: Labels("verge.dev/site=s2")),
            Node("n3", labels: Labels("verge.dev/site=s3"), unschedulable: true),
        ], [Web("w1", "n1"), Web("w2", "n2")]);

        Assert.Single(Scheduler.Schedule(snapshot, [WebWith("w3", taints: null)], new SchedulerOptions { EnablePreemption = false }).Failures);
        Assert.Contains(NodeOf(Schedule(snapshot, WebWith("w3", taints: "Honor")), "w3"), new[] { "n1", "n2" });
    }

    [Fact]
    public void Schedule_NodeTaintsPolicyHonor_DoesNotCountPodsOnUntoleratedNodesOfADomain()
    {
        // Zone a: a1 is tainted and holds two web pods, a2 is clean and empty; zone b: one web pod.
        // Ignore counts a=2, b=1, so only b fits; Honor counts a=0, b=1, so only a2 fits.
        var snapshot = ClusterSnapshot.From(
        [
            Node("a1", labels: Labels("topology.kubernetes.io/zone=a"), taints: [Taint("dedicated", "gpu", "NoExecute")]),
            Node("a2", labels: Labels("topology.kubernetes.io/zone=a")),
            Node("b1", labels: Labels("topology.kubernetes.io/zone=b")),
        ],
        [
            Pod("x1", node: "a1", labels: Labels("app=web")),
            Pod("x2", node: "a1", labels: Labels("app=web")),
            Pod("x3", node: "b1", labels: Labels("app=web")),
        ]);
        Verge.Core.Core.Pod Zoned(string name, string? taints)
        {
            var pod = Pod(name, labels: Labels("app=web")).WithSpread(Spread(Conventions.ZoneLabel, 1, "web"));
            pod.Spec.TopologySpreadConstraints![0].NodeTaintsPolicy = taints;
            return pod;
        }

        Assert.Equal("b1", NodeOf(Schedule(snapshot, Zoned("ignore", null)), "ignore"));
        Assert.Equal("a2", NodeOf(Schedule(snapshot, Zoned("honor", "Honor")), "honor"));
    }

    [Fact]
    public void Schedule_NodeAffinityPolicyIgnore_CountsDomainsOutsideTheNodeSelector()
    {
        // With Honor only s1 counts and the pod fits there; with Ignore s3 counts with 0 pods and s1 is over the skew.
        var snapshot = Sites(Web("w1", "n1"), Web("w2", "n2"));
        var honor = WebWith("honor", taints: null, affinity: "Honor");
        honor.Spec.NodeSelector = Labels("verge.dev/site=s1");
        var ignore = WebWith("ignore", taints: null, affinity: "Ignore");
        ignore.Spec.NodeSelector = Labels("verge.dev/site=s1");

        Assert.Equal("n1", NodeOf(Schedule(snapshot, honor), "honor"));
        var plan = Scheduler.Schedule(snapshot, [ignore], new SchedulerOptions { EnablePreemption = false });
        Assert.Equal("0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 2 node(s) didn't match Pod's node affinity/selector.", Message(plan));
    }

    [Fact]
    public void Schedule_NodeAffinityPolicyIgnore_CountsNodesOutsideTheRuntimeClass()
    {
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", labels: Labels("verge.dev/site=s1"), annotations: new() { [Conventions.RuntimeClassesAnnotation] = "process" }),
            Node("n2", labels: Labels("verge.dev/site=s2")),
        ], [Web("w1", "n1")]);

        Assert.Equal("n1", NodeOf(Schedule(snapshot, Web("honor").WithRuntimeClass("process")), "honor"));
        Assert.Single(Scheduler.Schedule(snapshot, [WebWith("ignore", taints: null, affinity: "Ignore").WithRuntimeClass("process")], new SchedulerOptions { EnablePreemption = false }).Failures);
    }

    private static Verge.Core.Core.Pod Revision(string name, string hash, string? node = null, bool matchLabelKeys = true)
    {
        var pod = Pod(name, node: node, labels: Labels("app=web", $"pod-template-hash={hash}")).WithSpread(Spread(Conventions.SiteLabel, 1, "web"));
        pod.Spec.TopologySpreadConstraints![0].MatchLabelKeys = matchLabelKeys ? ["pod-template-hash"] : null;
        return pod;
    }

    [Fact]
    public void Schedule_MatchLabelKeys_SpreadsANewRevisionOnItsOwn()
    {
        // The old revision sits all in s1. With pod-template-hash in matchLabelKeys the new revision counts only
        // itself and puts one pod in each site; without, s1 looks full and gets none of them.
        var old = new[] { Revision("old1", "v1", "n1"), Revision("old2", "v1", "n1"), Revision("old3", "v1", "n1") };

        var separate = Schedule(Sites(old), Revision("new1", "v2"), Revision("new2", "v2"), Revision("new3", "v2"));
        var together = Schedule(Sites(old),
            Revision("new1", "v2", matchLabelKeys: false), Revision("new2", "v2", matchLabelKeys: false), Revision("new3", "v2", matchLabelKeys: false));

        Assert.Equal(["n1", "n2", "n3"], separate.Bindings.Select(b => b.NodeName).Order());
        Assert.DoesNotContain("n1", together.Bindings.Select(b => b.NodeName));
    }

    [Fact]
    public void Schedule_MatchLabelKeys_ThePodLacks_AreSkipped()
    {
        var old = new[] { Revision("old1", "v1", "n1"), Revision("old2", "v1", "n1") };
        var pod = Web("w");
        pod.Spec.TopologySpreadConstraints![0].MatchLabelKeys = ["pod-template-hash"];

        var plan = Schedule(Sites(old), pod);

        Assert.NotEqual("n1", NodeOf(plan, "w"));
    }

    [Fact]
    public void Schedule_ScheduleAnyway_WithNodeTaintsPolicyHonor_ScoresWithoutPodsOnUntoleratedNodes()
    {
        var snapshot = ClusterSnapshot.From(
        [
            Node("a1", labels: Labels("topology.kubernetes.io/zone=a"), taints: [Taint("dedicated", "gpu", "NoSchedule")]),
            Node("a2", labels: Labels("topology.kubernetes.io/zone=a")),
            Node("b1", labels: Labels("topology.kubernetes.io/zone=b")),
        ],
        [
            Pod("x1", node: "a1", labels: Labels("app=web")),
            Pod("x2", node: "a1", labels: Labels("app=web")),
            Pod("x3", node: "a1", labels: Labels("app=web")),
            Pod("x4", node: "b1", labels: Labels("app=web")),
        ]);
        Verge.Core.Core.Pod Soft(string name, string? taints)
        {
            var pod = Pod(name, labels: Labels("app=web")).WithSpread(Spread(Conventions.ZoneLabel, 1, "web", hard: false));
            pod.Spec.TopologySpreadConstraints![0].NodeTaintsPolicy = taints;
            return pod;
        }

        Assert.Equal("b1", NodeOf(Schedule(snapshot, Soft("ignore", null)), "ignore"));
        Assert.Equal("a2", NodeOf(Schedule(snapshot, Soft("honor", "Honor")), "honor"));
    }

    [Fact]
    public void Schedule_TwoPodsWithOneSelector_SpreadingOnDifferentKeys_EachCountTheNodesOfTheirOwnKey()
    {
        // "zoned" spreads on the zone, which n2 lacks; "sited" then spreads on the site with the same node selector,
        // and n2 must still count for it: s1 holds a web pod and s2 none, so only n2 keeps the skew.
        var snapshot = ClusterSnapshot.From(
        [
            Node("n1", cpu: "64", labels: Labels("verge.dev/site=s1", "topology.kubernetes.io/zone=a", "tier=x")),
            Node("n2", cpu: "1", labels: Labels("verge.dev/site=s2", "tier=x")),
        ], [Pod("w1", node: "n1", labels: Labels("app=web"))]);
        var zoned = Pod("zoned", labels: Labels("app=api")).WithSpread(Spread(Conventions.ZoneLabel, 1, "api"));
        zoned.Spec.NodeSelector = Labels("tier=x");
        var sited = Pod("sited", labels: Labels("app=web")).WithSpread(Spread(Conventions.SiteLabel, 1, "web"));
        sited.Spec.NodeSelector = Labels("tier=x");

        Assert.Equal("n2", NodeOf(Schedule(snapshot, zoned, sited), "sited"));
    }
}
