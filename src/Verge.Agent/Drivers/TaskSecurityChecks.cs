using System.Globalization;

namespace Verge.Agent.Drivers;

/// <summary>
/// Security rules shared by the drivers: the capability set a container gets, and the kubelet's runAsNonRoot check.
/// </summary>
internal static class TaskSecurityChecks
{
    /// <summary>Docker's and containerd's default set: enough for ordinary services, nothing that administers the host.</summary>
    public static readonly IReadOnlyList<string> DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    /// <summary>Every capability Linux defines (0 to 40, CAP_CHECKPOINT_RESTORE, the last since Linux 5.9), in number order.</summary>
    public static readonly IReadOnlyList<string> AllCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// "All" capabilities as containerd means it: those in the agent's own bounding set (a kernel, or a container the
    /// agent runs in, may withhold some), so a privileged task cannot fail to start asking for what the agent lacks.
    /// </summary>
    public static IReadOnlyList<string> AgentCapabilities { get; } = ReadBoundingSet();

    private static List<string> ReadBoundingSet()
    {
        var line = File.Exists("/proc/self/status")
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))
            : null;
        if (line is null || !ulong.TryParse(line["CapBnd:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask))
        {
            return [.. AllCapabilities];
        }

        return [.. AllCapabilities.Where((_, bit) => (mask & (1UL << bit)) != 0)];
    }

    /// <summary>
    /// The capabilities of a task, as containerd's CRI plugin computes them: privileged gets all (the agent's); otherwise
    /// the default set, then "ALL" in add (all of them) and "ALL" in drop (none), then each named add, then each named drop.
    /// Names may carry the CAP_ prefix or not, in any case. An unknown name is a <see cref="DriverException"/>
    /// (CreateContainerConfigError) rather than a capability silently not granted or not dropped.
    /// </summary>
    public static IReadOnlyList<string> Capabilities(TaskSecurity security)
    {
        ArgumentNullException.ThrowIfNull(security);
        if (security.Privileged)
        {
            return AgentCapabilities;
        }

        var add = security.AddCapabilities.Select(name => Normalize(name, "add")).ToList();
        var drop = security.DropCapabilities.Select(name => Normalize(name, "drop")).ToList();
        var result = new List<string>(DefaultCapabilities);
        if (add.Contains("ALL"))
        {
            result = [.. AgentCapabilities];
        }

        if (drop.Contains("ALL"))
        {
            result.Clear();
        }

        foreach (var name in add.Where(name => name != "ALL" && !result.Contains(name)))
        {
            result.Add(name);
        }

        result.RemoveAll(drop.Contains);
        return result;
    }

    /// <summary>
    /// The kubelet's verifyRunAsNonRoot. <paramref name="imageUid"/> is the uid the image (or host process) runs as
    /// when numeric, <paramref name="imageUserName"/> the user name when it is not; both null means root. Throws
    /// <see cref="DriverException"/> (CreateContainerConfigError) with the kubelet's message.
    /// </summary>
    public static void VerifyRunAsNonRoot(TaskConfig config, long? imageUid, string? imageUserName)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.Security.RunAsNonRoot)
        {
            return;
        }

        var pod = $"\"{config.PodName}_{config.PodNamespace}({config.PodUid})\"";
        if (config.RunAsUser is { } runAsUser)
        {
            if (runAsUser == 0)
            {
                throw new DriverException($"container's runAsUser breaks non-root policy (pod: {pod}, container: {config.ContainerName})", "CreateContainerConfigError");
            }

            return;
        }

        if (imageUid is null && !string.IsNullOrEmpty(imageUserName))
        {
            throw new DriverException(
                $"container has runAsNonRoot and image has non-numeric user ({imageUserName}), cannot verify user is non-root (pod: {pod}, container: {config.ContainerName})",
                "CreateContainerConfigError");
        }

        if (imageUid is null or 0)
        {
            throw new DriverException($"container has runAsNonRoot and image will run as root (pod: {pod}, container: {config.ContainerName})", "CreateContainerConfigError");
        }
    }

    /// <summary>
    /// An image's User as the CRI reports it: "uid" or "uid:gid" give the uid; "name" or "name:group" the user name;
    /// empty means root (uid 0).
    /// </summary>
    public static (long? Uid, string? UserName) ParseImageUser(string? user)
    {
        if (string.IsNullOrWhiteSpace(user))
        {
            return (0, null);
        }

        var colon = user.IndexOf(':', StringComparison.Ordinal);
        var userPart = colon < 0 ? user : user[..colon];
        return long.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? (uid, null) : (null, userPart);
    }

    private static string Normalize(string name, string list)
    {
        var upper = (name ?? "").Trim().ToUpperInvariant();
        if (upper == "ALL")
        {
            return upper;
        }

        var full = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
        return AllCapabilities.Contains(full)
            ? full
            : throw new DriverException($"unknown capability \"{name}\" in capabilities.{list}", "CreateContainerConfigError");
    }
}
