using Verge.Core.Coordination;

namespace Verge.Core.Tests.Coordination;

public class NodeHeartbeatTests
{
    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(1000, 1, 4)]
    [InlineData(1001, 2, 6)]
    [InlineData(10_000, 2, 6)]
    public void ForFleet_ScalesTheRenewIntervalAndLeaseWithTheNodeCount(int nodes, int renewSeconds, int leaseSeconds)
    {
        var heartbeat = NodeHeartbeat.ForFleet(nodes);

        Assert.Equal((TimeSpan.FromSeconds(renewSeconds), leaseSeconds), (heartbeat.RenewInterval, heartbeat.LeaseDurationSeconds));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(5, 4)]
    [InlineData(1, 41)]
    public void New_WhenTimingsAreInconsistent_Throws(int renewSeconds, int leaseSeconds)
    {
        var error = Assert.Throws<ArgumentException>(() => new NodeHeartbeat(TimeSpan.FromSeconds(renewSeconds), TimeSpan.FromSeconds(leaseSeconds)));

        Assert.Contains("lease duration", error.Message, StringComparison.Ordinal);
    }
}
