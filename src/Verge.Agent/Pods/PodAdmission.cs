using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>Why the node refuses a pod, in the kubelet's words: the pod's status reason and message.</summary>
internal sealed record PodRejection(string Reason, string Message);

/// <summary>
/// The kubelet's admission checks that concern the node itself: its operating system (the predicate admit handler:
/// a pod is not scheduled by its OS, so the node refuses one meant for another OS) and its allowed sysctls (the
/// sysctl allow-list handler). A refused pod fails.
/// </summary>
internal static class PodAdmission
{
    /// <summary>
    /// The rejection of <paramref name="pod"/> on a node running <paramref name="nodeOs"/>, or null when it may run:
    /// a <c>kubernetes.io/os</c> pod label naming another OS (PodOSSelectorNodeLabelDoesNotMatch), then a spec.os
    /// naming another OS (PodOSNotSupported), then a sysctl outside the node's allowed set (SysctlForbidden).
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

        foreach (var sysctl in pod.Spec.SecurityContext?.Sysctls ?? [])
        {
            if (!ContainerSecurity.SafeSysctls.Contains(ContainerSecurity.SysctlName(sysctl.Name)))
            {
                return new PodRejection("SysctlForbidden", $"forbidden sysctl: \"{sysctl.Name}\" not allowlisted");
            }
        }

        return null;
    }
}
