using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Runtime;

namespace Verge.Controllers.Tests.Runtime;

public class EventCorrelatorTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Correlate_WhenTenDistinctMessagesOfOneReason_CombinesFromTheTenth()
    {
        var correlator = new EventCorrelator(_time);
        var outcomes = Enumerable.Range(1, 12).Select(i => correlator.Correlate("rs/web", "Normal", "SuccessfulCreate", $"Created pod: web-{i}")).ToList();

        Assert.All(outcomes, o => Assert.False(o.Skip));
        Assert.Equal(9, outcomes.Select(o => o.Key).Take(9).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 9).Select(i => $"Created pod: web-{i}"), outcomes.Take(9).Select(o => o.Message));
        Assert.Single(outcomes.Skip(9).Select(o => o.Key).Distinct());
        Assert.DoesNotContain(outcomes[9].Key, outcomes.Take(9).Select(o => o.Key));
        Assert.Equal("(combined from similar events): Created pod: web-10", outcomes[9].Message);
        Assert.Equal("(combined from similar events): Created pod: web-12", outcomes[11].Message);

        // A message seen before the threshold folds into its own Event; another reason is a group of its own.
        var repeat = correlator.Correlate("rs/web", "Normal", "SuccessfulCreate", "Created pod: web-3");
        Assert.Equal(outcomes[2].Key, repeat.Key);
        Assert.Equal("Created pod: web-3", repeat.Message);
        var other = correlator.Correlate("rs/web", "Normal", "SuccessfulDelete", "Deleted pod: web-1");
        Assert.Equal("Deleted pod: web-1", other.Message);
        Assert.DoesNotContain(other.Key, outcomes.Select(o => o.Key));
    }

    [Fact]
    public void Correlate_WhenTheGroupWasQuietForTheInterval_StartsAfresh()
    {
        var correlator = new EventCorrelator(_time);
        for (var i = 1; i <= 10; i++)
        {
            correlator.Correlate("rs/web", "Normal", "SuccessfulCreate", $"Created pod: web-{i}");
        }

        _time.Advance(EventCorrelator.SimilarInterval + TimeSpan.FromSeconds(1));
        var fresh = correlator.Correlate("rs/web", "Normal", "SuccessfulCreate", "Created pod: web-11");

        Assert.Equal("Created pod: web-11", fresh.Message);
    }

    [Fact]
    public void Correlate_BeyondAnObjectsBurst_SkipsUntilTheBudgetRefills()
    {
        var correlator = new EventCorrelator(_time);
        var outcomes = Enumerable.Range(1, EventCorrelator.Burst + 3)
            .Select(i => correlator.Correlate("rs/web", "Normal", "SuccessfulCreate", $"Created pod: web-{i}"))
            .ToList();

        Assert.All(outcomes.Take(EventCorrelator.Burst), o => Assert.False(o.Skip));
        Assert.All(outcomes.Skip(EventCorrelator.Burst), o => Assert.True(o.Skip));

        // Identical occurrences spend the budget too; another object has its own.
        Assert.True(correlator.Correlate("rs/web", "Warning", "FailedCreate", "quota").Skip);
        Assert.False(correlator.Correlate("rs/api", "Normal", "SuccessfulCreate", "Created pod: api-1").Skip);

        _time.Advance(EventCorrelator.RefillEvery);
        Assert.False(correlator.Correlate("rs/web", "Warning", "FailedCreate", "quota").Skip);
        Assert.True(correlator.Correlate("rs/web", "Warning", "FailedCreate", "quota").Skip);
    }
}
