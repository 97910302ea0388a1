using Verge.Core.Core;

namespace Verge.Core.Policy;

/// <summary>
/// The <c>DisruptionTarget</c> pod condition, which Kubernetes sets (True) on a pod just before it deletes the pod
/// for a disruption: an eviction, a preemption, a NoExecute taint. The pod stays Terminating until its node has
/// stopped it, and the condition tells whoever watches it (kubectl describe, a Job's pod failure policy, a
/// scheduler deciding whether to preempt again) why it is going.
/// </summary>
public static class DisruptionTarget
{
    public const string ConditionType = "DisruptionTarget";

    /// <summary>Reason and message of an eviction through the API (Kubernetes' EvictionREST).</summary>
    public const string EvictionReason = "EvictionByEvictionAPI";
    public const string EvictionMessage = "Eviction API: evicting";

    /// <summary>Reason of a scheduler's preemption; the message names the preemptor's scheduler.</summary>
    public const string PreemptionReason = "PreemptionByScheduler";

    /// <summary>Reason and message of an eviction for a NoExecute taint (Kubernetes' taint eviction controller).</summary>
    public const string TaintReason = "DeletionByTaintManager";
    public const string TaintMessage = "Taint manager: deleting due to NoExecute taint";

    /// <summary>Reason and message of the deletion of a pod whose node is gone (Kubernetes' pod garbage collector).</summary>
    public const string PodGcReason = "DeletionByPodGC";
    public const string PodGcMessage = "PodGC: node no longer exists";

    public static string PreemptionMessage(string? schedulerName) =>
        $"{(string.IsNullOrEmpty(schedulerName) ? "default-scheduler" : schedulerName)}: preempting to accommodate a higher priority pod";

    /// <summary>
    /// Sets the condition to True with <paramref name="reason"/> and <paramref name="message"/>, as Kubernetes'
    /// UpdatePodCondition: the transition time moves only when the status changes. Returns whether anything changed.
    /// </summary>
    public static bool Mark(Pod pod, string reason, string message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var conditions = (pod.Status ??= new PodStatus()).Conditions ??= [];
        var existing = conditions.Find(c => c.Type == ConditionType);
        if (existing is null)
        {
            conditions.Add(new PodCondition { Type = ConditionType, Status = "True", Reason = reason, Message = message, LastTransitionTime = now });
            return true;
        }

        if (existing.Status == "True" && existing.Reason == reason && existing.Message == message)
        {
            return false;
        }

        if (existing.Status != "True")
        {
            existing.LastTransitionTime = now;
        }

        existing.Status = "True";
        existing.Reason = reason;
        existing.Message = message;
        return true;
    }

    /// <summary>Whether the pod carries the condition, True.</summary>
    public static bool IsMarked(Pod pod) =>
        pod.Status?.Conditions?.Exists(c => c.Type == ConditionType && c.Status == "True") == true;
}
