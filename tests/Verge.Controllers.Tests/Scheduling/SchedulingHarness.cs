using Microsoft.Extensions.Logging.Abstractions;
using Verge.Controllers.Runtime;
using Verge.Controllers.Scheduling;
using Verge.Controllers.Tests.Support;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;

namespace Verge.Controllers.Tests.Scheduling;

/// <summary>A test cluster (without the other controllers) and a scheduling loop run directly, as the manager would run it.</summary>
internal sealed class SchedulingHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;
    private SchedulingLoop? _loop;

    private SchedulingHarness(TestCluster cluster) => Cluster = cluster;

    public TestCluster Cluster { get; }

    public Tracker<Pod> Pods { get; private set; } = null!;

    public Tracker<Event> Events { get; private set; } = null!;

    public static async Task<SchedulingHarness> StartClusterAsync()
    {
        var harness = new SchedulingHarness(await TestCluster.StartAsync(controllers: false));
        harness.Pods = await harness.Cluster.TrackAsync<Pod>();
        harness.Events = await harness.Cluster.TrackAsync<Event>();
        return harness;
    }

    /// <summary>Starts the loop (with short backoffs so retries come quickly).</summary>
    /// <param name="nodeLapsed">Which nodes' heartbeats have lapsed, as the node lifecycle controller would say.</param>
    public void StartScheduler(Func<string, bool>? nodeLapsed = null)
    {
        var informers = new InformerFactory(Cluster.Service, Cluster.Cache, TimeProvider.System, NullLoggerFactory.Instance);
        _loop = new SchedulingLoop(informers, Cluster.Client, TimeProvider.System, NullLoggerFactory.Instance, "scheduler-under-test", new SchedulingLoopOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
        }, nodeLapsed);
        _run = Task.WhenAll(informers.RunAsync(_stop.Token), _loop.RunAsync(_stop.Token));
    }

    public static Node NewNode(string name, string cpu, string memory, string? site = null)
    {
        var resources = new Dictionary<string, Quantity>
        {
            ["cpu"] = Quantity.Parse(cpu),
            ["memory"] = Quantity.Parse(memory),
            ["pods"] = Quantity.Parse("110"),
        };
        return new Node
        {
            Metadata = new ObjectMeta
            {
                Name = name,
                Labels = site is null ? null : new() { ["verge.dev/site"] = site },
            },
            Status = new NodeStatus
            {
                Capacity = new(resources),
                Allocatable = new(resources),
                Conditions = [new NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady" }],
            },
        };
    }

    public static Pod NewPod(string name, string memory, string cpu = "100m", Dictionary<string, string>? labels = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default", Labels = labels },
        Spec = new PodSpec
        {
            Containers =
            [
                new Container
                {
                    Name = "app",
                    Image = "registry.example/app:1",
                    Resources = new ResourceRequirements
                    {
                        Requests = new() { ["cpu"] = Quantity.Parse(cpu), ["memory"] = Quantity.Parse(memory) },
                    },
                },
            ],
        },
    };

    public Task<Pod> WaitForBoundAsync(string name) =>
        Pods.WaitForAsync(name, p => !string.IsNullOrEmpty(p.Spec.NodeName), $"{name} bound");

    public async Task<Event> WaitForEventAsync(string involved, string reason, Func<Event, bool>? predicate = null)
    {
        Event? found = null;
        await Events.WaitUntilAsync(
            () => (found = Events.List().FirstOrDefault(e => e.InvolvedObject.Name == involved && e.Reason == reason && (predicate?.Invoke(e) ?? true))) is not null,
            () => $"a {reason} event of {involved}; events: {string.Join(" | ", Events.List().Select(e => $"{e.InvolvedObject.Name} {e.Reason} {e.Message}"))}");
        return found!;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            try
            {
                await _run;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _loop?.Dispose();
        await Cluster.DisposeAsync();
        _stop.Dispose();
    }
}
