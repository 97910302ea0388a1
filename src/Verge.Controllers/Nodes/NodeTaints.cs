using Verge.Core.Core;

namespace Verge.Controllers.Nodes;

/// <summary>The taints the node lifecycle controller manages, and Kubernetes' rules for matching tolerations to taints.</summary>
internal static class NodeTaints
{
    public const string Unreachable = "node.kubernetes.io/unreachable";
    public const string NotReady = "node.kubernetes.io/not-ready";
    public const string Unschedulable = "node.kubernetes.io/unschedulable";
    public const string MemoryPressure = "node.kubernetes.io/memory-pressure";
    public const string DiskPressure = "node.kubernetes.io/disk-pressure";
    public const string PidPressure = "node.kubernetes.io/pid-pressure";
    public const string NetworkUnavailable = "node.kubernetes.io/network-unavailable";

    public const string NoSchedule = "NoSchedule";
    public const string PreferNoSchedule = "PreferNoSchedule";
    public const string NoExecute = "NoExecute";

    /// <summary>Kubernetes' ToleratesTaint: the effect (empty matches all), the key (empty with Exists matches all), the operator.</summary>
    public static bool Tolerates(Toleration toleration, Taint taint)
    {
        if (!string.IsNullOrEmpty(toleration.Effect) && toleration.Effect != taint.Effect)
        {
            return false;
        }

        if (!string.IsNullOrEmpty(toleration.Key) && toleration.Key != taint.Key)
        {
            return false;
        }

        return toleration.Operator switch
        {
            "Exists" => true,
            "Equal" or "" or null => (toleration.Value ?? "") == (taint.Value ?? ""),
            _ => false,
        };
    }

    /// <summary>The tolerations among <paramref name="tolerations"/> that tolerate <paramref name="taint"/>.</summary>
    public static IEnumerable<Toleration> Matching(IEnumerable<Toleration>? tolerations, Taint taint) =>
        (tolerations ?? []).Where(t => Tolerates(t, taint));

    public static bool IsTolerated(IEnumerable<Toleration>? tolerations, Taint taint) => Matching(tolerations, taint).Any();

    /// <summary>True when every taint with one of <paramref name="effects"/> is tolerated.</summary>
    public static bool ToleratesAll(IEnumerable<Toleration>? tolerations, IEnumerable<Taint>? taints, params string[] effects) =>
        (taints ?? []).Where(t => effects.Contains(t.Effect)).All(t => IsTolerated(tolerations, t));
}
