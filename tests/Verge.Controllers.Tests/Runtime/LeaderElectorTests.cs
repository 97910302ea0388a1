using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Apps;
using Verge.Core.Coordination;
using Verge.Core.Core;

namespace Verge.Controllers.Tests.Runtime;

public class LeaderElectorTests
{
    private sealed class Candidate
    {
        public Candidate(TestCluster cluster, TimeProvider time, string identity, bool releaseOnCancel)
        {
            var options = new LeaderElectionOptions { Identity = identity, ReleaseOnCancel = releaseOnCancel };
            Elector = new LeaderElector(cluster.Client, options, time, NullLogger.Instance) { Attempted = ok => Attempts.Writer.TryWrite(ok) };
            Run = Elector.RunAsync(async ct =>
            {
                Leading.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }, Stop.Token);
        }

        public LeaderElector Elector { get; }

        public Channel<bool> Attempts { get; } = Channel.CreateUnbounded<bool>();

        public TaskCompletionSource Leading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenSource Stop { get; } = new();

        public Task Run { get; }
    }

    /// <summary>Longer than the longest jittered retry period (2 s plus up to 120 %).</summary>
    private static readonly TimeSpan RetryStep = TimeSpan.FromSeconds(4.5);

    /// <summary>
    /// Steps the fake clock past <paramref name="candidate"/>'s pending retry, then waits for its next attempt (or its
    /// leadership), until it leads. Call it right after the candidate reported a failed attempt.
    /// </summary>
    private static async Task StepUntilLeadingAsync(FakeTimeProvider time, Candidate candidate, TimeSpan step)
    {
        using var limit = new CancellationTokenSource(TestCluster.WaitLimit);
        while (!candidate.Leading.Task.IsCompleted)
        {
            time.Advance(step);
            var attempt = candidate.Attempts.Reader.ReadAsync(limit.Token).AsTask();
            await Task.WhenAny(attempt, candidate.Leading.Task);
            limit.Token.ThrowIfCancellationRequested();
        }
    }

    [Fact]
    public async Task Run_WithTwoCandidates_ElectsOneAndTheOtherTakesOverAfterTheLeaseExpires()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = new Candidate(cluster, time, "a", releaseOnCancel: false);
        await a.Leading.Task.WaitAsync(TestCluster.WaitLimit);
        var b = new Candidate(cluster, time, "b", releaseOnCancel: false);
        Assert.False(await b.Attempts.Reader.ReadAsync());
        Assert.True(a.Elector.IsLeader);
        Assert.False(b.Elector.IsLeader);

        var lease = await cluster.GetAsync<Lease>("verge-controller-manager", "kube-system");
        Assert.Equal("a", lease!.Spec.HolderIdentity);
        Assert.Equal(15, lease.Spec.LeaseDurationSeconds);

        // a stops without releasing (as if it crashed); b must wait out the 15 s lease on its own clock.
        await a.Stop.CancelAsync();
        await a.Run;
        var before = time.GetUtcNow();
        await StepUntilLeadingAsync(time, b, RetryStep);

        Assert.True(time.GetUtcNow() - before > TimeSpan.FromSeconds(15));
        lease = await cluster.GetAsync<Lease>("verge-controller-manager", "kube-system");
        Assert.Equal("b", lease!.Spec.HolderIdentity);
        Assert.Equal(1, lease.Spec.LeaseTransitions);
        await b.Stop.CancelAsync();
        await b.Run;
    }

    [Fact]
    public async Task Run_WhenTheLeaderStops_ReleasesTheLeaseForTheNextCandidate()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = new Candidate(cluster, time, "a", releaseOnCancel: true);
        await a.Leading.Task.WaitAsync(TestCluster.WaitLimit);
        var b = new Candidate(cluster, time, "b", releaseOnCancel: true);
        Assert.False(await b.Attempts.Reader.ReadAsync());

        await a.Stop.CancelAsync();
        await a.Run;
        time.Advance(RetryStep);
        await b.Leading.Task.WaitAsync(TestCluster.WaitLimit);

        Assert.Equal("b", (await cluster.GetAsync<Lease>("verge-controller-manager", "kube-system"))!.Spec.HolderIdentity);
        await b.Stop.CancelAsync();
        await b.Run;
    }

    [Fact]
    public async Task Run_WhenTheLeaseIsTakenOver_StopsLeading()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = new Candidate(cluster, time, "a", releaseOnCancel: false);
        await a.Leading.Task.WaitAsync(TestCluster.WaitLimit);
        Assert.True(await a.Attempts.Reader.ReadAsync());

        await cluster.UpdateAsync<Lease>("verge-controller-manager", l => l.Spec.HolderIdentity = "intruder", "kube-system");
        time.Advance(TimeSpan.FromSeconds(2));

        await a.Run.WaitAsync(TestCluster.WaitLimit);
        Assert.False(a.Elector.IsLeader);
    }

    [Fact]
    public async Task ControllerManagers_OnOneStore_OnlyTheLeaderActs()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o.LeaderElection.Identity = "first");
        var first = cluster.Manager!;
        await first.Leading.WaitAsync(TestCluster.WaitLimit);
        var second = new ControllerManager(cluster.Service, cluster.Cache, new ControllerOptions { LeaderElection = { Identity = "second" } },
            TimeProvider.System, NullLoggerFactory.Instance);
        await second.StartAsync(CancellationToken.None);
        try
        {
            await cluster.StartNodeAsync();
            var deployments = await cluster.TrackAsync<Deployment>();
            await cluster.CreateAsync(TestCluster.NewDeployment("web", 2));
            await deployments.WaitForAsync("web", d => d.Status?.AvailableReplicas == 2, "web available");

            Assert.True(first.IsLeader);
            Assert.False(second.IsLeader);
            var events = (await cluster.TrackAsync<Event>()).List();
            Assert.NotEmpty(events);
            Assert.All(events, e => Assert.Equal("first", e.ReportingInstance));

            // The leader stops and releases the lease; the second manager takes over and acts.
            var takeover = second.Leading;
            await first.StopAsync(CancellationToken.None);
            await takeover.WaitAsync(TestCluster.WaitLimit);
            Assert.True(second.IsLeader);
            await cluster.UpdateAsync<Deployment>("web", d => d.Spec.Replicas = 3);
            await deployments.WaitForAsync("web", d => d.Status?.AvailableReplicas == 3, "scaled by the second manager");
            var lease = await cluster.GetAsync<Lease>("verge-controller-manager", "kube-system");
            Assert.Equal("second", lease!.Spec.HolderIdentity);
        }
        finally
        {
            await second.StopAsync(CancellationToken.None);
            second.Dispose();
        }
    }
}
