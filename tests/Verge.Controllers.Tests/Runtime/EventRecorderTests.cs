using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Apps;
using Verge.Core.Core;

namespace Verge.Controllers.Tests.Runtime;

public class EventRecorderTests
{
    /// <summary>A cluster without controllers, a recorder on a fake clock, and a ReplicaSet to record about.</summary>
    private static async Task<(TestCluster Cluster, FakeTimeProvider Time, EventRecorder Recorder, ReplicaSet Rs)> StartAsync()
    {
        var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero));
        var recorder = new EventRecorder(cluster.Client, time, "verge-controller-manager", "node-a_1234", NullLogger.Instance);
        return (cluster, time, recorder, await cluster.CreateAsync(TestCluster.NewReplicaSet("web", 0)));
    }

    [Fact]
    public async Task Record_WhenTheSameEventRepeats_RaisesCountOnOneEvent()
    {
        var (cluster, time, recorder, rs) = await StartAsync();
        await using var _ = cluster;

        await recorder.NormalAsync(rs, "SuccessfulCreate", "Created pod: web-abcde", CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));
        await recorder.NormalAsync(rs, "SuccessfulCreate", "Created pod: web-abcde", CancellationToken.None);
        await recorder.WarningAsync(rs, "FailedCreate", "Error creating: quota", CancellationToken.None);

        var events = (await cluster.TrackAsync<Event>()).List();
        Assert.True(events.Count == 2, string.Join("\n", events.Select(e => $"{e.Metadata.Name} {e.Reason} {e.Count}")));
        var repeated = Assert.Single(events, e => e.Reason == "SuccessfulCreate");
        Assert.Equal(2, repeated.Count);
        Assert.Equal(time.GetUtcNow(), repeated.LastTimestamp);
        Assert.Equal(time.GetUtcNow().AddSeconds(-30), repeated.FirstTimestamp);
        Assert.Equal("Normal", repeated.Type);
        Assert.Equal("verge-controller-manager", repeated.Source!.Component);
        Assert.Equal("node-a_1234", repeated.ReportingInstance);
        Assert.True(repeated.InvolvedObject is { Kind: "ReplicaSet", ApiVersion: "apps/v1", Name: "web", Namespace: "default" });
        Assert.Equal(rs.Metadata.Uid, repeated.InvolvedObject.Uid);
        Assert.StartsWith("web.", repeated.Metadata.Name, StringComparison.Ordinal);
        Assert.Equal("Warning", Assert.Single(events, e => e.Reason == "FailedCreate").Type);
    }

    [Fact]
    public async Task Record_WhenAnObjectHasManySimilarEvents_CombinesThemAndStopsAtItsBudget()
    {
        var (cluster, time, recorder, rs) = await StartAsync();
        await using var _ = cluster;

        for (var i = 1; i <= 40; i++)
        {
            await recorder.NormalAsync(rs, "SuccessfulCreate", $"Created pod: web-{i}", CancellationToken.None);
        }

        var events = (await cluster.TrackAsync<Event>()).List();
        var own = events.Where(e => !e.Message!.StartsWith(EventCorrelator.CombinedPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(1, 9).Select(i => $"Created pod: web-{i}"), own.Select(e => e.Message).Order(StringComparer.Ordinal));
        Assert.All(own, e => Assert.Equal(1, e.Count));

        // The 10th to the 25th (the burst) went to one combined Event; the 26th to the 40th were not written.
        var combined = Assert.Single(events, e => e.Message!.StartsWith(EventCorrelator.CombinedPrefix, StringComparison.Ordinal));
        Assert.Equal(16, combined.Count);
        Assert.Equal("(combined from similar events): Created pod: web-25", combined.Message);
        Assert.Equal("SuccessfulCreate", combined.Reason);
        Assert.Equal(rs.Metadata.Uid, combined.InvolvedObject.Uid);

        time.Advance(EventCorrelator.RefillEvery);
        await recorder.NormalAsync(rs, "SuccessfulCreate", "Created pod: web-41", CancellationToken.None);
        combined = await cluster.Client.GetAsync<Event>("default", combined.Metadata.Name!, CancellationToken.None);
        Assert.Equal(17, combined!.Count);
        Assert.Equal("(combined from similar events): Created pod: web-41", combined.Message);
        Assert.Equal(time.GetUtcNow(), combined.LastTimestamp);
    }
}
