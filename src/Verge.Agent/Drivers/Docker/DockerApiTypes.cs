using System.Text.Json.Serialization;

namespace Verge.Agent.Drivers.Docker;

// The few Docker Engine API (v1.41) shapes the docker driver reads and writes. Property names are the engine's;
// the engine itself matches names case-insensitively, and so does our context when reading.

internal sealed record DockerVersion
{
    public string? Version { get; init; }

    public string? ApiVersion { get; init; }

    public string? Os { get; init; }

    public string? Arch { get; init; }
}

internal sealed record DockerError
{
    [JsonPropertyName("message")]
    public string? Message { get; init; }
}

/// <summary>One object of the /images/create progress stream; errors arrive here, not as an HTTP status.</summary>
internal sealed record DockerPullProgress
{
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    [JsonPropertyName("error")]
    public string? Error { get; init; }

    [JsonPropertyName("errorDetail")]
    public DockerError? ErrorDetail { get; init; }
}

internal sealed record DockerImageInspect
{
    public string Id { get; init; } = "";

    public IReadOnlyList<string>? RepoTags { get; init; }

    public IReadOnlyList<string>? RepoDigests { get; init; }

    public long Size { get; init; }

    public string? Os { get; init; }

    public string? Architecture { get; init; }

    public DockerImageConfig? Config { get; init; }

    public DockerRootFs? RootFS { get; init; }
}

internal sealed record DockerImageConfig
{
    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string>? Env { get; init; }

    public string? WorkingDir { get; init; }

    public string? User { get; init; }

    public string? StopSignal { get; init; }
}

internal sealed record DockerRootFs
{
    public IReadOnlyList<string>? Layers { get; init; }
}

internal sealed record DockerContainerCreate
{
    public required string Image { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string>? Env { get; init; }

    public string? WorkingDir { get; init; }

    public string? User { get; init; }

    public string? Hostname { get; init; }

    public Dictionary<string, string>? Labels { get; init; }

    public bool AttachStdin { get; init; }

    public bool AttachStdout { get; init; }

    public bool AttachStderr { get; init; }

    public bool Tty { get; init; }

    public bool OpenStdin { get; init; }

    public required DockerHostConfig HostConfig { get; init; }
}

internal sealed record DockerHostConfig
{
    public IReadOnlyList<string>? Binds { get; init; }

    public string? NetworkMode { get; init; }

    /// <summary>The pod's fsGroup and supplementalGroups, as numeric group ids.</summary>
    public IReadOnlyList<string>? GroupAdd { get; init; }

    /// <summary>"host" for a pod with hostPID; the engine's own namespace otherwise.</summary>
    public string? PidMode { get; init; }

    /// <summary>"host" for a pod with hostIPC; the engine's own namespace otherwise.</summary>
    public string? IpcMode { get; init; }

    public long? Memory { get; init; }

    public long? MemorySwap { get; init; }

    public long? NanoCpus { get; init; }

    public long? CpuShares { get; init; }

    public long? PidsLimit { get; init; }

    public bool ReadonlyRootfs { get; init; }

    public bool Privileged { get; init; }

    public IReadOnlyList<string>? CapAdd { get; init; }

    public IReadOnlyList<string>? CapDrop { get; init; }

    /// <summary>"no-new-privileges", "seccomp=unconfined" or "seccomp=PROFILE-JSON".</summary>
    public IReadOnlyList<string>? SecurityOpt { get; init; }

    public IReadOnlyDictionary<string, string>? Sysctls { get; init; }

    /// <summary>Read back only: engines that turn NanoCpus into a CFS quota report it here.</summary>
    public long? CpuQuota { get; init; }

    public DockerRestartPolicy RestartPolicy { get; init; } = new();
}

internal sealed record DockerRestartPolicy
{
    /// <summary>Always "no": restarts are the agent's business.</summary>
    public string Name { get; init; } = "no";
}

internal sealed record DockerIdResponse
{
    public string Id { get; init; } = "";

    public IReadOnlyList<string>? Warnings { get; init; }
}

internal sealed record DockerContainerInspect
{
    public string Id { get; init; } = "";

    public string? Name { get; init; }

    public DockerContainerState State { get; init; } = new();

    public DockerContainerConfig? Config { get; init; }

    public DockerHostConfig? HostConfig { get; init; }
}

internal sealed record DockerContainerConfig
{
    public Dictionary<string, string>? Labels { get; init; }
}

internal sealed record DockerContainerState
{
    public string? Status { get; init; }

    public bool Running { get; init; }

    public int Pid { get; init; }

    public int ExitCode { get; init; }

    [JsonPropertyName("OOMKilled")]
    public bool OomKilled { get; init; }

    public string? Error { get; init; }

    public string? StartedAt { get; init; }

    public string? FinishedAt { get; init; }
}

internal sealed record DockerExecCreate
{
    public required IReadOnlyList<string> Cmd { get; init; }

    public bool AttachStdin { get; init; }

    public bool AttachStdout { get; init; } = true;

    public bool AttachStderr { get; init; } = true;

    public bool Tty { get; init; }
}

internal sealed record DockerExecStart
{
    public bool Detach { get; init; }

    public bool Tty { get; init; }
}

internal sealed record DockerExecInspect
{
    public bool Running { get; init; }

    public int? ExitCode { get; init; }

    public int Pid { get; init; }
}

/// <summary>The registry credentials of X-Registry-Auth (base64url of this JSON).</summary>
internal sealed record DockerAuthConfig
{
    [JsonPropertyName("username")]
    public required string Username { get; init; }

    [JsonPropertyName("password")]
    public required string Password { get; init; }

    [JsonPropertyName("serveraddress")]
    public required string ServerAddress { get; init; }
}

/// <summary>What a docker task's handle carries.</summary>
internal sealed record DockerTaskState
{
    public required string ContainerId { get; init; }

    public required string Name { get; init; }

    public required string LogPath { get; init; }
}

/// <summary>How far a task's log has been copied: the last engine timestamp written and how many lines carried it.</summary>
internal sealed record DockerLogPosition
{
    public required string Timestamp { get; init; }

    public required int Count { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(DockerVersion))]
[JsonSerializable(typeof(DockerError))]
[JsonSerializable(typeof(DockerPullProgress))]
[JsonSerializable(typeof(DockerImageInspect))]
[JsonSerializable(typeof(DockerContainerCreate))]
[JsonSerializable(typeof(DockerIdResponse))]
[JsonSerializable(typeof(DockerContainerInspect))]
[JsonSerializable(typeof(DockerExecCreate))]
[JsonSerializable(typeof(DockerExecStart))]
[JsonSerializable(typeof(DockerExecInspect))]
[JsonSerializable(typeof(DockerAuthConfig))]
[JsonSerializable(typeof(DockerTaskState))]
[JsonSerializable(typeof(DockerLogPosition))]
internal sealed partial class DockerJsonContext : JsonSerializerContext;
