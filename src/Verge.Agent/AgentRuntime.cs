using Microsoft.Extensions.Logging;
using Verge.Agent.Channel;
using Verge.Agent.Drivers;
using Verge.Agent.Logs;
using Verge.Agent.Networking;
using Verge.Agent.Pods;
using Verge.Agent.State;

namespace Verge.Agent;

/// <summary>Settings of the agent's runtime (local state, pods, logs).</summary>
internal sealed record AgentRuntimeOptions
{
    /// <summary>Holds agent.db and pods/UID (volumes, logs).</summary>
    public required string DataDir { get; init; }

    public required string NodeName { get; init; }

    /// <summary>The node's IP address (status.hostIP; the pod IP of hostNetwork pods).</summary>
    public string? HostIp { get; init; }

    /// <summary>The driver for pods without runtimeClassName.</summary>
    public required string DefaultDriver { get; init; }

    /// <summary>Drivers whose tasks run in the host network (no pod network namespace).</summary>
    public IReadOnlyCollection<string> HostNetworkDrivers { get; init; } = ["process"];

    public LogOptions Logs { get; init; } = new();

    public TimeSpan SetUpRetry { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The agent's workload side, composed: <see cref="LocalState"/> (the durable desired state the channel client feeds),
/// <see cref="PodManager"/> (a worker per pod, publishing status and events) and <see cref="LogManager"/> (kubectl
/// logs). Starting it runs the pods already in local state, so a node works without its control plane.
/// </summary>
internal sealed class AgentRuntime : IAsyncDisposable
{
    private readonly PodMetrics _metrics = new();
    private bool _started;

    public AgentRuntime(
        AgentRuntimeOptions options,
        IReadOnlyList<IWorkloadDriver> drivers,
        IPodNetwork network,
        IStatusPublisher publisher,
        ILoggerFactory loggerFactory,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var podOptions = new PodManagerOptions
        {
            DataDir = options.DataDir,
            NodeName = options.NodeName,
            HostIp = options.HostIp,
            DefaultDriver = options.DefaultDriver,
            HostNetworkDrivers = options.HostNetworkDrivers,
            SetUpRetry = options.SetUpRetry,
        };
        podOptions.Validate();
        var registry = new DriverRegistry(drivers, options.DefaultDriver);
        State = LocalState.Open(options.DataDir);
        try
        {
            Pods = new PodManager(new PodWorkerContext
            {
                Options = podOptions,
                State = State,
                Config = new LocalStateConfigSource(State),
                Drivers = registry,
                Network = network,
                Publisher = publisher,
                Time = time,
                Logger = loggerFactory.CreateLogger<PodManager>(),
                Metrics = _metrics,
            });
            Logs = new LogManager(options.DataDir, Pods, options.Logs, time, loggerFactory.CreateLogger<LogManager>());
        }
        catch
        {
            State.Dispose();
            throw;
        }
    }

    /// <summary>The node's desired state: hand it to the channel client as its <see cref="IDesiredState"/>.</summary>
    public LocalState State { get; }

    public IDesiredState DesiredState => State;

    public PodManager Pods { get; }

    /// <summary>The node's logs: hand it to the channel client as its <see cref="ILogSource"/>.</summary>
    public LogManager Logs { get; }

    public ILogSource LogSource => Logs;

    public async Task StartAsync(CancellationToken ct)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        await Pods.StartAsync(ct);
        Logs.Start();
    }

    /// <summary>Stops the workers (containers keep running, recovered at the next start) and closes local state.</summary>
    public async ValueTask DisposeAsync()
    {
        await Logs.DisposeAsync();
        await Pods.DisposeAsync();
        State.Dispose();
        _metrics.Dispose();
    }
}

/// <summary>ConfigMaps and Secrets for pods, read from local state.</summary>
internal sealed class LocalStateConfigSource(LocalState state) : IPodConfigSource
{
    public Verge.Core.Core.ConfigMap? GetConfigMap(string configMapNamespace, string name) => state.GetConfigMap(configMapNamespace, name);

    public Verge.Core.Core.Secret? GetSecret(string secretNamespace, string name) => state.GetSecret(secretNamespace, name);
}
