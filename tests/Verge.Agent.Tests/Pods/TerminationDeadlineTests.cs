using Microsoft.Extensions.Time.Testing;
using Verge.Agent.Pods;

namespace Verge.Agent.Tests.Pods;

public sealed class TerminationDeadlineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Shorten_ToAnEarlierDeadline_MovesIt_AndCancelsTheSnapshotsToken()
    {
        using var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(30), _time);
        _time.Advance(TimeSpan.FromSeconds(5));
        var (left, moved) = deadline.Snapshot(TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(25), left);

        Assert.True(deadline.Shorten(TimeSpan.FromSeconds(1)));

        Assert.True(moved.IsCancellationRequested);
        var (now, again) = deadline.Snapshot(TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(1), now);
        Assert.False(again.IsCancellationRequested);
    }

    [Theory]
    [InlineData(60)]
    [InlineData(25)]
    public void Shorten_ToADeadlineNoEarlier_LeavesItAlone(int seconds)
    {
        // 25 s from 5 s in is the deadline as it stands; 60 s would extend it.
        using var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(30), _time);
        _time.Advance(TimeSpan.FromSeconds(5));
        var (_, moved) = deadline.Snapshot(TimeSpan.Zero);

        Assert.False(deadline.Shorten(TimeSpan.FromSeconds(seconds)));

        Assert.False(moved.IsCancellationRequested);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(25), deadline.At);
    }

    [Fact]
    public void Shorten_AfterTheRestOfAPeriodRanOut_KeepsTheEarlierDeadline()
    {
        // 10 s in, 5 s are left; a new 10 s grace period would end later, so the deadline stays.
        using var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(15), _time);
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(deadline.Shorten(TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(5), deadline.Snapshot(TimeSpan.Zero).Left);
    }

    [Fact]
    public void Snapshot_OfAPassedDeadline_GivesTheFloor()
    {
        using var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(1), _time);
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(TimeSpan.FromSeconds(2), deadline.Snapshot(TimeSpan.FromSeconds(2)).Left);
        Assert.Equal(TimeSpan.FromSeconds(-2), deadline.Snapshot(TimeSpan.FromSeconds(-10)).Left);
    }

    [Fact]
    public async Task WhenPassed_FollowsADeadlineMovedEarlier()
    {
        using var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(30), _time);
        var passed = deadline.WhenPassedAsync(CancellationToken.None);

        deadline.Shorten(TimeSpan.Zero);

        await passed.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(TaskStatus.RanToCompletion, passed.Status);
    }

    [Fact]
    public void Shorten_AfterDispose_DoesNothing()
    {
        var deadline = TerminationDeadline.After(TimeSpan.FromSeconds(30), _time);
        deadline.Dispose();

        Assert.False(deadline.Shorten(TimeSpan.Zero));
        Assert.False(deadline.Snapshot(TimeSpan.Zero).Moved.CanBeCanceled);
    }
}
