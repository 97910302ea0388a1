using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Controllers.DaemonSets;
using Verge.Controllers.Deployments;
using Verge.Controllers.Disruption;
using Verge.Controllers.GarbageCollection;
using Verge.Controllers.Nodes;
using Verge.Controllers.ReplicaSets;
using Verge.Controllers.Runtime;
using Verge.Controllers.Scheduling;
using Verge.Core.Apps;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.Controllers;

/// <summary>
/// Runs the controllers inside <c>verge server</c>, on the leader only: it campaigns for the
/// <c>kube-system/verge-controller-manager</c> Lease, and while it holds it runs fresh informers and the
/// ReplicaSet, Deployment, garbage collection, node lifecycle, DaemonSet and disruption controllers (the last with its
/// reset of stale DisruptionTarget conditions) and the scheduling loop; when leadership is lost they stop and it campaigns
/// again. A failure of a term is logged and followed by a jittered pause.
/// </summary>
internal sealed partial class ControllerManager : BackgroundService
{
    private readonly ResourceService _service;
    private readonly WatchCache _cache;
    private readonly ControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly ApiClient _client;
    private TaskCompletionSource _leading = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ControllerManager(ResourceService service, WatchCache cache, ControllerOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        options.Validate();
        _service = service;
        _cache = cache;
        _options = options;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<ControllerManager>();
        _client = new ApiClient(service, options.Component);
        Elector = new LeaderElector(_client, options.LeaderElection, time, loggers.CreateLogger<LeaderElector>());
    }

    public LeaderElector Elector { get; }

    public string Identity => Elector.Identity;

    public bool IsLeader => Elector.IsLeader;

    /// <summary>Completed while this manager's controllers lead; otherwise completes when they next start leading.</summary>
    public Task Leading => Volatile.Read(ref _leading).Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _cache.Ready.WaitAsync(stoppingToken);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Elector.RunAsync(LeadAsync, stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures++;
                LogTermFailed(_logger, e);
                try
                {
                    await Task.Delay(Backoff.Jittered(TimeSpan.FromSeconds(Math.Min(failures, 30)), 0.5), _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One leadership term: informers and controllers until <paramref name="ct"/> is cancelled.</summary>
    private async Task LeadAsync(CancellationToken ct)
    {
        var informers = new InformerFactory(_service, _cache, _time, _loggers);
        var events = new EventRecorder(_client, _time, _options.Component, Identity, _loggers.CreateLogger<EventRecorder>());
        var pods = informers.For<Pod>();
        var replicaSets = informers.For<ReplicaSet>();
        var deployments = informers.For<Deployment>();

        // The scheduling loop asks for its typed informers (nodes, priority classes) before the garbage collector
        // creates untyped ones for every kind.
        var nodes = informers.For<Node>();
        var leases = informers.For<Lease>();
        var heartbeats = new NodeHeartbeats(nodes, leases, _options.NodeLifecycle, _time);
        using var scheduler = new SchedulingLoop(informers, _client, _time, _loggers, Identity, _options.Scheduling, heartbeats.IsLapsed);
        var daemonSets = informers.For<DaemonSet>();
        var revisions = informers.For<ControllerRevision>();
        var budgets = informers.For<PodDisruptionBudget>();
        var gcInformers = ResourceCatalog.All.Where(t => t.Kind != "Event").Select(informers.For).ToList();
        using var replicaSetController = new ReplicaSetController(replicaSets, pods, _client, events, _time, _loggers.CreateLogger<ReplicaSetController>(), _options);
        using var deploymentController = new DeploymentController(deployments, replicaSets, pods, _client, events, _time, _loggers.CreateLogger<DeploymentController>(), _options);
        using var garbageCollector = new GarbageCollector(gcInformers, _client, _time, _loggers.CreateLogger<GarbageCollector>(), _options);
        using var nodeLifecycleController = new NodeLifecycleController(nodes, leases, pods, _client, events, _time, _loggers.CreateLogger<NodeLifecycleController>(), _options, _options.NodeLifecycle, heartbeats);
        using var daemonSetController = new DaemonSetController(daemonSets, pods, nodes, revisions, _client, events, _time, _loggers.CreateLogger<DaemonSetController>(), _options, _options.DaemonSets);
        using var disruptionController = new DisruptionController(budgets, pods, replicaSets, deployments, _client, events, _time, _loggers.CreateLogger<DisruptionController>(), _options);
        using var stalePodDisruptionController = new StalePodDisruptionController(pods, _client, _time, _loggers.CreateLogger<StalePodDisruptionController>(), _options);
        LogLeading(_logger, Identity);
        Volatile.Read(ref _leading).TrySetResult();
        try
        {
            await Task.WhenAll(
                informers.RunAsync(ct),
                replicaSetController.RunAsync(ct),
                deploymentController.RunAsync(ct),
                garbageCollector.RunAsync(ct),
                scheduler.RunAsync(ct),
                nodeLifecycleController.RunAsync(ct),
                daemonSetController.RunAsync(ct),
                disruptionController.RunAsync(ct),
                stalePodDisruptionController.RunAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            Volatile.Write(ref _leading, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }

    [LoggerMessage(EventId = 4701, Level = LogLevel.Information, Message = "Controllers start as leader {Identity}")]
    private static partial void LogLeading(ILogger logger, string identity);

    [LoggerMessage(EventId = 4702, Level = LogLevel.Error, Message = "A controller leadership term failed; campaigning again")]
    private static partial void LogTermFailed(ILogger logger, Exception exception);
}
