using Verge.Core.Core;

namespace Verge.Controllers.ReplicaSets;

/// <summary>How controllers read a pod's state, as Kubernetes' podutil does.</summary>
internal static class PodState
{
    /// <summary>Not finished (Succeeded or Failed) and not being deleted: a pod that counts towards replicas.</summary>
    public static bool IsActive(Pod pod) =>
        pod.Status?.Phase is not ("Succeeded" or "Failed") && pod.Metadata.DeletionTimestamp is null;

    public static PodCondition? ReadyCondition(Pod pod) => pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");

    public static bool IsReady(Pod pod) => ReadyCondition(pod)?.Status == "True";

    /// <summary>Ready for longer than <paramref name="minReadySeconds"/> (strictly, as Kubernetes' IsPodAvailable).</summary>
    public static bool IsAvailable(Pod pod, int minReadySeconds, DateTimeOffset now)
    {
        var ready = ReadyCondition(pod);
        if (ready?.Status != "True")
        {
            return false;
        }

        return minReadySeconds == 0
            || (ready.LastTransitionTime is { } since && since + TimeSpan.FromSeconds(minReadySeconds) < now);
    }

    /// <summary>When a ready pod becomes available, or null when it is not ready or already available.</summary>
    public static DateTimeOffset? AvailableAt(Pod pod, int minReadySeconds, DateTimeOffset now)
    {
        var ready = ReadyCondition(pod);
        if (ready?.Status != "True" || minReadySeconds == 0 || ready.LastTransitionTime is not { } since)
        {
            return null;
        }

        var at = since + TimeSpan.FromSeconds(minReadySeconds);
        return at < now ? null : at;
    }
}
