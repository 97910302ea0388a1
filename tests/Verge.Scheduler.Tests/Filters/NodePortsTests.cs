using Verge.Core.Core;
using Verge.Scheduler.Snapshot;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class NodePortsTests
{
    [Theory]
    [InlineData("TCP", "0.0.0.0", 80, "TCP", "10.0.0.1", 80, true)]
    [InlineData("TCP", "10.0.0.2", 80, "TCP", "10.0.0.1", 80, false)]
    [InlineData("UDP", "0.0.0.0", 80, "TCP", "0.0.0.0", 80, false)]
    [InlineData("TCP", "0.0.0.0", 81, "TCP", "0.0.0.0", 80, false)]
    public void ConflictsWith_FollowsKubernetes(string p1, string ip1, int port1, string p2, string ip2, int port2, bool expected)
    {
        Assert.Equal(expected, new HostPort(p1, ip1, port1).ConflictsWith(new HostPort(p2, ip2, port2)));
    }

    [Fact]
    public void Schedule_WhenHostPortTaken_PicksAnotherNode()
    {
        var snapshot = ClusterSnapshot.From([Node("a"), Node("b")], [Pod("old", node: "a", hostPort: 9000)]);

        Assert.Equal("b", NodeOf(Schedule(snapshot, Pod("p", hostPort: 9000)), "p"));
    }

    [Fact]
    public void Schedule_WhenHostPortTakenEverywhere_ReportsPorts()
    {
        var snapshot = ClusterSnapshot.From([Node("a")], [Pod("old", node: "a", hostPort: 9000)]);

        var plan = Scheduler.Schedule(snapshot, [Pod("p", hostPort: 9000)], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.", Message(plan));
    }

    [Fact]
    public void Schedule_TwoPodsOfOneBatch_DoNotShareAHostPort()
    {
        var snapshot = ClusterSnapshot.From([Node("a"), Node("b")], []);

        var plan = Schedule(snapshot, Pod("p1", hostPort: 443), Pod("p2", hostPort: 443), Pod("p3", hostPort: 443));

        Assert.Equal(2, plan.Bindings.Select(b => b.NodeName).Distinct().Count());
        Assert.Single(plan.Failures);
    }

    [Fact]
    public void HostNetworkPod_ClaimsItsContainerPort()
    {
        var snapshot = ClusterSnapshot.From([Node("a")], [Pod("old", node: "a", hostPort: 8080)]);
        var pod = Pod("p");
        pod.Spec.HostNetwork = true;
        pod.Spec.Containers[0].Ports = [new ContainerPort { Port = 8080 }];

        var plan = Scheduler.Schedule(snapshot, [pod], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.", Message(plan));
    }
}
