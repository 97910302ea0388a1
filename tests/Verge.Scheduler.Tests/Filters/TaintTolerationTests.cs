using Verge.Core.Core;
using Verge.Scheduler.Filters;
using Verge.Scheduler.Snapshot;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class TaintTolerationTests
{
    private static readonly TaintInfo Dedicated = new("dedicated", "gpu", "NoSchedule");

    [Theory]
    [InlineData("dedicated", "Equal", "gpu", "NoSchedule", true)]
    [InlineData("dedicated", null, "gpu", null, true)]
    [InlineData("dedicated", "Equal", "cpu", "NoSchedule", false)]
    [InlineData("dedicated", "Exists", null, null, true)]
    [InlineData(null, "Exists", null, null, true)]
    [InlineData("dedicated", "Exists", null, "NoExecute", false)]
    [InlineData("other", "Exists", null, null, false)]
    [InlineData("dedicated", "Bogus", "gpu", null, false)]
    public void Tolerates_FollowsKubernetesMatching(string? key, string? op, string? value, string? effect, bool expected)
    {
        var toleration = new Toleration { Key = key, Operator = op, Value = value, Effect = effect };

        Assert.Equal(expected, TaintToleration.Tolerates(toleration, Dedicated));
    }

    [Fact]
    public void Schedule_WhenTaintIsUntolerated_NamesTheTaint()
    {
        var snapshot = ClusterSnapshot.From([Node("a", taints: [Taint("dedicated", "gpu", "NoSchedule")])], []);

        var plan = Schedule(snapshot, Pod("p"));

        Assert.Equal("0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", Message(plan));
    }

    [Fact]
    public void Schedule_WhenTaintIsTolerated_Places()
    {
        var snapshot = ClusterSnapshot.From([Node("a", taints: [Taint("dedicated", "gpu", "NoExecute")])], []);
        var pod = Pod("p").WithTolerations(new Toleration { Key = "dedicated", Operator = "Equal", Value = "gpu", Effect = "NoExecute" });

        Assert.Equal("a", NodeOf(Schedule(snapshot, pod), "p"));
    }

    [Fact]
    public void Schedule_PreferNoScheduleTaint_DoesNotFilterButLowersScore()
    {
        var snapshot = ClusterSnapshot.From(
            [Node("a", taints: [Taint("maintenance", null, "PreferNoSchedule")]), Node("b")], []);

        Assert.Equal("b", NodeOf(Schedule(snapshot, Pod("p")), "p"));

        var only = ClusterSnapshot.From([Node("a", taints: [Taint("maintenance", null, "PreferNoSchedule")])], []);
        Assert.Equal("a", NodeOf(Schedule(only, Pod("p")), "p"));
    }

    [Theory]
    [InlineData("Unknown", "node.kubernetes.io/unreachable")]
    [InlineData("False", "node.kubernetes.io/not-ready")]
    public void Schedule_WhenNodeIsNotReady_ReportsTheImpliedTaint(string ready, string taint)
    {
        var snapshot = ClusterSnapshot.From([Node("a", ready: ready), Node("b", memory: "1Gi")], []);

        var plan = Scheduler.Schedule(snapshot, [Pod("p", memory: "2Gi")], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal($"0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {{{taint}: }}.", Message(plan));
    }

    [Fact]
    public void Schedule_NotReadyNode_TakesPodsThatTolerateIt()
    {
        var snapshot = ClusterSnapshot.From([Node("a", ready: "Unknown")], []);
        var pod = Pod("p").WithTolerations(new Toleration { Key = "node.kubernetes.io/unreachable", Operator = "Exists" });

        Assert.Equal("a", NodeOf(Schedule(snapshot, pod), "p"));
    }

    [Fact]
    public void Schedule_ReasonsSortLikeKubeScheduler()
    {
        var nodes = new List<Node>();
        for (var i = 0; i < 3; i++)
        {
            nodes.Add(Node($"m{i}", memory: "1Gi"));
        }

        nodes.Add(Node("u1", ready: "Unknown"));
        nodes.Add(Node("u2", ready: "Unknown"));
        var snapshot = ClusterSnapshot.From(nodes, []);

        var plan = Scheduler.Schedule(snapshot, [Pod("p", memory: "2Gi")], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 Insufficient memory.", Message(plan));
    }
}
