using Microsoft.Extensions.Logging;
using Verge.ApiServer.Registry;
using Verge.Controllers.Runtime;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;

namespace Verge.Controllers.Disruption;

/// <summary>
/// Resets a stale <c>DisruptionTarget</c> pod condition, as Kubernetes' disruption controller does
/// (<c>syncStalePodDisruption</c>, on its own queue of pods). Evictions, preemption and NoExecute taints set the
/// condition True just before they delete a pod; when the deletion never comes (it failed, or the leader went away
/// between the two writes), the pod would say for ever that it is about to go. A pod whose condition is True, that is
/// not being deleted and has not finished, gets it set to False once it has been True for <see cref="Timeout"/>.
/// </summary>
/// <remarks>
/// No pass walks the pods: each pod is queued, when the informer shows it added or changed, for the moment its
/// condition becomes stale, and looked at then; a condition that moved meanwhile is queued again for its new due time.
/// The write is pinned to the resourceVersion read, as Kubernetes' UpdateStatus: a pod deleted or marked again in
/// between makes it a conflict, and the pod is looked at again from its newer version.
/// </remarks>
internal sealed partial class StalePodDisruptionController : Controller
{
    /// <summary>How long the condition may stay True on a pod that is not being deleted (Kubernetes' stalePodDisruptionTimeout).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>The reason of a condition a kubelet sets; never stale, since such a pod may take long to terminate.</summary>
    public const string TerminationByKubelet = "TerminationByKubelet";

    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();

    private readonly Informer<Pod> _pods;
    private readonly ApiClient _client;
    private readonly ILogger _logger;

    public StalePodDisruptionController(Informer<Pod> pods, ApiClient client, TimeProvider time, ILogger logger, ControllerOptions options)
        : base("stale-pod-disruption", time, logger, options)
    {
        _pods = pods;
        _client = client;
        _logger = logger;
        pods.AddHandler(new InformerHandler<Pod>
        {
            OnAdd = Schedule,
            OnUpdate = (_, pod) => Schedule(pod),
        });
    }

    protected override IEnumerable<IInformer> Informers => [_pods];

    protected override int Workers => 1;

    /// <summary>
    /// How long until the pod's <c>DisruptionTarget</c> condition is stale (zero once it is), or null when there is
    /// nothing to reset: no such condition True, the pod is being deleted or has finished (Succeeded, Failed), or a
    /// kubelet set it. A condition without a transition time is stale at once, as Kubernetes reads the zero time.
    /// </summary>
    public static TimeSpan? StaleIn(Pod pod, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Metadata.DeletionTimestamp is not null || pod.Status?.Phase is "Succeeded" or "Failed")
        {
            return null;
        }

        var condition = pod.Status?.Conditions?.Find(c => c.Type == DisruptionTarget.ConditionType);
        if (condition is not { Status: "True" } || condition.Reason == TerminationByKubelet)
        {
            return null;
        }

        var wait = condition.LastTransitionTime is { } since ? Timeout - (now - since) : TimeSpan.Zero;
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    /// <summary>
    /// Sets the condition to False as Kubernetes' UpdatePodCondition writes <c>{type: DisruptionTarget, status:
    /// False}</c>: the whole condition is replaced, so its reason, message and probe time go, and its transition time
    /// becomes <paramref name="now"/>. Returns whether anything changed.
    /// </summary>
    public static bool Reset(Pod pod, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var conditions = pod.Status?.Conditions;
        var index = conditions?.FindIndex(c => c.Type == DisruptionTarget.ConditionType) ?? -1;
        if (index < 0 || conditions![index].Status == "False" && conditions[index] is { Reason: null, Message: null, LastProbeTime: null })
        {
            return false;
        }

        var old = conditions[index];
        conditions[index] = new PodCondition
        {
            Type = DisruptionTarget.ConditionType,
            Status = "False",
            LastTransitionTime = old.Status == "False" ? old.LastTransitionTime : now,
        };
        return true;
    }

    protected override async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken ct)
    {
        var (ns, name) = Objects.SplitKey(key);
        var pod = _pods.Get(ns, name);
        if (pod is null)
        {
            ForgetWrites(key);
            return null;
        }

        var now = Time.GetUtcNow();
        if (StaleIn(pod, now) is not { } wait)
        {
            return null;
        }

        if (wait > TimeSpan.Zero)
        {
            return wait;
        }

        var written = await _client.UpdateStatusAsync(PodType, pod, copy => Reset((Pod)copy, now), ct);
        if (written is not null)
        {
            RecordWrite(key, _pods, Objects.RevisionOf(written));
            LogReset(_logger, key);
        }

        return null;
    }

    /// <summary>Queues a pod whose condition will be stale for the moment it is (the queue keeps the earliest of several).</summary>
    private void Schedule(Pod pod)
    {
        if (StaleIn(pod, Time.GetUtcNow()) is { } wait)
        {
            Queue.AddAfter(Objects.KeyOf(pod), wait);
        }
    }

    [LoggerMessage(EventId = 4952, Level = LogLevel.Information, Message = "Reset the stale DisruptionTarget condition of pod {Key} to False")]
    private static partial void LogReset(ILogger logger, string key);
}
