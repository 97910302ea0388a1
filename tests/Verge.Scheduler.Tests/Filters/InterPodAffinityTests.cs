using Verge.Core.Core;
using Verge.Core.Selectors;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class InterPodAffinityTests
{
    internal static Node Host(string name, string site) => Node(name, labels: Labels($"kubernetes.io/hostname={name}", $"verge.dev/site={site}"));

    internal static Pod WithAnti(Pod pod, string app, string topologyKey)
    {
        pod.Spec.Affinity ??= new Affinity();
        pod.Spec.Affinity.PodAntiAffinity = new PodAffinity
        {
            RequiredDuringSchedulingIgnoredDuringExecution =
                [new PodAffinityTerm { LabelSelector = new LabelSelector { MatchLabels = new() { ["app"] = app } }, TopologyKey = topologyKey }],
        };
        return pod;
    }

    private static Pod WithAffinity(Pod pod, string app, string topologyKey)
    {
        pod.Spec.Affinity ??= new Affinity();
        pod.Spec.Affinity.PodAffinity = new PodAffinity
        {
            RequiredDuringSchedulingIgnoredDuringExecution =
                [new PodAffinityTerm { LabelSelector = new LabelSelector { MatchLabels = new() { ["app"] = app } }, TopologyKey = topologyKey }],
        };
        return pod;
    }

    [Fact]
    public void Schedule_WithAntiAffinityOnHostname_PutsReplicasOnDifferentNodesAndReportsTheRest()
    {
        var snapshot = ClusterSnapshot.From([Host("a", "s1"), Host("b", "s1")], []);
        var pods = Enumerable.Range(0, 3).Select(i => WithAnti(Pod($"web-{i}", labels: Labels("app=web")), "web", "kubernetes.io/hostname")).ToArray();

        var plan = Schedule(snapshot, pods);

        Assert.Equal(["a", "b"], plan.Bindings.Select(b => b.NodeName).Order(StringComparer.Ordinal));
        Assert.Equal(
            "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
            Message(plan));
    }

    [Fact]
    public void Schedule_WithAntiAffinityOnSite_KeepsOutOfSitesHoldingAMatchingPod()
    {
        var bound = Pod("db-0", labels: Labels("app=db"), node: "a1");
        var snapshot = ClusterSnapshot.From([Host("a1", "s1"), Host("a2", "s1"), Host("b1", "s2")], [bound]);

        var plan = Schedule(snapshot, WithAnti(Pod("db-1", labels: Labels("app=db")), "db", "verge.dev/site"));

        Assert.Equal("b1", NodeOf(plan, "db-1"));
    }

    [Fact]
    public void Schedule_WhenAPlacedPodsAntiAffinityMatchesTheNewPod_KeepsOutOfItsDomain()
    {
        var loner = WithAnti(Pod("loner", labels: Labels("app=loner"), node: "a1"), "noisy", "verge.dev/site");
        var snapshot = ClusterSnapshot.From([Host("a1", "s1"), Host("a2", "s1"), Host("b1", "s2")], [loner]);

        var plan = Schedule(snapshot, Pod("noisy-0", labels: Labels("app=noisy")), Pod("noisy-1", labels: Labels("app=noisy")));

        Assert.All(plan.Bindings, b => Assert.Equal("b1", b.NodeName));
    }

    [Fact]
    public void Schedule_WithAffinity_JoinsTheDomainOfAMatchingPodOrAnyForTheFirstOfAGroup()
    {
        var cache = Pod("cache-0", labels: Labels("app=cache"), node: "b1");
        var snapshot = ClusterSnapshot.From([Host("a1", "s1"), Host("b1", "s2"), Host("b2", "s2")], [cache]);

        var plan = Schedule(snapshot,
            WithAffinity(Pod("web-0", labels: Labels("app=web")), "cache", "verge.dev/site"),
            WithAffinity(Pod("web-1", labels: Labels("app=web")), "cache", "verge.dev/site"),
            WithAffinity(Pod("self-0", labels: Labels("app=self")), "self", "verge.dev/site"),
            WithAffinity(Pod("orphan", labels: Labels("app=orphan")), "nobody", "verge.dev/site"));

        Assert.StartsWith("b", NodeOf(plan, "web-0"), StringComparison.Ordinal);
        Assert.StartsWith("b", NodeOf(plan, "web-1"), StringComparison.Ordinal);
        Assert.Contains(plan.Bindings, b => b.Pod.Metadata.Name == "self-0");
        Assert.Equal(
            "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            Message(plan));
    }

    [Fact]
    public void Schedule_WithAntiAffinityInOtherNamespaces_IgnoresPodsOutsideThem()
    {
        var other = Pod("web-x", labels: Labels("app=web"), node: "a", ns: "team-b");
        var snapshot = ClusterSnapshot.From([Host("a", "s1")], [other]);

        var plan = Schedule(snapshot, WithAnti(Pod("web-0", labels: Labels("app=web")), "web", "kubernetes.io/hostname"));

        Assert.Equal("a", NodeOf(plan, "web-0"));
    }
}
