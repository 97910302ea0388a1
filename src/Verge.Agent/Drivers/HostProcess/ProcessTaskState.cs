using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verge.Agent.Drivers.HostProcess;

/// <summary>
/// What a process task's handle carries (<see cref="TaskHandle.State"/>, as JSON): enough to find, signal and
/// recover the task after an agent restart. Pids come with their start times because pids are reused.
/// </summary>
internal sealed record ProcessTaskState
{
    /// <summary>The task's directory: pid and exit files written by the monitor.</summary>
    public required string Directory { get; init; }

    /// <summary>The task's pid, which is also its process group and session id.</summary>
    public required int Pid { get; init; }

    public required long PidStartTicks { get; init; }

    /// <summary>The monitor shell that waits for the task and writes its exit code.</summary>
    public required int MonitorPid { get; init; }

    public required long MonitorStartTicks { get; init; }

    /// <summary>The boot the task was started in: after a reboot it is gone whatever the files say.</summary>
    public required string BootId { get; init; }

    public required string WorkingDir { get; init; }

    /// <summary>The task's full environment, which exec commands get too.</summary>
    public required Dictionary<string, string> Env { get; init; }

    public string? MemoryCgroup { get; init; }

    public string? PidsCgroup { get; init; }

    public string? CpuCgroup { get; init; }

    /// <summary>
    /// The commands the task runs under (nsenter into the pod's network namespace, setpriv to its user), which exec
    /// commands run under too.
    /// </summary>
    public IReadOnlyList<string>? Wrapper { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, ProcessDriverJsonContext.Default.ProcessTaskState);

    public static ProcessTaskState Parse(TaskHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.Driver != ProcessDriver.DriverName)
        {
            throw new DriverException($"handle of task {handle.Id} belongs to driver \"{handle.Driver}\", not \"{ProcessDriver.DriverName}\"");
        }

        try
        {
            return JsonSerializer.Deserialize(handle.State, ProcessDriverJsonContext.Default.ProcessTaskState)
                ?? throw new DriverException($"handle of task {handle.Id} has an empty state");
        }
        catch (JsonException e)
        {
            throw new DriverException($"handle of task {handle.Id} has an unreadable state: {e.Message}", e);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProcessTaskState))]
internal sealed partial class ProcessDriverJsonContext : JsonSerializerContext;
