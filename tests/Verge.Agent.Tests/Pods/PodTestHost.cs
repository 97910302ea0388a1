using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Verge.Agent.Channel;
using Verge.Agent.Pods;
using Verge.Agent.State;
using Verge.Agent.Tests.Fakes;
using Verge.Core.Core;
using Verge.Core.Serialization;

namespace Verge.Agent.Tests.Pods;

/// <summary>A pod manager over a temp data dir, the fake driver, the fake network and a fake clock.</summary>
internal sealed class PodTestHost : IAsyncDisposable
{
    private long _revision;
    private PodMetrics _metrics = new();

    public PodTestHost(FakeDriver? driver = null, string? dataDir = null, FakeTimeProvider? time = null)
    {
        DataDir = dataDir ?? Directory.CreateTempSubdirectory("verge-pods-").FullName;
        Time = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Driver = driver ?? new FakeDriver(time: Time);
        State = LocalState.Open(DataDir);
        _revision = State.LastRevision;
        Manager = CreateManager();
    }

    public string DataDir { get; }

    public FakeTimeProvider Time { get; }

    public FakeDriver Driver { get; private set; }

    public FakePodNetwork Network { get; } = new();

    public RecordingStatusPublisher Publisher { get; private set; } = new();

    public LocalState State { get; private set; }

    public PodManager Manager { get; private set; }

    public List<Verge.Agent.Drivers.IWorkloadDriver> ExtraDrivers { get; } = [];

    public static Pod MakePod(string name, string restartPolicy = "Always", params Container[] containers) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new Verge.Core.Meta.ObjectMeta { Name = name, Namespace = "default", Uid = $"uid-{name}" },
        Spec = new PodSpec
        {
            RestartPolicy = restartPolicy,
            Containers = containers.Length == 0 ? [new Container { Name = "app", Image = "busybox:1.36" }] : [.. containers],
            NodeName = "node-1",
        },
    };

    public Task StartAsync() => Manager.StartAsync(CancellationToken.None);

    public Task ApplyAsync(Pod pod) => ApplyAsync(DesiredKind.Pod, pod.Metadata.Namespace!, pod.Metadata.Name!, JsonSerializer.SerializeToUtf8Bytes(pod, VergeJson.Options));

    /// <summary>What a graceful delete sends the node: the pod with a deletionTimestamp and its grace period.</summary>
    public Task MarkDeletedAsync(Pod pod, long gracePeriodSeconds)
    {
        pod.Metadata.DeletionTimestamp = Time.GetUtcNow();
        pod.Metadata.DeletionGracePeriodSeconds = gracePeriodSeconds;
        return ApplyAsync(pod);
    }

    public Task ApplyAsync(ConfigMap cm) => ApplyAsync(DesiredKind.ConfigMap, cm.Metadata.Namespace!, cm.Metadata.Name!, JsonSerializer.SerializeToUtf8Bytes(cm, VergeJson.Options));

    public Task ApplyAsync(Secret secret) => ApplyAsync(DesiredKind.Secret, secret.Metadata.Namespace!, secret.Metadata.Name!, JsonSerializer.SerializeToUtf8Bytes(secret, VergeJson.Options));

    public Task DeleteAsync(DesiredKind kind, string ns, string name)
    {
        var revision = ++_revision;
        return State.ApplyAsync(new DesiredBatch(revision, false, [new DesiredChange(new DesiredKey(kind, ns, name), true, revision, null)]), CancellationToken.None);
    }

    public PodStatus? Status(Pod pod) => Publisher.Latest(pod.Metadata.Uid!);

    public ContainerStatus? Container(Pod pod, string name = "app") =>
        Status(pod)?.ContainerStatuses?.FirstOrDefault(c => c.Name == name)
        ?? Status(pod)?.InitContainerStatuses?.FirstOrDefault(c => c.Name == name);

    /// <summary>Polls a condition until it holds, failing with <paramref name="what"/> after a generous deadline.</summary>
    public static async Task Eventually(Func<bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for: {what}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Advances the fake clock in steps until the condition holds.</summary>
    public async Task AdvanceUntil(Func<bool> condition, TimeSpan step, string what, int maxSteps = 400)
    {
        for (var i = 0; i < maxSteps; i++)
        {
            if (condition())
            {
                return;
            }

            Time.Advance(step);

            // Let the workers react to the new time before the next step.
            var settle = DateTime.UtcNow.AddMilliseconds(30);
            while (!condition() && DateTime.UtcNow < settle)
            {
                await Task.Delay(2);
            }
        }

        Assert.True(condition(), $"condition never held while advancing the clock: {what}");
    }

    /// <summary>Stops the manager (containers keep "running" in the driver) and starts a new one over the same data dir.</summary>
    public async Task RestartAgentAsync(FakeDriver? newDriver = null)
    {
        await Manager.DisposeAsync();
        State.Dispose();
        _metrics.Dispose();
        _metrics = new PodMetrics();
        if (newDriver is not null)
        {
            Driver = newDriver;
        }

        Publisher = new RecordingStatusPublisher();
        State = LocalState.Open(DataDir);
        Manager = CreateManager();
        await Manager.StartAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        // A termination still waiting on the fake driver (a test that failed) ends rather than hang the disposal.
        Driver.Release();
        await Manager.DisposeAsync();
        State.Dispose();
        _metrics.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task ApplyAsync(DesiredKind kind, string ns, string name, byte[] json)
    {
        var revision = ++_revision;
        await State.ApplyAsync(new DesiredBatch(revision, false, [new DesiredChange(new DesiredKey(kind, ns, name), false, revision, json)]), CancellationToken.None);
    }

    private PodManager CreateManager()
    {
        var options = new PodManagerOptions
        {
            DataDir = DataDir,
            NodeName = "node-1",
            HostIp = "192.168.1.10",
            DefaultDriver = Driver.Name,
            NodeCpuMillis = 4000,
            NodeMemoryBytes = 8L << 30,
        };
        return new PodManager(new PodWorkerContext
        {
            Options = options,
            State = State,
            Config = new LocalStateConfigSource(State),
            Drivers = new DriverRegistry([Driver, .. ExtraDrivers], Driver.Name),
            Network = Network,
            Publisher = Publisher,
            Time = Time,
            Logger = NullLogger.Instance,
            Metrics = _metrics,
        });
    }
}
