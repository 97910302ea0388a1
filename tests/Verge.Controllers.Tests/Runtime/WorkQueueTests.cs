using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Runtime;

namespace Verge.Controllers.Tests.Runtime;

public class WorkQueueTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Add_WhenItemIsAlreadyQueued_QueuesItOnce()
    {
        using var queue = new WorkQueue<string>(_time);
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");

        Assert.Equal(2, queue.Count);
        Assert.Equal("a", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal("b", (await queue.GetAsync(CancellationToken.None)).Item);
    }

    [Fact]
    public async Task Add_WhenItemIsBeingProcessed_HandsItOutAgainOnlyAfterDone()
    {
        using var queue = new WorkQueue<string>(_time);
        queue.Add("a");
        var (item, _) = await queue.GetAsync(CancellationToken.None);

        queue.Add("a");
        Assert.Equal(0, queue.Count);

        queue.Done(item);
        Assert.Equal(1, queue.Count);
        Assert.Equal("a", (await queue.GetAsync(CancellationToken.None)).Item);
    }

    [Fact]
    public async Task GetAsync_HandsOutUrgentItemsFirst_InTheOrderTheyCame_AndAsksAgainWhenAnItemIsQueuedAgain()
    {
        var urgent = new HashSet<string> { "u1", "u2" };
        using var queue = new WorkQueue<string>(_time, isUrgent: item => urgent.Contains(item));
        queue.Add("a");
        queue.Add("u1");
        queue.Add("b");
        queue.AddAfter("u2", TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(4, queue.Count);
        Assert.Equal("u1", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal("u2", (await queue.GetAsync(CancellationToken.None)).Item);

        // "a" became urgent while it waited: it stays where it was queued; queued again after Done, it goes ahead.
        urgent.Add("a");
        Assert.Equal("a", (await queue.GetAsync(CancellationToken.None)).Item);
        queue.Add("c");
        queue.Add("a");
        queue.Done("a");
        Assert.Equal("a", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal("b", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal("c", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void AddRateLimited_WhenItemKeepsFailing_DoublesTheDelayFromFiveMilliseconds()
    {
        using var queue = new WorkQueue<string>(_time);

        foreach (var expected in new[] { 5, 10, 20, 40 })
        {
            queue.AddRateLimited("a");
            _time.Advance(TimeSpan.FromMilliseconds(expected - 1));
            Assert.Equal(0, queue.Count);
            _time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal(1, queue.Count);
            Assert.True(queue.GetAsync(CancellationToken.None).IsCompletedSuccessfully);
            queue.Done("a");
        }

        Assert.Equal(4, queue.NumRequeues("a"));
    }

    [Fact]
    public async Task AddRateLimited_AfterForget_StartsAgainAtFiveMilliseconds()
    {
        using var queue = new WorkQueue<string>(_time);
        foreach (var delay in new[] { 5, 10 })
        {
            queue.AddRateLimited("a");
            _time.Advance(TimeSpan.FromMilliseconds(delay));
            queue.Done((await queue.GetAsync(CancellationToken.None)).Item);
        }

        queue.Forget("a");
        queue.AddRateLimited("a");
        _time.Advance(TimeSpan.FromMilliseconds(4));
        Assert.Equal(0, queue.Count);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Count);
    }

    [Fact]
    public void When_AfterManyFailures_IsCappedAtOneThousandSeconds()
    {
        var backoff = ItemBackoff<string>.Default();
        var delays = Enumerable.Range(0, 40).Select(_ => backoff.When("a")).ToList();

        Assert.Equal(TimeSpan.FromMilliseconds(5), delays[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(5 * 1024), delays[10]);
        Assert.Equal(TimeSpan.FromSeconds(1000), delays[^1]);
        Assert.All(delays, d => Assert.True(d <= TimeSpan.FromSeconds(1000)));
    }

    [Fact]
    public void AddAfter_WhenAnEarlierDelayIsPending_KeepsTheEarlierOne()
    {
        using var queue = new WorkQueue<string>(_time);
        queue.AddAfter("a", TimeSpan.FromSeconds(1));
        queue.AddAfter("a", TimeSpan.FromSeconds(10));
        Assert.Equal(1, queue.DelayedCount);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, queue.Count);
        Assert.Equal(0, queue.DelayedCount);
    }

    [Fact]
    public async Task GetAsync_AfterShutDown_ReturnsNotOk()
    {
        using var queue = new WorkQueue<string>(_time);
        var waiting = queue.GetAsync(CancellationToken.None);
        queue.ShutDown();

        var (_, ok) = await waiting;
        Assert.False(ok);
        queue.Add("a");
        Assert.Equal(0, queue.Count);
    }
}
