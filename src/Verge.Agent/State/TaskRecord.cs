using System.Text.Json.Serialization;
using Verge.Agent.Drivers;

namespace Verge.Agent.State;

/// <summary>
/// What the agent remembers of one container of a pod across its own restarts: the driver handle of the current
/// instance, how many times the container was restarted, and how its last instances ended. With it a restarted agent
/// re-attaches to running tasks instead of restarting them, and reports restartCount and lastState after a reboot.
/// </summary>
internal sealed record TaskRecord
{
    public required string PodUid { get; init; }

    public required string Container { get; init; }

    public bool Init { get; init; }

    /// <summary>Restarts so far; also the number of the current instance (its log file is "{n}.log").</summary>
    public int RestartCount { get; init; }

    /// <summary>The current instance's handle; null before the first start.</summary>
    public TaskHandle? Handle { get; init; }

    public string? ImageId { get; init; }

    /// <summary>How the current instance ended, once it has.</summary>
    public TerminationRecord? Exit { get; init; }

    /// <summary>How the previous instance ended (the container status' lastState).</summary>
    public TerminationRecord? LastTermination { get; init; }
}

/// <summary>A terminated container instance as the pod status shows it.</summary>
internal sealed record TerminationRecord(
    int ExitCode,
    int? Signal,
    string Reason,
    string? Message,
    DateTimeOffset? StartedAt,
    DateTimeOffset FinishedAt,
    string? ContainerId);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TaskRecord))]
internal sealed partial class AgentStateJsonContext : JsonSerializerContext;
