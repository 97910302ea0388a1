using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.Controllers.Disruption;
using Verge.Controllers.Runtime;
using Verge.Controllers.Tests.Support;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.Controllers.Tests.Disruption;

public sealed class StalePodDisruptionControllerTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-03-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly TimeSpan Timeout = StalePodDisruptionController.Timeout;

    private static Pod Marked(DateTimeOffset? at, string phase = "Running", string reason = DisruptionTarget.EvictionReason, bool deleting = false) => new()
    {
        Metadata = new ObjectMeta { Name = "p", Namespace = "default", DeletionTimestamp = deleting ? T0 : null },
        Status = new PodStatus
        {
            Phase = phase,
            Conditions =
            [
                new PodCondition { Type = "Ready", Status = "True" },
                new PodCondition { Type = DisruptionTarget.ConditionType, Status = "True", Reason = reason, Message = "m", LastTransitionTime = at },
            ],
        },
    };

    [Fact]
    public void StaleIn_CountsTheTimeoutFromTheConditionsTransition()
    {
        Assert.Equal(Timeout, StalePodDisruptionController.StaleIn(Marked(T0), T0));
        Assert.Equal(TimeSpan.FromSeconds(1), StalePodDisruptionController.StaleIn(Marked(T0), T0 + Timeout - TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.Zero, StalePodDisruptionController.StaleIn(Marked(T0), T0 + Timeout));
        Assert.Equal(TimeSpan.Zero, StalePodDisruptionController.StaleIn(Marked(T0), T0 + TimeSpan.FromHours(1)));

        // Without a transition time, as Kubernetes reads the zero time: stale at once.
        Assert.Equal(TimeSpan.Zero, StalePodDisruptionController.StaleIn(Marked(null), T0));
    }

    [Fact]
    public void StaleIn_IsNull_ForPodsBeingDeleted_Finished_MarkedByAKubelet_OrNotMarked()
    {
        var later = T0 + TimeSpan.FromHours(1);
        Assert.Null(StalePodDisruptionController.StaleIn(Marked(T0, deleting: true), later));
        Assert.Null(StalePodDisruptionController.StaleIn(Marked(T0, phase: "Succeeded"), later));
        Assert.Null(StalePodDisruptionController.StaleIn(Marked(T0, phase: "Failed"), later));
        Assert.Null(StalePodDisruptionController.StaleIn(Marked(T0, reason: StalePodDisruptionController.TerminationByKubelet), later));

        var reset = Marked(T0);
        reset.Status!.Conditions![1].Status = "False";
        Assert.Null(StalePodDisruptionController.StaleIn(reset, later));
        Assert.Null(StalePodDisruptionController.StaleIn(new Pod { Status = new PodStatus { Phase = "Running" } }, later));
        Assert.Null(StalePodDisruptionController.StaleIn(new Pod(), later));
    }

    [Fact]
    public void Reset_ReplacesTheCondition_WithStatusFalseAndANewTransitionTime_AsKubernetesWritesIt()
    {
        var pod = Marked(T0);
        pod.Status!.Conditions![1].LastProbeTime = T0;
        var now = T0 + Timeout;

        Assert.True(StalePodDisruptionController.Reset(pod, now));

        var condition = pod.Status.Conditions.Single(c => c.Type == DisruptionTarget.ConditionType);
        Assert.Equal(("False", now, null, null, null), (condition.Status, condition.LastTransitionTime, condition.Reason, condition.Message, condition.LastProbeTime));
        Assert.Equal(["Ready", DisruptionTarget.ConditionType], pod.Status.Conditions.Select(c => c.Type));
        Assert.False(StalePodDisruptionController.Reset(pod, now + TimeSpan.FromSeconds(5)));
        Assert.Equal(now, condition.LastTransitionTime);
    }

    [Fact]
    public async Task Reconcile_ResetsAConditionLeftOnAPod_OnceItIsStale_AndNotBefore()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(T0);
        await CreateMarkedAsync(cluster, "left", time.GetUtcNow());
        var pods = await cluster.TrackAsync<Pod>();
        await using var harness = await Harness.StartAsync(cluster, time);
        await harness.IdleAsync(cluster);
        Assert.Equal(1, harness.Controller.Queue.DelayedCount);

        time.Advance(Timeout - TimeSpan.FromSeconds(1));
        await harness.IdleAsync(cluster);
        Assert.Equal("True", (await TargetOfAsync(cluster, "left")).Status);

        // Looked at before its time (a restart, another change): it waits for the rest.
        harness.Controller.Enqueue("default/left");
        await harness.IdleAsync(cluster);
        Assert.Equal("True", (await TargetOfAsync(cluster, "left")).Status);
        Assert.Equal(1, harness.Controller.Queue.DelayedCount);

        time.Advance(TimeSpan.FromSeconds(1));

        await pods.WaitForAsync("left", p => IsReset(p), "the condition set to False");
        var condition = await TargetOfAsync(cluster, "left");
        Assert.Equal(("False", T0 + Timeout, null, null), (condition.Status, condition.LastTransitionTime, condition.Reason, condition.Message));
        await harness.IdleAsync(cluster);
        Assert.Equal(0, harness.Controller.Queue.DelayedCount);
    }

    [Fact]
    public async Task Reconcile_LeavesPodsBeingDeleted_Finished_OrMarkedByAKubelet_Alone()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(T0);
        var now = time.GetUtcNow();
        await CreateMarkedAsync(cluster, "stale", now);
        await CreateMarkedAsync(cluster, "terminating", now);
        await cluster.Client.DeleteAsync(ResourceCatalog.For<Pod>(), "default", "terminating", null, null, CancellationToken.None);
        await CreateMarkedAsync(cluster, "succeeded", now, phase: "Succeeded");
        await CreateMarkedAsync(cluster, "failed", now, phase: "Failed");
        await CreateMarkedAsync(cluster, "kubelet", now, reason: StalePodDisruptionController.TerminationByKubelet);
        var pods = await cluster.TrackAsync<Pod>();
        Assert.NotNull(pods.Informer.Get("default", "terminating")!.Metadata.DeletionTimestamp);
        await using var harness = await Harness.StartAsync(cluster, time);
        await harness.IdleAsync(cluster);

        // Only the stale one waits for its time.
        Assert.Equal(1, harness.Controller.Queue.DelayedCount);
        time.Advance(Timeout + TimeSpan.FromMinutes(10));
        await pods.WaitForAsync("stale", p => IsReset(p), "the stale condition set to False");
        await harness.IdleAsync(cluster);

        foreach (var name in new[] { "terminating", "succeeded", "failed", "kubelet" })
        {
            var condition = await TargetOfAsync(cluster, name);
            Assert.Equal(("True", now), (condition.Status, condition.LastTransitionTime));
        }
    }

    [Fact]
    public async Task Reconcile_WhenTheConditionIsRefreshedMeanwhile_WaitsFromItsNewTransitionTime()
    {
        await using var cluster = await TestCluster.StartAsync(controllers: false);
        var time = new FakeTimeProvider(T0);
        await CreateMarkedAsync(cluster, "refreshed", time.GetUtcNow());
        var pods = await cluster.TrackAsync<Pod>();
        await using var harness = await Harness.StartAsync(cluster, time);
        await harness.IdleAsync(cluster);

        time.Advance(TimeSpan.FromSeconds(90));
        var refreshedAt = time.GetUtcNow();
        await cluster.Client.MutateAsync<Pod>("default", "refreshed", "status", p =>
        {
            p.Status!.Conditions!.Single(c => c.Type == DisruptionTarget.ConditionType).LastTransitionTime = refreshedAt;
            return true;
        }, CancellationToken.None);
        await harness.IdleAsync(cluster);

        // The first due time passes: the pod is looked at and queued again for its new one.
        time.Advance(TimeSpan.FromSeconds(30));
        await harness.IdleAsync(cluster);
        Assert.Equal("True", (await TargetOfAsync(cluster, "refreshed")).Status);
        Assert.Equal(1, harness.Controller.Queue.DelayedCount);

        time.Advance(Timeout - TimeSpan.FromSeconds(31));
        await harness.IdleAsync(cluster);
        Assert.Equal("True", (await TargetOfAsync(cluster, "refreshed")).Status);

        time.Advance(TimeSpan.FromSeconds(1));
        await pods.WaitForAsync("refreshed", p => IsReset(p), "the condition set to False");
        Assert.Equal(refreshedAt + Timeout, (await TargetOfAsync(cluster, "refreshed")).LastTransitionTime);
    }

    /// <summary>A pod bound to a node (so a deletion leaves it Terminating) carrying the condition True since <paramref name="at"/>.</summary>
    private static async Task CreateMarkedAsync(TestCluster cluster, string name, DateTimeOffset at, string phase = "Running", string reason = DisruptionTarget.EvictionReason)
    {
        await cluster.CreateAsync(new Pod
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "default" },
            Spec = new PodSpec { NodeName = "edge-0", Containers = [new Container { Name = "app", Image = "registry.example/app:1" }] },
        });
        await cluster.Client.MutateAsync<Pod>("default", name, "status", p =>
        {
            (p.Status ??= new PodStatus()).Phase = phase;
            return DisruptionTarget.Mark(p, reason, "marked by the test", at);
        }, CancellationToken.None);
    }

    private static async Task<PodCondition> TargetOfAsync(TestCluster cluster, string name) =>
        (await cluster.GetAsync<Pod>(name))!.Status!.Conditions!.Single(c => c.Type == DisruptionTarget.ConditionType);

    private static bool IsReset(Pod pod) =>
        pod.Status?.Conditions?.Exists(c => c.Type == DisruptionTarget.ConditionType && c.Status == "False") == true;

    /// <summary>The controller with its own pod informer, run as the controller manager would run it.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        private Harness(TestCluster cluster, FakeTimeProvider time)
        {
            Pods = new Informer<Pod>(ResourceCatalog.For<Pod>(), cluster.Service, cluster.Cache, TimeProvider.System, NullLogger.Instance);
            Controller = new StalePodDisruptionController(Pods, cluster.Client, time, NullLogger.Instance, new ControllerOptions());
        }

        public Informer<Pod> Pods { get; }

        public StalePodDisruptionController Controller { get; }

        public static async Task<Harness> StartAsync(TestCluster cluster, FakeTimeProvider time)
        {
            var harness = new Harness(cluster, time);
            var ct = harness._stop.Token;
            harness._run = Task.WhenAll(harness.Pods.RunAsync(ct), harness.Controller.RunAsync(ct));
            await harness.Pods.Synced;
            return harness;
        }

        /// <summary>
        /// Waits until the controller has nothing to do until the fake clock moves: its informer has seen every write
        /// (so its handlers have queued what they would) and no key is queued or being reconciled.
        /// </summary>
        public async Task IdleAsync(TestCluster cluster)
        {
            var deadline = DateTime.UtcNow + TestCluster.WaitLimit;
            while (true)
            {
                var revision = await cluster.Service.Store.GetCurrentRevisionAsync();
                await Pods.WaitForRevisionAsync(revision, CancellationToken.None);
                if (Controller.Queue.ActiveCount == 0 && await cluster.Service.Store.GetCurrentRevisionAsync() == revision)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, "the controller did not settle");
                await Task.Delay(10);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _run;
            }
            catch (OperationCanceledException)
            {
            }

            Controller.Dispose();
            _stop.Dispose();
        }
    }
}
