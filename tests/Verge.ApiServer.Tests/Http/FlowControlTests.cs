using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.ApiServer.Http;

namespace Verge.ApiServer.Tests.Http;

public sealed class FlowControlTests
{
    [Theory]
    [InlineData("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1", "", "Exempt")]
    [InlineData("PATCH", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1", "", "Exempt")]
    [InlineData("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "", "Exempt")]
    [InlineData("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/verge-controller-manager", "", "Exempt")]
    [InlineData("PATCH", "/api/v1/nodes/edge-1/status", "", "Exempt")]
    [InlineData("GET", "/api/v1/pods", "true", "Exempt")]
    [InlineData("GET", "/apis", "", "Exempt")]
    [InlineData("GET", "/openapi/v3", "", "Exempt")]
    [InlineData("GET", "/api/v1/namespaces/default/pods/web-1/exec", "", "Exempt")]
    [InlineData("POST", "/api/v1/namespaces/default/pods/web-1/exec", "", "Exempt")]
    [InlineData("GET", "/api/v1/namespaces/default/pods/web-1/log", "", "Exempt")]
    [InlineData("GET", "/api/v1/pods", "", "ReadOnly")]
    [InlineData("GET", "/api/v1/nodes/edge-1/status", "", "ReadOnly")]
    [InlineData("PATCH", "/api/v1/nodes/edge-1", "", "Mutating")]
    [InlineData("PATCH", "/api/v1/namespaces/default/pods/web-1/status", "", "Mutating")]
    [InlineData("POST", "/apis/apps/v1/namespaces/default/deployments", "", "Mutating")]
    [InlineData("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/app-lock", "", "Mutating")]
    [InlineData("DELETE", "/api/v1/namespaces/default/pods/web-1", "", "Mutating")]
    public void Classify_PutsHeartbeatsInTheExemptLaneAndBulkWorkInLimitedOnes(string method, string path, string watch, string expected) =>
        Assert.Equal(Enum.Parse<FlowLevel>(expected), FlowControl.Classify(method, path, watch));

    [Fact]
    public async Task Enter_WhenTheLevelIsFull_QueuesUntilASeatIsReleased()
    {
        var flow = NewFlowControl(new FlowControlOptions { MaxMutatingInFlight = 2, QueueLength = 10 }, new FakeTimeProvider());
        var first = await flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None);
        using var second = await flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None);

        var third = flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal((2, 1), flow.Load(FlowLevel.Mutating));

        first.Dispose();
        (await third).Dispose();
        Assert.Equal((1, 0), flow.Load(FlowLevel.Mutating));
    }

    [Fact]
    public async Task Enter_WhenTheMutatingLevelIsFull_StillAdmitsHeartbeatsAndReadsAtOnce()
    {
        var flow = NewFlowControl(new FlowControlOptions { MaxMutatingInFlight = 1, QueueLength = 10 }, new FakeTimeProvider());
        using var bulk = await flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None);
        var waiting = flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None).AsTask();

        var heartbeat = flow.EnterAsync(FlowLevel.Exempt, "node", CancellationToken.None);
        var read = flow.EnterAsync(FlowLevel.ReadOnly, "a", CancellationToken.None);

        Assert.True(heartbeat.IsCompletedSuccessfully);
        Assert.True(read.IsCompletedSuccessfully);
        Assert.False(waiting.IsCompleted);
        bulk.Dispose();
        (await waiting).Dispose();
    }

    [Fact]
    public async Task Enter_WhenTheQueueIsFull_RejectsWith429AndRetryAfter()
    {
        var flow = NewFlowControl(new FlowControlOptions { MaxMutatingInFlight = 1, QueueLength = 1, RetryAfterSeconds = 2 }, new FakeTimeProvider());
        using var running = await flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None);
        var queued = flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None).AsTask();

        var e = await Assert.ThrowsAsync<ApiException>(async () => await flow.EnterAsync(FlowLevel.Mutating, "b", CancellationToken.None));
        Assert.Equal(429, e.Code);
        Assert.Equal("TooManyRequests", e.Reason);
        Assert.Equal(2, e.Details!.RetryAfterSeconds);
        Assert.False(queued.IsCompleted);
    }

    [Fact]
    public async Task Enter_WhenTheWaitOutlastsMaxQueueWait_RejectsWith429AndLeavesTheLine()
    {
        var time = new FakeTimeProvider();
        var flow = NewFlowControl(new FlowControlOptions { MaxMutatingInFlight = 1, QueueLength = 5, MaxQueueWait = TimeSpan.FromSeconds(15) }, time);
        var running = await flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None);
        var waiting = flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None).AsTask();

        time.Advance(TimeSpan.FromSeconds(15));
        var e = await Assert.ThrowsAsync<ApiException>(() => waiting);
        Assert.Equal(429, e.Code);
        Assert.Equal((1, 0), flow.Load(FlowLevel.Mutating));

        // The seat that frees up goes to nobody who gave up.
        running.Dispose();
        Assert.Equal((0, 0), flow.Load(FlowLevel.Mutating));
    }

    [Fact]
    public async Task Enter_WhenTheClientGoesAway_LeavesTheLine()
    {
        var flow = NewFlowControl(new FlowControlOptions { MaxMutatingInFlight = 1, QueueLength = 5 }, new FakeTimeProvider());
        var running = await flow.EnterAsync(FlowLevel.Mutating, "a", CancellationToken.None);
        using var gone = new CancellationTokenSource();
        var waiting = flow.EnterAsync(FlowLevel.Mutating, "a", gone.Token).AsTask();

        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        running.Dispose();
        Assert.Equal((0, 0), flow.Load(FlowLevel.Mutating));
    }

    [Fact]
    public async Task Release_ServesWaitingFlowsInTurn()
    {
        var flow = NewFlowControl(new FlowControlOptions { MaxMutatingInFlight = 1, QueueLength = 10 }, new FakeTimeProvider());
        var running = await flow.EnterAsync(FlowLevel.Mutating, "busy", CancellationToken.None);
        var order = new List<string>();
        var waiting = new List<Task<FlowControl.Seat>>();
        foreach (var who in new[] { "busy", "busy", "busy", "quiet" })
        {
            var entered = flow.EnterAsync(FlowLevel.Mutating, who, CancellationToken.None).AsTask();
            waiting.Add(entered.ContinueWith(
                t =>
                {
                    lock (order)
                    {
                        order.Add(who);
                    }

                    return t.Result;
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default));
        }

        // Each release admits one waiter; the quiet client gets the second turn, not the fifth.
        for (var i = 0; i < 4; i++)
        {
            running.Dispose();
            var next = await Task.WhenAny(waiting);
            waiting.Remove(next);
            running = await next;
        }

        running.Dispose();
        Assert.Equal(["busy", "quiet", "busy", "busy"], order);
    }

    [Fact]
    public void Options_WithNonPositiveLimits_AreRejected()
    {
        Assert.Throws<ArgumentException>(() => new FlowControlOptions { MaxMutatingInFlight = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new FlowControlOptions { QueueLength = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new FlowControlOptions { MaxQueueWait = TimeSpan.Zero }.Validate());
    }

    private static FlowControl NewFlowControl(FlowControlOptions flow, TimeProvider time)
    {
        var options = new ApiServerOptions();
        options.FlowControl.Enabled = flow.Enabled;
        options.FlowControl.MaxMutatingInFlight = flow.MaxMutatingInFlight;
        options.FlowControl.MaxReadOnlyInFlight = flow.MaxReadOnlyInFlight;
        options.FlowControl.QueueLength = flow.QueueLength;
        options.FlowControl.MaxQueueWait = flow.MaxQueueWait;
        options.FlowControl.RetryAfterSeconds = flow.RetryAfterSeconds;
        return new FlowControl(options, time, NullLogger<FlowControl>.Instance);
    }
}

/// <summary>A server whose mutating lane has one seat and no queue.</summary>
public sealed class OneSeatServerFixture : ApiServerFixture
{
    protected override void Configure(ApiServerOptions options)
    {
        options.FlowControl.MaxMutatingInFlight = 1;
        options.FlowControl.QueueLength = 0;
    }
}

public sealed class FlowControlServerTests(OneSeatServerFixture server) : IClassFixture<OneSeatServerFixture>
{
    [Fact]
    public async Task Server_WhenMutatingRequestsFillTheLane_Answers429WithRetryAfterButRenewsNodeLeases()
    {
        var client = server.AdminClient();
        var flow = server.Host.Services.GetRequiredService<FlowControl>();
        using var slowBody = new SlowContent(Api.ConfigMap("held"));
        var held = client.PostAsync("/api/v1/namespaces/default/configmaps", slowBody);
        await WaitUntilAsync(() => flow.Load(FlowLevel.Mutating).InFlight == 1, "the held request takes the only seat");

        var rejected = await client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("rejected")));
        var status = await Api.StatusOf(rejected, 429);
        Assert.Equal("TooManyRequests", status["reason"]!.GetValue<string>());
        Assert.Equal(1, status["details"]!["retryAfterSeconds"]!.GetValue<int>());
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.Headers.RetryAfter?.Delta);

        const string lease = """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"edge-1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"edge-1","leaseDurationSeconds":4}}""";
        var renewed = await client.PostAsync("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", Api.Json(lease));
        Assert.Equal(HttpStatusCode.Created, renewed.StatusCode);

        slowBody.Finish();
        Assert.Equal(HttpStatusCode.Created, (await held).StatusCode);
        Assert.Equal((0, 0), flow.Load(FlowLevel.Mutating));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(10);
        }
    }

    /// <summary>A JSON body that sends its first byte, then the rest only when told to.</summary>
    private sealed class SlowContent : HttpContent
    {
        private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly string _json;

        public SlowContent(string json)
        {
            _json = json;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        public void Finish() => _finish.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var bytes = Encoding.UTF8.GetBytes(_json);
            await stream.WriteAsync(bytes.AsMemory(0, 1));
            await stream.FlushAsync();
            await _finish.Task;
            await stream.WriteAsync(bytes.AsMemory(1));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = Encoding.UTF8.GetByteCount(_json);
            return true;
        }
    }
}
