using System.Globalization;
using Verge.Agent.Images;

namespace Verge.Agent.Drivers.Runc;

/// <summary>
/// Turns a <see cref="TaskConfig"/> and its image's config into an OCI runtime spec. Pure apart from reading the
/// image's /etc/passwd and /etc/group to resolve user names.
/// </summary>
internal static class RuncSpecBuilder
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ];

    private static readonly string[] ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private const ulong CpuPeriodMicros = 100_000;

    /// <param name="config">The task.</param>
    /// <param name="image">The image's runtime config.</param>
    /// <param name="imageRootfs">The image's unpacked rootfs, read for /etc/passwd and /etc/group.</param>
    /// <param name="rootfsPath">The rootfs runc uses (the overlay or the copy).</param>
    /// <param name="etcDir">The directory holding the generated hosts, hostname and resolv.conf.</param>
    /// <param name="cgroupsPath">linux.cgroupsPath.</param>
    public static OciSpec Build(
        TaskConfig config, ImageConfig image, string imageRootfs, string rootfsPath, string etcDir, string cgroupsPath)
    {
        var user = ResolveUser(image.User, config.RunAsUser, config.RunAsGroup, imageRootfs);
        var cwd = config.WorkingDir is { Length: > 0 } dir ? dir : image.WorkingDir is { Length: > 0 } imageDir ? imageDir : "/";
        if (!cwd.StartsWith('/'))
        {
            throw new DriverException($"workingDir must be an absolute path, got '{cwd}'", "CreateContainerConfigError");
        }

        var security = config.Security;
        var (imageUid, imageUserName) = TaskSecurityChecks.ParseImageUser(image.User);
        TaskSecurityChecks.VerifyRunAsNonRoot(config, imageUid, imageUserName);
        var granted = TaskSecurityChecks.Capabilities(security);
        var capabilities = new OciCapabilities(granted, granted, granted);
        var process = new OciProcess
        {
            User = new OciUser(user.Uid, user.Gid, AdditionalGids(user.AdditionalGids, config.SupplementalGroups)),
            Args = ResolveArgs(config.Command, config.Args, image),
            Env = ResolveEnv(image.Env, config.Env, user.Home),
            Cwd = cwd,
            Capabilities = capabilities,
            Rlimits = [new OciRlimit("RLIMIT_NOFILE", 1024, 1024)],
            NoNewPrivileges = security.NoNewPrivileges,
        };

        // hostPID and hostIPC: no namespace of that kind, so the task joins the host's.
        var namespaces = new List<OciNamespace> { new("uts"), new("mount") };
        if (!config.HostPid)
        {
            namespaces.Insert(0, new OciNamespace("pid"));
        }

        if (!config.HostIpc)
        {
            namespaces.Insert(config.HostPid ? 0 : 1, new OciNamespace("ipc", config.IpcNamespacePath));
        }
        if (File.Exists("/proc/self/ns/cgroup"))
        {
            namespaces.Add(new OciNamespace("cgroup"));
        }

        if (config.NetworkNamespacePath is { } netns)
        {
            namespaces.Add(new OciNamespace("network", netns));
        }

        return new OciSpec
        {
            Process = process,
            Root = new OciRoot(rootfsPath, config.ReadOnlyRootFilesystem),
            Hostname = config.Hostname ?? config.PodName,
            Mounts = BuildMounts(config, etcDir),
            Linux = new OciLinux
            {
                Resources = BuildResources(config.Resources, security.Privileged),
                CgroupsPath = cgroupsPath,
                Namespaces = namespaces,
                MaskedPaths = security.Privileged ? null : MaskedPaths,
                ReadonlyPaths = security.Privileged ? null : ReadonlyPaths,
                Sysctl = BuildSysctls(config),
                Seccomp = BuildSeccomp(security, granted),
            },
        };
    }

    /// <summary>
    /// Kubernetes' rules: command replaces the image's Entrypoint and drops its Cmd; args replace Cmd; with neither,
    /// the image's Entrypoint then Cmd run.
    /// </summary>
    public static IReadOnlyList<string> ResolveArgs(IReadOnlyList<string>? command, IReadOnlyList<string>? args, ImageConfig image)
    {
        var result = new List<string>();
        if (command is { Count: > 0 })
        {
            result.AddRange(command);
            result.AddRange(args ?? []);
        }
        else
        {
            result.AddRange(image.Entrypoint ?? []);
            result.AddRange(args is { Count: > 0 } ? args : image.Cmd ?? []);
        }

        if (result.Count == 0 || string.IsNullOrEmpty(result[0]))
        {
            throw new DriverException("no command specified: the container has no command and the image no entrypoint or cmd", "CreateContainerError");
        }

        return result;
    }

    /// <summary>The image's environment, then the task's overriding it by name; PATH (and HOME) filled in when absent.</summary>
    public static IReadOnlyList<string> ResolveEnv(IReadOnlyList<string> imageEnv, IReadOnlyList<KeyValuePair<string, string>> taskEnv, string? home = null)
    {
        var env = new OrderedEnvironment();

        foreach (var entry in imageEnv)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                env.Set(entry[..equals], entry[(equals + 1)..]);
            }
        }

        foreach (var (name, value) in taskEnv)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
            {
                throw new DriverException($"invalid environment variable name '{name}'", "CreateContainerConfigError");
            }

            env.Set(name, value);
        }

        if (!env.Contains("PATH"))
        {
            env.Set("PATH", DefaultPath);
        }

        if (!env.Contains("HOME"))
        {
            env.Set("HOME", home ?? "/");
        }

        return env.ToEntries();
    }

    /// <summary>The image's groups of the user, then the pod's fsGroup and supplementalGroups, each once; null when none.</summary>
    private static List<long>? AdditionalGids(IReadOnlyList<long> image, IReadOnlyList<long> pod)
    {
        var gids = image.Concat(pod).Distinct().ToList();
        return gids.Count > 0 ? gids : null;
    }

    internal sealed record ResolvedUser(long Uid, long Gid, IReadOnlyList<long> AdditionalGids, string? Home);

    /// <summary>
    /// runAsUser/runAsGroup win over the image's User ("uid", "uid:gid", "name", "name:group"); names are looked up
    /// in the image's /etc/passwd and /etc/group. A uid without a group takes the passwd entry's group, else 0.
    /// </summary>
    public static ResolvedUser ResolveUser(string? imageUser, long? runAsUser, long? runAsGroup, string imageRootfs)
    {
        var passwd = ReadDatabase(Path.Combine(imageRootfs, "etc/passwd"));
        var groups = ReadDatabase(Path.Combine(imageRootfs, "etc/group"));
        string? userPart = null;
        string? groupPart = null;
        if (!string.IsNullOrWhiteSpace(imageUser))
        {
            var colon = imageUser.IndexOf(':', StringComparison.Ordinal);
            userPart = colon < 0 ? imageUser : imageUser[..colon];
            groupPart = colon < 0 ? null : imageUser[(colon + 1)..];
        }

        long uid = 0;
        string[]? entry = null;
        if (runAsUser is { } explicitUid)
        {
            if (explicitUid < 0)
            {
                throw new DriverException($"runAsUser must not be negative, got {explicitUid}", "CreateContainerConfigError");
            }

            uid = explicitUid;
            entry = passwd.FirstOrDefault(fields => fields.Length > 2 && fields[2] == uid.ToString(CultureInfo.InvariantCulture));
        }
        else if (!string.IsNullOrEmpty(userPart))
        {
            if (long.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out uid))
            {
                entry = passwd.FirstOrDefault(fields => fields.Length > 2 && fields[2] == userPart);
            }
            else
            {
                entry = passwd.FirstOrDefault(fields => fields.Length > 3 && fields[0] == userPart)
                    ?? throw new DriverException($"unable to find user {userPart}: no matching entries in the image's /etc/passwd", "CreateContainerConfigError");
                uid = ParseId(entry[2], "uid", userPart);
            }
        }
        else
        {
            entry = passwd.FirstOrDefault(fields => fields.Length > 2 && fields[2] == "0");
        }

        long gid = entry is { Length: > 3 } ? ParseId(entry[3], "gid", entry[0]) : 0;
        if (runAsGroup is { } explicitGid)
        {
            if (explicitGid < 0)
            {
                throw new DriverException($"runAsGroup must not be negative, got {explicitGid}", "CreateContainerConfigError");
            }

            gid = explicitGid;
        }
        else if (!string.IsNullOrEmpty(groupPart))
        {
            if (!long.TryParse(groupPart, NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                var group = groups.FirstOrDefault(fields => fields.Length > 2 && fields[0] == groupPart)
                    ?? throw new DriverException($"unable to find group {groupPart}: no matching entries in the image's /etc/group", "CreateContainerConfigError");
                gid = ParseId(group[2], "gid", groupPart);
            }
        }

        var additional = new List<long>();
        if (entry is { Length: > 0 })
        {
            foreach (var group in groups)
            {
                if (group.Length > 3 && group[3].Split(',').Contains(entry[0]) &&
                    long.TryParse(group[2], NumberStyles.None, CultureInfo.InvariantCulture, out var extra) && extra != gid)
                {
                    additional.Add(extra);
                }
            }
        }

        return new ResolvedUser(uid, gid, additional, entry is { Length: > 5 } && entry[5].Length > 0 ? entry[5] : null);
    }

    private static long ParseId(string text, string what, string name) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new DriverException($"the image's entry for {name} has an invalid {what} '{text}'", "CreateContainerConfigError");

    private static List<string[]> ReadDatabase(string path)
    {
        // A symlink in an image must not lead outside it: read only regular files.
        var info = new FileInfo(path);
        if (!info.Exists || info.LinkTarget is not null || info.Length > 4 * 1024 * 1024)
        {
            return [];
        }

        return [.. File.ReadAllLines(path)
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(':'))];
    }

    /// <summary>
    /// seccomp: none for privileged tasks and Unconfined (Kubernetes' default), the built-in profile for
    /// RuntimeDefault, the agent-read file for Localhost. Capability-guarded calls follow the granted capabilities.
    /// </summary>
    private static OciSeccomp? BuildSeccomp(TaskSecurity security, IReadOnlyList<string> capabilities) => security switch
    {
        { Privileged: true } => null,
        { Seccomp: SeccompMode.RuntimeDefault } => SeccompProfiles.RuntimeDefault(capabilities),
        { Seccomp: SeccompMode.Localhost, SeccompProfileJson: { } json } =>
            SeccompProfiles.Localhost(json, security.SeccompProfileName ?? "localhost", capabilities),
        { Seccomp: SeccompMode.Localhost } =>
            throw new DriverException("seccomp profile type Localhost needs the profile's contents", "CreateContainerConfigError"),
        _ => null,
    };

    /// <summary>The pod's sysctls; net.* ones only in a network namespace of the pod's own (runc refuses them otherwise).</summary>
    private static Dictionary<string, string>? BuildSysctls(TaskConfig config)
    {
        if (config.Security.Sysctls.Count == 0)
        {
            return null;
        }

        var sysctls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in config.Security.Sysctls)
        {
            // Kubernetes allows '/' as the separator; runc wants the dotted form.
            var dotted = name.Contains('/', StringComparison.Ordinal) ? name.Replace('/', '.') : name;
            if (dotted.StartsWith("net.", StringComparison.Ordinal) && config.NetworkNamespacePath is null)
            {
                throw new DriverException($"sysctl \"{name}\" needs a pod network namespace, and the task uses the host network", "CreateContainerConfigError");
            }

            sysctls[dotted] = value;
        }

        return sysctls;
    }

    private static List<OciMount> BuildMounts(TaskConfig config, string etcDir)
    {
        // A privileged task sees the host's /dev (devices plugged in later included) and may write sysfs and cgroupfs,
        // as under containerd; runc creates no device nodes of its own when /dev is a bind mount.
        var privileged = config.Security.Privileged;
        var mounts = new List<OciMount>
        {
            new("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
            privileged
                ? new("/dev", "bind", "/dev", ["rbind", "rprivate", "nosuid"])
                : new("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            new("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            SharedMemoryMount(config),
            new("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
            new("/sys", "sysfs", "sysfs", privileged ? ["nosuid", "noexec", "nodev"] : ["nosuid", "noexec", "nodev", "ro"]),
            new("/sys/fs/cgroup", "cgroup", "cgroup", privileged ? ["nosuid", "noexec", "nodev", "relatime"] : ["nosuid", "noexec", "nodev", "relatime", "ro"]),
        };

        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mount in config.Mounts)
        {
            if (!Path.IsPathRooted(mount.ContainerPath) || !Path.IsPathRooted(mount.HostPath))
            {
                throw new DriverException($"mount paths must be absolute: '{mount.HostPath}' -> '{mount.ContainerPath}'", "CreateContainerConfigError");
            }

            if (!Path.Exists(mount.HostPath))
            {
                throw new DriverException($"mount source '{mount.HostPath}' does not exist", "CreateContainerConfigError");
            }

            var destination = Path.TrimEndingDirectorySeparator(mount.ContainerPath);
            taken.Add(destination);
            mounts.Add(new OciMount(destination, "bind", mount.HostPath, mount.ReadOnly ? ["rbind", "rprivate", "ro"] : ["rbind", "rprivate"]));
        }

        // Generated per task unless the pod mounts its own.
        foreach (var name in new[] { "hosts", "hostname", "resolv.conf" })
        {
            var destination = "/etc/" + name;
            if (!taken.Contains(destination))
            {
                mounts.Add(new OciMount(destination, "bind", Path.Combine(etcDir, name), ["rbind", "rprivate", "ro"]));
            }
        }

        return mounts;
    }

    /// <summary>
    /// The pod's /dev/shm when the agent made one, the host's with hostIPC (as containerd mounts it), else one of the
    /// task's own.
    /// </summary>
    private static OciMount SharedMemoryMount(TaskConfig config) => config switch
    {
        { HostIpc: true } => new("/dev/shm", "bind", "/dev/shm", ["rbind", "rprivate", "nosuid", "noexec", "nodev"]),
        { ShmPath: { } shm } => new("/dev/shm", "bind", shm, ["rbind", "rprivate", "nosuid", "noexec", "nodev"]),
        _ => new("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
    };

    private static OciResources BuildResources(TaskResources resources, bool privileged)
    {
        OciMemory? memory = null;
        if (resources.MemoryLimitBytes is { } limit)
        {
            if (limit < 4 * 1024 * 1024)
            {
                throw new DriverException($"memory limit {limit} bytes is below the 4 MiB a container needs to start", "CreateContainerConfigError");
            }

            // swap = limit: no swap beyond the limit, so exceeding it OOM-kills as Kubernetes expects.
            memory = new OciMemory(limit, limit);
        }

        if (resources.CpuLimitMillis is < 1 || resources.CpuRequestMillis is < 0 || resources.PidsLimit is < 1)
        {
            throw new DriverException("cpu limit and pids limit must be positive and cpu request not negative", "CreateContainerConfigError");
        }

        OciCpu? cpu = null;
        if (resources.CpuLimitMillis is not null || resources.CpuRequestMillis is not null)
        {
            long? quota = resources.CpuLimitMillis is { } millis ? Math.Max(1000, millis * (long)CpuPeriodMicros / 1000) : null;
            ulong? shares = resources.CpuRequestMillis is { } request ? (ulong)Math.Max(2, request * 1024 / 1000) : null;
            cpu = new OciCpu(shares, quota, quota is null ? null : CpuPeriodMicros);
        }

        return new OciResources
        {
            // Deny all (runc then allows its default devices), or for a privileged task allow all.
            Devices = [new OciDeviceRule(privileged, "rwm")],
            Memory = memory,
            Cpu = cpu,
            Pids = resources.PidsLimit is { } pids ? new OciPids(pids) : null,
        };
    }
}
