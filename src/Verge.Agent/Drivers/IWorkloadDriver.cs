using Verge.Agent.Images;
using Verge.Core.Core;

namespace Verge.Agent.Drivers;

/// <summary>
/// The one contract every workload driver implements (runc, process, docker), shaped after Nomad's driver plugins:
/// a driver runs one container of a pod as a "task" and knows nothing about pods, restarts or probes, which the
/// agent's pod workers own. Every method is safe to call again after a crash of the agent: handles are persisted by
/// the agent and handed back to <see cref="RecoverAsync"/> after a restart. One conformance suite
/// (tests/Verge.Agent.Tests/Drivers/DriverConformanceTests.cs) runs against every driver.
/// </summary>
public interface IWorkloadDriver
{
    /// <summary>The driver's name, which is also the runtime class that selects it ("runc", "process", "docker").</summary>
    string Name { get; }

    /// <summary>Whether the driver can run tasks on this machine, and why not if it cannot.</summary>
    Task<DriverFingerprint> FingerprintAsync(CancellationToken ct);

    /// <summary>
    /// Makes the image available locally, honouring the pull policy. Drivers without images (process) return
    /// null. Throws <see cref="ImagePullException"/> with a user-facing reason when the image cannot be had.
    /// </summary>
    Task<ImageInfo?> PullImageAsync(ImageRequest request, CancellationToken ct);

    /// <summary>
    /// Creates and starts the task. Output (stdout and stderr, interleaved) is appended to
    /// <see cref="TaskConfig.LogPath"/> by the driver, including after an agent restart. Throws
    /// <see cref="DriverException"/> when the task cannot start (bad command, missing image, ...).
    /// </summary>
    Task<TaskHandle> StartAsync(TaskConfig config, CancellationToken ct);

    /// <summary>Completes when the task exits (immediately if it already has), with how it ended.</summary>
    Task<TaskExit> WaitAsync(TaskHandle handle, CancellationToken ct);

    /// <summary>
    /// Stops the task gracefully: SIGTERM (or the image's stop signal), then SIGKILL once <paramref name="gracePeriod"/>
    /// has passed. Returns once the task has exited. A task that already exited is not an error.
    /// </summary>
    Task StopAsync(TaskHandle handle, TimeSpan gracePeriod, CancellationToken ct);

    /// <summary>Removes everything the task left behind (runtime state, bundle, cgroups). Idempotent.</summary>
    Task DestroyAsync(TaskHandle handle, CancellationToken ct);

    /// <summary>The task's current state as the driver sees it.</summary>
    Task<TaskState> InspectAsync(TaskHandle handle, CancellationToken ct);

    /// <summary>Resource usage of a running task, or null when it is not running or the driver cannot tell.</summary>
    Task<TaskStats?> StatsAsync(TaskHandle handle, CancellationToken ct);

    /// <summary>
    /// Re-attaches to a task started before the agent restarted, without restarting it. Returns false when the
    /// task no longer exists (the machine rebooted, someone removed it); the caller then starts it again.
    /// </summary>
    Task<bool> RecoverAsync(TaskHandle handle, CancellationToken ct);

    /// <summary>Runs a command inside the running task (exec probes), with a timeout.</summary>
    Task<ExecResult> ExecAsync(TaskHandle handle, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct);

    /// <summary>
    /// Starts a command inside the running task with its standard streams connected to the caller, on a terminal when
    /// asked (<c>kubectl exec</c>). Throws <see cref="DriverException"/> when the task is not running or the driver
    /// cannot run such commands.
    /// </summary>
    Task<IExecProcess> StartExecAsync(TaskHandle handle, InteractiveExec request, CancellationToken ct) =>
        throw new DriverException($"the {Name} driver cannot run commands in its containers (kubectl exec)");
}

/// <summary>Whether a driver works here. Detail says why not, in words an operator can act on.</summary>
public sealed record DriverFingerprint(bool Healthy, string Detail);

/// <summary>What to pull: the container's image and pull policy, and credentials when the pod names any.</summary>
public sealed record ImageRequest(string Reference, PullPolicy Policy, RegistryCredentials? Credentials = null);

/// <summary>Everything a driver needs to start one container of a pod.</summary>
public sealed record TaskConfig
{
    /// <summary>Unique and stable per container instance, e.g. "{podUid}-{container}-{restartCount}"; safe as a file and runc id.</summary>
    public required string Id { get; init; }

    public required string PodUid { get; init; }

    public required string PodNamespace { get; init; }

    public required string PodName { get; init; }

    public required string ContainerName { get; init; }

    /// <summary>The pulled image; null for drivers without images.</summary>
    public ImageInfo? Image { get; init; }

    /// <summary>The image reference as the pod spec names it (for drivers that resolve images themselves).</summary>
    public string? ImageReference { get; init; }

    /// <summary>The container's command (replaces the image's entrypoint when set).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>The container's args (replace the image's cmd when set).</summary>
    public IReadOnlyList<string>? Args { get; init; }

    /// <summary>Environment, already resolved from values, ConfigMaps and Secrets; added to the image's.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Env { get; init; } = [];

    public string? WorkingDir { get; init; }

    /// <summary>runAsUser / runAsGroup from the security context, when set.</summary>
    public long? RunAsUser { get; init; }

    public long? RunAsGroup { get; init; }

    public bool ReadOnlyRootFilesystem { get; init; }

    /// <summary>The rest of the effective security context (the container's over the pod's).</summary>
    public TaskSecurity Security { get; init; } = new();

    /// <summary>Host directories and files to mount, already prepared by the agent (emptyDir, hostPath, configMap, secret).</summary>
    public IReadOnlyList<TaskMount> Mounts { get; init; } = [];

    public TaskResources Resources { get; init; } = new();

    /// <summary>The pod's network namespace (a path such as /var/run/netns/NAME); null means the host network.</summary>
    public string? NetworkNamespacePath { get; init; }

    /// <summary>Hostname inside the container (the pod name).</summary>
    public string? Hostname { get; init; }

    /// <summary>
    /// Groups the task's process belongs to beyond its own: the pod's fsGroup and supplementalGroups, as the kubelet
    /// adds them to every container.
    /// </summary>
    public IReadOnlyList<long> SupplementalGroups { get; init; } = [];

    /// <summary>The pod's hostPID: the task shares the host's pid namespace.</summary>
    public bool HostPid { get; init; }

    /// <summary>The pod's hostIPC: the task shares the host's ipc namespace.</summary>
    public bool HostIpc { get; init; }

    /// <summary>
    /// The pod's IPC namespace (a bind-mounted namespace file) for drivers that join one; null gives the task an IPC
    /// namespace of its own (or the host's, with <see cref="HostIpc"/>).
    /// </summary>
    public string? IpcNamespacePath { get; init; }

    /// <summary>The pod's /dev/shm (a host directory with a tmpfs on it) for drivers that mount one; null for a /dev/shm of the task's own.</summary>
    public string? ShmPath { get; init; }

    /// <summary>The pod's spec.hostAliases, added to the container's /etc/hosts by drivers that write it.</summary>
    public IReadOnlyList<HostAlias>? HostAliases { get; init; }

    /// <summary>The pod's spec.dnsPolicy: None starts the container's resolv.conf empty, the others from the node's.</summary>
    public string? DnsPolicy { get; init; }

    /// <summary>The pod's spec.dnsConfig, merged into the container's resolv.conf by drivers that write it.</summary>
    public PodDnsConfig? DnsConfig { get; init; }

    /// <summary>Whether the pod asks for its own /etc/hosts entries or resolver (hostAliases, dnsPolicy None, dnsConfig).</summary>
    public bool AsksForOwnHostsOrDns => HostAliases is { Count: > 0 } || DnsPolicy == "None" || DnsConfig is not null;

    /// <summary>File that receives the task's stdout and stderr; the agent rotates it.</summary>
    public required string LogPath { get; init; }
}

public sealed record TaskMount(string HostPath, string ContainerPath, bool ReadOnly);

/// <summary>
/// A container's effective security settings, resolved by the agent from the pod's and the container's security
/// contexts (the container's win). The defaults are those of a container without any: the runtime's default
/// capabilities, privilege escalation allowed, no seccomp profile, no sysctls.
/// </summary>
public sealed record TaskSecurity
{
    /// <summary>privileged: every capability, the host's devices, no masked paths, no seccomp.</summary>
    public bool Privileged { get; init; }

    /// <summary>allowPrivilegeEscalation; null when unset, which Kubernetes treats as true.</summary>
    public bool? AllowPrivilegeEscalation { get; init; }

    /// <summary>runAsNonRoot: the task must not start as uid 0, nor as a user name the driver cannot check.</summary>
    public bool RunAsNonRoot { get; init; }

    /// <summary>capabilities.add, as written ("NET_ADMIN", "CAP_NET_ADMIN" or "ALL").</summary>
    public IReadOnlyList<string> AddCapabilities { get; init; } = [];

    /// <summary>capabilities.drop, as written.</summary>
    public IReadOnlyList<string> DropCapabilities { get; init; } = [];

    public SeccompMode Seccomp { get; init; }

    /// <summary>For <see cref="SeccompMode.Localhost"/>: the profile's name as the pod gives it, for messages.</summary>
    public string? SeccompProfileName { get; init; }

    /// <summary>For <see cref="SeccompMode.Localhost"/>: the profile file's JSON, read by the agent.</summary>
    public string? SeccompProfileJson { get; init; }

    /// <summary>The pod's sysctls, already checked against the node's allowed set.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Sysctls { get; init; } = [];

    /// <summary>Whether no_new_privs is set: only when allowPrivilegeEscalation is false, as containerd does.</summary>
    public bool NoNewPrivileges => AllowPrivilegeEscalation == false && !Privileged;
}

/// <summary>seccompProfile.type; an unset profile is <see cref="Unconfined"/>, Kubernetes' default.</summary>
public enum SeccompMode
{
    Unconfined,
    RuntimeDefault,
    Localhost,
}

/// <summary>Limits from resources.limits; null means unlimited.</summary>
public sealed record TaskResources
{
    public long? MemoryLimitBytes { get; init; }

    /// <summary>CPU limit in millicores (limits.cpu), enforced as a CFS quota.</summary>
    public long? CpuLimitMillis { get; init; }

    /// <summary>CPU request in millicores, mapped to CPU shares.</summary>
    public long? CpuRequestMillis { get; init; }

    public long? PidsLimit { get; init; }
}

/// <summary>
/// A started task. <see cref="State"/> is driver-private (a pid, a runc id, a container id, as JSON or plain text) and
/// is persisted by the agent so the task can be recovered after a restart.
/// </summary>
public sealed record TaskHandle(string Driver, string Id, string State, DateTimeOffset StartedAt);

public enum TaskPhase
{
    /// <summary>The driver has no such task.</summary>
    Unknown,
    Running,
    Exited,
}

public sealed record TaskState(TaskPhase Phase, TaskExit? Exit, int? Pid);

/// <summary>How a task ended. Reason follows Kubernetes: "Completed" (exit 0), "Error", "OOMKilled".</summary>
public sealed record TaskExit(int ExitCode, int? Signal, bool OomKilled, DateTimeOffset FinishedAt, string? Message = null)
{
    public string Reason => OomKilled ? "OOMKilled" : ExitCode == 0 ? "Completed" : "Error";
}

public sealed record TaskStats(long? MemoryBytes, double? CpuSeconds);

public sealed record ExecResult(int ExitCode, string Output, bool TimedOut);

/// <summary>A driver could not do what was asked; Message is shown to users in the pod status and events.</summary>
public class DriverException : Exception
{
    public DriverException(string message, string reason = "RunContainerError")
        : base(message) => Reason = reason;

    public DriverException(string message, Exception inner, string reason = "RunContainerError")
        : base(message, inner) => Reason = reason;

    public DriverException()
        : this("driver error")
    {
    }

    public DriverException(string message, Exception inner)
        : this(message, inner, "RunContainerError")
    {
    }

    /// <summary>The waiting reason Kubernetes would show (RunContainerError, CreateContainerError, CreateContainerConfigError, ...).</summary>
    public string Reason { get; }
}
