using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>Why the node refuses a pod, in the kubelet's words: the pod's status reason and message.</summary>
internal sealed record PodRejection(string Reason, string Message);

/// <summary>
/// The kubelet's admission checks that concern the node's operating system (its predicate admit handler): a pod is
/// not scheduled by its OS, so the node refuses one meant for another OS, and the pod fails.
/// </summary>
internal static class PodAdmission
{
    /// <summary>
    /// The rejection of <paramref name="pod"/> on a node running <paramref name="nodeOs"/>, or null when it may run:
    /// a <c>kubernetes.io/os</c> pod label naming another OS (PodOSSelectorNodeLabelDoesNotMatch), then a spec.os
    /// naming another OS (PodOSNotSupported).
    /// </summary>
    public static PodRejection? Check(Pod pod, string nodeOs)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Metadata.Labels?.TryGetValue("kubernetes.io/os", out var label) == true && label != nodeOs)
        {
            return new PodRejection("PodOSSelectorNodeLabelDoesNotMatch", "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label");
        }

        if (pod.Spec.OS is { } os && os.Name != nodeOs)
        {
            return new PodRejection("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS");
        }

        return null;
    }
}
