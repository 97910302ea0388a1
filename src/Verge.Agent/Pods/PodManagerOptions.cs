namespace Verge.Agent.Pods;

/// <summary>Settings of the pod manager and its workers.</summary>
internal sealed record PodManagerOptions
{
    /// <summary>The agent's data directory: pods live under DataDir/pods/UID (volumes, logs).</summary>
    public required string DataDir { get; init; }

    public required string NodeName { get; init; }

    /// <summary>The node's address: status.hostIP, and the pod IP of hostNetwork pods.</summary>
    public string? HostIp { get; init; }

    /// <summary>The driver that runs pods without a runtimeClassName.</summary>
    public required string DefaultDriver { get; init; }

    /// <summary>Drivers whose tasks share the host's network (no network namespace): their pods get no pod network.</summary>
    public IReadOnlyCollection<string> HostNetworkDrivers { get; init; } = ["process"];

    /// <summary>
    /// Drivers whose tasks join the pod's IPC namespace and /dev/shm by path (<see cref="PodIpc"/>). The others give
    /// each task its own (docker) or share the host's (process).
    /// </summary>
    public IReadOnlyCollection<string> PodIpcDrivers { get; init; } = ["runc"];

    /// <summary>The node's CPU in millicores: resourceFieldRef limits.cpu when the container sets none.</summary>
    public long NodeCpuMillis { get; init; } = Environment.ProcessorCount * 1000L;

    /// <summary>The node's memory in bytes: resourceFieldRef limits.memory when the container sets none.</summary>
    public long NodeMemoryBytes { get; init; } = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// The node's ephemeral storage in bytes (the size of the file system of <see cref="DataDir"/>, as the node reports
    /// it): resourceFieldRef limits.ephemeral-storage when the container sets none. Read when first asked.
    /// </summary>
    public long NodeEphemeralStorageBytes => _ephemeralStorage ??= FileSystemSize(DataDir);

    private long? _ephemeralStorage;

    private static long FileSystemSize(string path)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(path)).TotalSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return 0;
        }
    }

    /// <summary>How long to wait before retrying pod set-up that failed (driver, network, volumes).</summary>
    public TimeSpan SetUpRetry { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks the values, with a message naming the bad one.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            throw new ArgumentException("DataDir must be set.", nameof(DataDir));
        }

        if (string.IsNullOrWhiteSpace(NodeName))
        {
            throw new ArgumentException("NodeName must be set.", nameof(NodeName));
        }

        if (string.IsNullOrWhiteSpace(DefaultDriver))
        {
            throw new ArgumentException("DefaultDriver must be set.", nameof(DefaultDriver));
        }

        if (SetUpRetry <= TimeSpan.Zero)
        {
            throw new ArgumentException("SetUpRetry must be positive.", nameof(SetUpRetry));
        }
    }

    public string PodDir(string podUid) => Path.Combine(DataDir, "pods", podUid);

    public string LogPath(string podUid, string container, int instance) =>
        Path.Combine(PodDir(podUid), container, $"{instance}.log");
}
