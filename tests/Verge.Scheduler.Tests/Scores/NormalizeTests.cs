using Verge.Scheduler.Scores;

namespace Verge.Scheduler.Tests.Scores;

public sealed class NormalizeTests
{
    [Fact]
    public void ByMax_ScalesToHundred()
    {
        long[] scores = [0, 5, 10];
        Normalize.ByMax(scores, reverse: false);
        Assert.Equal([0, 50, 100], scores);
    }

    [Fact]
    public void ByMax_Reversed_FavoursFewer()
    {
        long[] scores = [0, 1, 2];
        Normalize.ByMax(scores, reverse: true);
        Assert.Equal([100, 50, 0], scores);

        long[] zeros = [0, 0];
        Normalize.ByMax(zeros, reverse: true);
        Assert.Equal([100, 100], zeros);
    }

    [Fact]
    public void Spread_FavoursFewerMatchingPodsAndZeroesIgnoredNodes()
    {
        long[] scores = [2, 4, 9];
        Normalize.Spread(scores, [false, false, true]);
        Assert.Equal([100, 50, 0], scores);
    }
}
