using Microsoft.Extensions.Logging;
using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.Controllers.Runtime;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.Controllers.Disruption;

/// <summary>
/// Keeps the status of every PodDisruptionBudget current, as Kubernetes' disruption controller does
/// (<see cref="DisruptionPlanner"/> computes it): how many matching pods are healthy, how many must be, and so how
/// many disruptions the eviction subresource may allow. It looks again when a budget or a pod it covers changes, and
/// when the oldest entry of <c>status.disruptedPods</c> is due to expire. A budget whose expected pods cannot be
/// counted (a controller without a scale, such as a DaemonSet, under <c>maxUnavailable</c>) allows no disruption and
/// says why in its DisruptionAllowed condition (SyncFailed).
/// </summary>
/// <remarks>
/// The status write is pinned to the resourceVersion the sync read, as Kubernetes' UpdateStatus is: an eviction that
/// took a disruption meanwhile makes it a conflict, and the budget is synced again from the newer object rather than
/// giving the disruption back.
/// </remarks>
internal sealed partial class DisruptionController : Controller
{
    private static readonly ResourceType BudgetType = ResourceCatalog.For<PodDisruptionBudget>();

    private readonly Informer<PodDisruptionBudget> _budgets;
    private readonly Informer<Pod> _pods;
    private readonly Informer<ReplicaSet> _replicaSets;
    private readonly Informer<Deployment> _deployments;
    private readonly ApiClient _client;
    private readonly EventRecorder _events;
    private readonly ILogger _logger;

    public DisruptionController(
        Informer<PodDisruptionBudget> budgets,
        Informer<Pod> pods,
        Informer<ReplicaSet> replicaSets,
        Informer<Deployment> deployments,
        ApiClient client,
        EventRecorder events,
        TimeProvider time,
        ILogger logger,
        ControllerOptions options)
        : base("disruption", time, logger, options)
    {
        _budgets = budgets;
        _pods = pods;
        _replicaSets = replicaSets;
        _deployments = deployments;
        _client = client;
        _events = events;
        _logger = logger;
        budgets.AddHandler(new InformerHandler<PodDisruptionBudget>
        {
            OnAdd = pdb => Enqueue(Objects.KeyOf(pdb)),
            OnUpdate = (_, pdb) => Enqueue(Objects.KeyOf(pdb)),
            OnDelete = pdb => Enqueue(Objects.KeyOf(pdb)),
        });
        pods.AddHandler(new InformerHandler<Pod>
        {
            OnAdd = EnqueueBudgetsOf,
            OnUpdate = (old, pod) =>
            {
                EnqueueBudgetsOf(old);
                EnqueueBudgetsOf(pod);
            },
            OnDelete = EnqueueBudgetsOf,
        });
    }

    protected override IEnumerable<IInformer> Informers => [_budgets, _pods, _replicaSets, _deployments];

    protected override int Workers => 1;

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Objects.SplitKey(key);
        var pdb = _budgets.Get(ns, name);
        if (pdb is null)
        {
            ForgetWrites(key);
            return null;
        }

        var selector = DisruptionBudgets.SelectorOf(pdb);
        var pods = _pods.List(ns).Where(p => selector.Matches(p.Metadata.Labels)).ToList();
        if (pods.Count == 0)
        {
            await _events.NormalAsync(pdb, "NoPods", "No matching pods found", ct);
        }

        var now = Time.GetUtcNow();
        var sync = DisruptionPlanner.Sync(pdb, pods, ScaleOf, now);
        if (sync.Error is { } error)
        {
            await _events.WarningAsync(pdb, "CalculateExpectedPodCountFailed", $"Failed to calculate the number of expected pods: {error}", ct);
            LogSyncFailed(_logger, key, error);
            await WriteStatusAsync(key, pdb, DisruptionPlanner.FailSafe(pdb, error, now), ct);
            return null;
        }

        if (sync.Unmanaged.Count > 0)
        {
            await _events.WarningAsync(pdb, "UnmanagedPods",
                $"Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", ct);
        }

        foreach (var pod in sync.NotDeleted)
        {
            await _events.WarningAsync(pod, "NotDeleted", $"Pod was expected by PDB {pdb.Metadata.Namespace}/{pdb.Metadata.Name} to be deleted but it wasn't", ct);
        }

        if (!DisruptionPlanner.UpToDate(pdb, sync.Status!))
        {
            await WriteStatusAsync(key, pdb, sync.Status!, ct);
        }

        return sync.RecheckAt is { } at ? at - now : null;
    }

    /// <summary>
    /// The scale of a pod's controller (Kubernetes' finders): a ReplicaSet's, or its Deployment's when a Deployment
    /// controls it; null when the controller is gone or is another object of that name. A kind without a scale is an
    /// error, as in Kubernetes.
    /// </summary>
    private ControllerScale? ScaleOf(OwnerReference reference, string? ns)
    {
        var group = reference.ApiVersion.Contains('/', StringComparison.Ordinal) ? reference.ApiVersion[..reference.ApiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
        if (reference.Kind == "ReplicaSet" && group is "apps" or "extensions")
        {
            if (_replicaSets.Get(ns, reference.Name) is not { } rs || rs.Metadata.Uid != reference.Uid)
            {
                return null;
            }

            if (Objects.ControllerOf(rs) is { Kind: "Deployment" } owner)
            {
                return _deployments.Get(ns, owner.Name) is { } deployment && deployment.Metadata.Uid == owner.Uid
                    ? new ControllerScale(deployment.Metadata.Uid!, deployment.Spec.Replicas ?? 1)
                    : null;
            }

            return new ControllerScale(rs.Metadata.Uid!, rs.Spec.Replicas ?? 1);
        }

        if (reference.Kind == "Deployment" && group is "apps" or "extensions")
        {
            return _deployments.Get(ns, reference.Name) is { } deployment && deployment.Metadata.Uid == reference.Uid
                ? new ControllerScale(deployment.Metadata.Uid!, deployment.Spec.Replicas ?? 1)
                : null;
        }

        var type = ResourceCatalog.FindByKind(reference.ApiVersion, reference.Kind)
            ?? throw new InvalidOperationException($"no matches for kind \"{reference.Kind}\" in version \"{reference.ApiVersion}\"");
        throw new InvalidOperationException($"{type.GroupResource} does not implement the scale subresource");
    }

    private void EnqueueBudgetsOf(Pod pod)
    {
        foreach (var pdb in _budgets.List(pod.Metadata.Namespace))
        {
            if (DisruptionBudgets.Covers(pdb, pod))
            {
                Enqueue(Objects.KeyOf(pdb));
            }
        }
    }

    /// <summary>Writes the status over the resourceVersion the sync read; a conflict fails the sync, which runs again.</summary>
    private async Task WriteStatusAsync(string key, PodDisruptionBudget pdb, PodDisruptionBudgetStatus status, CancellationToken ct)
    {
        var written = await _client.UpdateStatusAsync(BudgetType, pdb, copy => ((PodDisruptionBudget)copy).Status = status, ct);
        if (written is not null)
        {
            RecordWrite(key, _budgets, Objects.RevisionOf(written));
        }
    }

    [LoggerMessage(EventId = 4951, Level = LogLevel.Warning, Message = "PodDisruptionBudget {Key} could not be synced; it allows no disruption: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string key, string reason);
}
