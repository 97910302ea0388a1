using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.Support;

/// <summary>A real API server (127.0.0.1, a free port, a fresh data dir) with the controllers registered, as in <c>verge server</c>.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    /// <summary>The longest any test waits for the cluster to reach a state before it fails.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(60);

    private readonly List<IAsyncDisposable> _owned = [];

    private TestCluster(ApiServerHost host, string dataDir)
    {
        Host = host;
        DataDir = dataDir;
        Service = host.Services.GetRequiredService<ResourceService>();
        Cache = host.Services.GetRequiredService<WatchCache>();
        Client = new ApiClient(Service, "verge-tests");
    }

    public ApiServerHost Host { get; }

    public string DataDir { get; }

    public ResourceService Service { get; }

    public WatchCache Cache { get; }

    public ApiClient Client { get; }

    /// <summary>The controller manager of this server (null when started without controllers).</summary>
    public ControllerManager? Manager => Host.Services.GetService<ControllerManager>();

    public static async Task<TestCluster> StartAsync(bool controllers = true, Action<ControllerOptions>? configure = null, Action<ApiServerOptions>? server = null)
    {
        var dataDir = Directory.CreateTempSubdirectory("verge-controllers-").FullName;
        var options = new ApiServerOptions { Listen = "127.0.0.1:0", DataDir = dataDir };
        server?.Invoke(options);
        var host = await ApiServerHost.CreateAsync(options, services =>
        {
            if (controllers)
            {
                services.AddVergeControllers(o =>
                {
                    o.LeaderElection.Identity = "leader-under-test";
                    configure?.Invoke(o);
                });
            }
        });
        await host.StartAsync();
        return new TestCluster(host, dataDir);
    }

    /// <summary>Follows one kind from now on (list, then watch) until the cluster is disposed; the list includes every write made before.</summary>
    public async Task<Tracker<T>> TrackAsync<T>()
        where T : KubeObject
    {
        await Cache.WaitForRevisionAsync(await Service.Store.GetCurrentRevisionAsync(), CancellationToken.None);
        var tracker = new Tracker<T>(new Informer<T>(ResourceCatalog.For<T>(), Service, Cache, TimeProvider.System, NullLogger.Instance));
        _owned.Add(tracker);
        await tracker.Synced;
        return tracker;
    }

    /// <summary>Plays the node for every pod: marks pods Running and Ready when <paramref name="runs"/> says so.</summary>
    public async Task<NodeSimulator> StartNodeAsync(Func<Pod, bool>? runs = null)
    {
        var node = new NodeSimulator(this, runs ?? (_ => true));
        _owned.Add(node);
        await node.Synced;
        return node;
    }

    public Task<T> CreateAsync<T>(T obj)
        where T : KubeObject => Client.CreateAsync(obj, CancellationToken.None);

    /// <summary>Changes the newest version of an object (retrying on conflicts).</summary>
    public async Task<T> UpdateAsync<T>(string name, Action<T> change, string ns = "default")
        where T : KubeObject =>
        await Client.MutateAsync<T>(ns, name, null, obj =>
        {
            change(obj);
            return true;
        }, CancellationToken.None) ?? throw new InvalidOperationException($"{name} not found");

    public Task<T?> GetAsync<T>(string name, string ns = "default")
        where T : KubeObject => Client.GetAsync<T>(ns, name, CancellationToken.None);

    public static Deployment NewDeployment(string name, int replicas, string image = "registry.example/web:1")
    {
        var labels = new Dictionary<string, string> { ["app"] = name };
        return new Deployment
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "default" },
            Spec = new DeploymentSpec
            {
                Replicas = replicas,
                Selector = new() { MatchLabels = new(labels) },
                Template = new PodTemplateSpec
                {
                    Metadata = new ObjectMeta { Labels = new(labels) },
                    Spec = new PodSpec { Containers = [new Container { Name = "web", Image = image }] },
                },
            },
        };
    }

    public static ReplicaSet NewReplicaSet(string name, int replicas)
    {
        var labels = new Dictionary<string, string> { ["app"] = name };
        return new ReplicaSet
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "default" },
            Spec = new ReplicaSetSpec
            {
                Replicas = replicas,
                Selector = new() { MatchLabels = new(labels) },
                Template = new PodTemplateSpec
                {
                    Metadata = new ObjectMeta { Labels = new(labels) },
                    Spec = new PodSpec { Containers = [new Container { Name = "web", Image = "registry.example/web:1" }] },
                },
            },
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await Host.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
