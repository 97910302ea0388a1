using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Core;

namespace Verge.Controllers.Tests.Runtime;

public class EventRecorderTests
{
    [Fact]
    public async Task Record_WhenTheSameEventRepeats_RaisesCountOnOneEvent()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero));
        var recorder = new EventRecorder(cluster.Client, time, "verge-controller-manager", "node-a_1234", NullLogger.Instance);
        var rs = await cluster.CreateAsync(TestCluster.NewReplicaSet("web", 0));

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
}
