using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class RuntimeClassFilterTests
{
    private static Dictionary<string, string> Runs(string classes) => new() { ["verge.dev/runtime-classes"] = classes };

    [Fact]
    public void Schedule_PodWithRuntimeClass_LandsOnlyOnNodesListingIt()
    {
        var snapshot = ClusterSnapshot.From(
            [Node("container-only", annotations: Runs("runc")), Node("plain"), Node("both", annotations: Runs("runc, process"))], []);

        var plan = Schedule(snapshot, Pod("p1").WithRuntimeClass("process"), Pod("p2").WithRuntimeClass("process"));

        Assert.Equal("both", NodeOf(plan, "p1"));
        Assert.Equal("both", NodeOf(plan, "p2"));
    }

    [Fact]
    public void Schedule_PodWithoutRuntimeClass_FitsAnyNode()
    {
        var snapshot = ClusterSnapshot.From([Node("plain"), Node("runs-runc", annotations: Runs("runc"))], []);

        var plan = Schedule(snapshot, Pod("a"), Pod("b"), Pod("c"), Pod("d"));

        Assert.Empty(plan.Failures);
        Assert.Equal(["plain", "runs-runc"], plan.Bindings.Select(b => b.NodeName).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Schedule_WhenNoNodeSupportsTheRuntimeClass_ReportsItInKubernetesWords()
    {
        var snapshot = ClusterSnapshot.From([Node("a", annotations: Runs("runc")), Node("b")], []);

        var plan = Schedule(snapshot, Pod("p").WithRuntimeClass("process"));

        Assert.Equal(
            "0/2 nodes are available: 2 node(s) didn't support runtime class \"process\". preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
            Message(plan));
    }

    [Fact]
    public void Schedule_WithSpread_CountsOnlyDomainsWhoseNodesSupportTheRuntimeClass()
    {
        // Site b runs no processes: as with Kubernetes' RuntimeClass node selector, it is not a domain of this spread.
        var snapshot = ClusterSnapshot.From(
        [
            Node("a1", labels: Labels("verge.dev/site=a"), annotations: Runs("process")),
            Node("a2", labels: Labels("verge.dev/site=a"), annotations: Runs("process")),
            Node("b1", labels: Labels("verge.dev/site=b"), annotations: Runs("runc")),
        ], []);
        var pods = Enumerable.Range(0, 2)
            .Select(i => Pod($"p{i}", labels: Labels("app=agent")).WithRuntimeClass("process").WithSpread(Spread("verge.dev/site", 1, "agent")))
            .ToArray();

        var plan = Schedule(snapshot, pods);

        Assert.Empty(plan.Failures);
        Assert.All(plan.Bindings, b => Assert.StartsWith("a", b.NodeName, StringComparison.Ordinal));
    }
}
