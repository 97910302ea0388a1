using Verge.Core.Coordination;

namespace Verge.Core.Tests.Coordination;

public class NodeHeartbeatTests
{
    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(3400, 1, 4)]
    [InlineData(3401, 2, 6)]
    [InlineData(5000, 2, 6)]
    [InlineData(7500, 3, 9)]
    [InlineData(10_000, 3, 9)]
    [InlineData(10_201, 4, 12)]
    [InlineData(1_000_000, 13, 39)]
    public void ForFleet_KeepsRenewalsWithinTheBudget(int nodes, int renewSeconds, int leaseSeconds)
    {
        var heartbeat = NodeHeartbeat.ForFleet(nodes);

        Assert.Equal((TimeSpan.FromSeconds(renewSeconds), leaseSeconds), (heartbeat.RenewInterval, heartbeat.LeaseDurationSeconds));
        Assert.True(nodes / heartbeat.RenewInterval.TotalSeconds <= Math.Max(NodeHeartbeat.RenewalBudget, nodes / 13.0));
    }

    [Theory]
    [InlineData(200, 4)]
    [InlineData(1000, 4)]
    [InlineData(2000, 6)]
    [InlineData(4000, 12)]
    [InlineData(1500, 5)]
    [InlineData(10_000, 30)]
    [InlineData(13_000, 39)]
    public void ForInterval_GivesThreeIntervalsOfAtLeastFourSeconds(int renewMilliseconds, int leaseSeconds)
    {
        var heartbeat = NodeHeartbeat.ForInterval(TimeSpan.FromMilliseconds(renewMilliseconds));

        Assert.Equal(leaseSeconds, heartbeat.LeaseDurationSeconds);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13_001)]
    [InlineData(20_000)]
    [InlineData(40_000)]
    public void ForInterval_WhenThreeIntervalsWouldNotFitTheLongestLease_Throws(int renewMilliseconds)
    {
        // A 40 s interval used to get a 40 s lease: no slack, so every late renewal marked a healthy node unreachable.
        var error = Assert.Throws<ArgumentException>(() => NodeHeartbeat.ForInterval(TimeSpan.FromMilliseconds(renewMilliseconds)));

        Assert.Contains("up to 13 s", error.Message, StringComparison.Ordinal);
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
