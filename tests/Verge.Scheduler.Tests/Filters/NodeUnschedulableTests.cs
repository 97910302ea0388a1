using Verge.Core.Core;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class NodeUnschedulableTests
{
    [Fact]
    public void Schedule_CordonedNode_IsSkipped()
    {
        var snapshot = ClusterSnapshot.From([Node("a", unschedulable: true), Node("b")], []);

        Assert.Equal("b", NodeOf(Schedule(snapshot, Pod("p")), "p"));
    }

    [Fact]
    public void Schedule_OnlyCordonedNodes_ReportsUnschedulable()
    {
        var snapshot = ClusterSnapshot.From([Node("a", unschedulable: true)], []);

        Assert.Equal("0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", Message(Schedule(snapshot, Pod("p"))));
    }

    [Fact]
    public void Schedule_PodToleratingUnschedulable_LandsOnCordonedNode()
    {
        var snapshot = ClusterSnapshot.From([Node("a", unschedulable: true)], []);
        var pod = Pod("p").WithTolerations(new Toleration { Key = "node.kubernetes.io/unschedulable", Operator = "Exists", Effect = "NoSchedule" });

        Assert.Equal("a", NodeOf(Schedule(snapshot, pod), "p"));
    }
}
