using Verge.Agent.Drivers;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>
/// A container's effective security settings, as the kubelet determines them: the container's securityContext over
/// the pod's for runAsNonRoot and seccompProfile; privileged, allowPrivilegeEscalation and capabilities from the
/// container alone; sysctls from the pod, checked against the node's allowed set.
/// </summary>
internal static class ContainerSecurity
{
    /// <summary>The kubelet's safe sysctls, allowed on every node without an allow-list (Kubernetes 1.32).</summary>
    public static readonly IReadOnlySet<string> SafeSysctls = new HashSet<string>(StringComparer.Ordinal)
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    };

    /// <summary>
    /// Resolves the settings. A Localhost seccomp profile is read from <paramref name="seccompRoot"/> (the kubelet's
    /// <c>ROOT/seccomp</c>); a missing, unreadable or escaping profile, and a sysctl outside the safe set, throw
    /// <see cref="ContainerConfigException"/>.
    /// </summary>
    public static TaskSecurity Resolve(Pod pod, Container container, string seccompRoot)
    {
        var podContext = pod.Spec.SecurityContext;
        var context = container.SecurityContext;
        var seccomp = context?.SeccompProfile ?? podContext?.SeccompProfile;
        var (mode, name, json) = seccomp?.Type switch
        {
            "RuntimeDefault" => (SeccompMode.RuntimeDefault, null, null),
            "Localhost" => (SeccompMode.Localhost, seccomp.LocalhostProfile, ReadProfile(seccompRoot, seccomp.LocalhostProfile)),
            _ => (SeccompMode.Unconfined, (string?)null, (string?)null),
        };

        return new TaskSecurity
        {
            Privileged = context?.Privileged == true,
            AllowPrivilegeEscalation = context?.AllowPrivilegeEscalation,
            RunAsNonRoot = (context?.RunAsNonRoot ?? podContext?.RunAsNonRoot) == true,
            AddCapabilities = context?.Capabilities?.Add ?? [],
            DropCapabilities = context?.Capabilities?.Drop ?? [],
            Seccomp = mode,
            SeccompProfileName = name,
            SeccompProfileJson = json,
            Sysctls = AllowedSysctls(podContext?.Sysctls),
        };
    }

    /// <summary>A sysctl's name with dots: Kubernetes accepts '/' as the separator too (net/ipv4/tcp_syncookies).</summary>
    public static string SysctlName(string name) => name.Contains('/', StringComparison.Ordinal) ? name.Replace('/', '.') : name;

    private static List<KeyValuePair<string, string>> AllowedSysctls(List<Sysctl>? sysctls)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var sysctl in sysctls ?? [])
        {
            // Admission refuses such a pod first (PodAdmission); this stands guard for a pod admitted before.
            var name = SysctlName(sysctl.Name);
            if (!SafeSysctls.Contains(name))
            {
                throw new ContainerConfigException($"forbidden sysctl: \"{sysctl.Name}\" not allowlisted") { Reason = "SysctlForbidden" };
            }

            result.Add(new(name, sysctl.Value));
        }

        return result;
    }

    private static string ReadProfile(string root, string? profile)
    {
        if (string.IsNullOrEmpty(profile))
        {
            throw new ContainerConfigException("seccomp profile type Localhost needs localhostProfile");
        }

        var rootDir = Path.GetFullPath(root);
        var path = Path.GetFullPath(Path.Combine(rootDir, profile));
        if (Path.IsPathRooted(profile) || !path.StartsWith(Path.TrimEndingDirectorySeparator(rootDir) + "/", StringComparison.Ordinal))
        {
            throw new ContainerConfigException($"seccomp profile \"{profile}\" must be a path inside {rootDir}");
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new ContainerConfigException($"seccomp profile \"{profile}\" not found: no file {path} on the node");
            }

            if (info.Length > 1024 * 1024)
            {
                throw new ContainerConfigException($"seccomp profile \"{profile}\" is larger than 1 MiB");
            }

            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ContainerConfigException($"seccomp profile \"{profile}\" cannot be read: {e.Message}", e);
        }
    }
}
