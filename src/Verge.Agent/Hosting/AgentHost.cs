using Microsoft.Extensions.Logging;
using Verge.Agent.Channel;
using Verge.Agent.Drivers;
using Verge.Agent.Drivers.Docker;
using Verge.Agent.Drivers.HostProcess;
using Verge.Agent.Drivers.Runc;
using Verge.Agent.Gateway;
using Verge.Agent.Identity;
using Verge.Agent.Images;
using Verge.Agent.Networking;
using Verge.Agent.Registration;
using Verge.Core.Core;
using Verge.Gateway;
using Verge.Gateway.Bridge;

namespace Verge.Agent.Hosting;

/// <summary>
/// <c>verge agent</c>: loads the node's identity (joining with the bootstrap token the first time), starts the pods
/// kept in local state at once (no control plane needed), then keeps the node channel up for as long as it runs.
/// Stopping the agent leaves its containers running; the next start re-attaches to them.
/// </summary>
public static partial class AgentHost
{
    /// <summary>Runs the agent until <paramref name="ct"/> is cancelled; the logs go to stderr.</summary>
    public static async Task<int> RunAsync(AgentOptions options, CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Grpc", LogLevel.Warning)
            .AddFilter("System.Net.Http", LogLevel.Warning)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
            }));
        try
        {
            await RunAsync(options, loggers, TimeProvider.System, ct);
        }
        catch (AgentJoinException e)
        {
            // A failed join is a message for the operator (bad token, wrong CA pin), not a crash.
            throw new InvalidOperationException(e.Message, e);
        }

        return 0;
    }

    internal static async Task RunAsync(AgentOptions options, ILoggerFactory loggers, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var logger = loggers.CreateLogger("Verge.Agent");
        Directory.CreateDirectory(options.DataDir);

        var identity = await AgentJoin.LoadOrJoinAsync(
            new AgentJoinOptions
            {
                Servers = options.Servers,
                Token = options.Token,
                CaCertHash = options.CaCertHash,
                DataDir = options.DataDir,
                NodeName = options.NodeName,
            },
            logger,
            ct);

        using var images = new ImageStore(
            new ImageStoreOptions
            {
                Root = Path.Combine(options.DataDir, "images"),
                InsecureRegistries = options.InsecureRegistries,
                Mirrors = options.RegistryMirrors,
            },
            loggers.CreateLogger<ImageStore>());
        var drivers = await CreateDriversAsync(options, images, loggers, time, logger, ct);
        try
        {
            var defaultDriver = options.DefaultRuntime
                ?? (drivers.Any(d => d.Name == "runc") ? "runc" : "process");
            var network = new CniPodNetwork(
                new CniOptions { StateDir = Path.Combine(options.DataDir, "cni"), Subnet = options.PodSubnet },
                loggers.CreateLogger<CniPodNetwork>());
            var (networkAvailable, networkDetail) = await network.CheckAsync(ct);
            if (!networkAvailable)
            {
                LogNoPodNetwork(logger, networkDetail);
            }

            var runtimeClasses = drivers.Select(d => d.Name).ToArray();
            var reports = new NodeReportSource(() => NodeInfoCollector.Collect(new NodeInfoOptions
            {
                NodeName = options.NodeName,
                Labels = options.Labels,
                Site = options.Site,
                ExtendedResources = options.ExtendedResources,
                RuntimeClasses = runtimeClasses,
                DataDir = options.DataDir,
                MaxPods = options.MaxPods,
                Time = time,
            }), time);
            var hostIp = reports.Current().Status?.Addresses?.FirstOrDefault(a => a.Type == "InternalIP")?.Address;

            var publisher = new ForwardingPublisher();
            await using var runtime = new AgentRuntime(
                new AgentRuntimeOptions
                {
                    DataDir = options.DataDir,
                    NodeName = options.NodeName,
                    HostIp = hostIp,
                    DefaultDriver = defaultDriver,
                },
                drivers,
                network,
                publisher,
                loggers,
                time);
            var channel = new NodeChannelClient(
                new NodeChannelClientOptions { Servers = options.Servers },
                identity,
                runtime.DesiredState,
                reports.Current,
                runtime.LogSource,
                loggers,
                time)
            {
                Images = images,
                Exec = runtime.Pods,
            };
            publisher.Target = channel;

            await runtime.StartAsync(ct);
            await using var trimmer = new MemoryTrimmer(new MemoryTrimmerOptions(), time, logger);
            trimmer.Start();
            await using var gateway = options.Gateway ? await StartGatewayAsync(options, runtime, channel, loggers, time, ct) : null;
            LogStarted(logger, options.NodeName, string.Join(", ", runtimeClasses), defaultDriver, options.DataDir);
            _ = channel.FirstSync.ContinueWith(
                _ => LogSynced(logger, options.NodeName, channel.Server?.ToString() ?? ""),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion,
                TaskScheduler.Default);
            try
            {
                await channel.RunAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }

            LogStopping(logger, options.NodeName);
        }
        finally
        {
            foreach (var driver in drivers.OfType<IAsyncDisposable>())
            {
                await driver.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Starts the gateway module over the node's local state (devices, their secrets, data rules), sending upstream
    /// through the node channel and, when configured, an external MQTT broker.
    /// </summary>
    private static async Task<GatewayHandle> StartGatewayAsync(
        AgentOptions options, AgentRuntime runtime, NodeChannelClient channel, ILoggerFactory loggers, TimeProvider time, CancellationToken ct)
    {
        var state = new LocalGatewayState(runtime.State);
        var uplinks = new List<IUplink> { channel };
        MqttBridgeUplink? bridge = null;
        if (options.MqttBridge is { } target)
        {
            var colon = target.LastIndexOf(':');
            bridge = new MqttBridgeUplink(
                new MqttBridgeOptions { Host = target[..colon], Port = int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), ClientId = $"verge-bridge-{options.NodeName}" },
                time,
                loggers.CreateLogger<MqttBridgeUplink>());
            uplinks.Add(bridge);
        }

        var module = new GatewayModule(
            new GatewayOptions
            {
                GatewayId = options.NodeName,
                MqttListen = options.MqttListen,
                IngestListen = options.IngestListen,
                QueueDirectory = Path.Combine(options.DataDir, "gateway", "queue"),
            },
            state,
            uplinks,
            channel,
            channel,
            time,
            loggers,
            pods: new LocalPods(runtime.Pods));
        try
        {
            await module.StartAsync(ct);
        }
        catch
        {
            await module.DisposeAsync();
            state.Dispose();
            throw;
        }

        LogGatewayStarted(loggers.CreateLogger("Verge.Agent"), options.MqttListen, options.IngestListen ?? "off", options.MqttBridge ?? "none");
        return new GatewayHandle(module, state, bridge);
    }

    /// <summary>The running gateway and what it owns, stopped together.</summary>
    private sealed class GatewayHandle(GatewayModule module, LocalGatewayState state, MqttBridgeUplink? bridge) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await module.DisposeAsync();
            if (bridge is not null)
            {
                await bridge.DisposeAsync();
            }

            state.Dispose();
        }
    }

    /// <summary>The drivers that work on this machine; those that do not are left out with the reason logged.</summary>
    private static async Task<List<IWorkloadDriver>> CreateDriversAsync(
        AgentOptions options, ImageStore images, ILoggerFactory loggers, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var candidates = new List<IWorkloadDriver>
        {
            new RuncDriver(new RuncDriverOptions { Root = Path.Combine(options.DataDir, "runc") }, images, loggers.CreateLogger<RuncDriver>(), time),
            new ProcessDriver(new ProcessDriverOptions { StateDirectory = Path.Combine(options.DataDir, "process") }, loggers.CreateLogger<ProcessDriver>(), time),
        };
        if (options.DockerSocket is not null)
        {
            candidates.Add(new DockerDriver(
                new DockerDriverOptions { Socket = options.DockerSocket, StateDirectory = Path.Combine(options.DataDir, "docker") },
                loggers.CreateLogger<DockerDriver>(),
                time));
        }

        var healthy = new List<IWorkloadDriver>();
        foreach (var driver in candidates)
        {
            var fingerprint = await driver.FingerprintAsync(ct);
            if (fingerprint.Healthy)
            {
                healthy.Add(driver);
            }
            else
            {
                LogDriverUnavailable(logger, driver.Name, fingerprint.Detail);
                if (driver is IAsyncDisposable disposable)
                {
                    await disposable.DisposeAsync();
                }
            }
        }

        if (options.DefaultRuntime is { } wanted && !healthy.Any(d => d.Name == wanted))
        {
            throw new InvalidOperationException($"--default-runtime {wanted} does not work on this machine (see the log above)");
        }

        return healthy;
    }

    /// <summary>Lets the runtime publish before the channel client exists; the channel is set before anything starts.</summary>
    private sealed class ForwardingPublisher : IStatusPublisher
    {
        public NodeChannelClient? Target { get; set; }

        public void PublishPodStatus(string podNamespace, string podName, string podUid, PodStatus status) =>
            Target?.PublishPodStatus(podNamespace, podName, podUid, status);

        public void PublishPodTerminated(string podNamespace, string podName, string podUid, PodStatus? status) =>
            Target?.PublishPodTerminated(podNamespace, podName, podUid, status);

        public void PublishEvent(Event recorded) => Target?.PublishEvent(recorded);
    }

    [LoggerMessage(EventId = 5901, Level = LogLevel.Information, Message = "Agent {Node} started: drivers {Drivers} (default {Default}), data in {DataDir}; pods from local state are running")]
    private static partial void LogStarted(ILogger logger, string node, string drivers, string @default, string dataDir);

    [LoggerMessage(EventId = 5902, Level = LogLevel.Information, Message = "Agent {Node} is in sync with {Server}")]
    private static partial void LogSynced(ILogger logger, string node, string server);

    [LoggerMessage(EventId = 5903, Level = LogLevel.Warning, Message = "Driver {Driver} is unavailable: {Detail}")]
    private static partial void LogDriverUnavailable(ILogger logger, string driver, string detail);

    [LoggerMessage(EventId = 5904, Level = LogLevel.Warning, Message = "Pod networking is unavailable, pods that need their own network will wait: {Detail}")]
    private static partial void LogNoPodNetwork(ILogger logger, string detail);

    [LoggerMessage(EventId = 5906, Level = LogLevel.Information, Message = "Gateway started: MQTT on {Mqtt}, HTTP ingest on {Ingest}, bridge {Bridge}")]
    private static partial void LogGatewayStarted(ILogger logger, string mqtt, string ingest, string bridge);

    [LoggerMessage(EventId = 5905, Level = LogLevel.Information, Message = "Agent {Node} stopping; its containers keep running")]
    private static partial void LogStopping(ILogger logger, string node);
}
