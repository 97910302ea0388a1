using System.Text.Json.Serialization;

namespace Verge.Agent.Drivers.Runc;

// The subset of the OCI runtime spec (config.json, version 1.0.2) that Verge writes. Property names follow the spec
// through the camelCase policy of RuncJsonContext; nulls are left out so runc applies its own defaults.

internal sealed record OciSpec
{
    public string OciVersion { get; init; } = "1.0.2";

    public required OciProcess Process { get; init; }

    public required OciRoot Root { get; init; }

    public string? Hostname { get; init; }

    public required IReadOnlyList<OciMount> Mounts { get; init; }

    public required OciLinux Linux { get; init; }
}

internal sealed record OciProcess
{
    public bool Terminal { get; init; }

    public required OciUser User { get; init; }

    public required IReadOnlyList<string> Args { get; init; }

    public required IReadOnlyList<string> Env { get; init; }

    public required string Cwd { get; init; }

    public required OciCapabilities Capabilities { get; init; }

    public IReadOnlyList<OciRlimit>? Rlimits { get; init; }

    public bool NoNewPrivileges { get; init; }
}

internal sealed record OciUser(long Uid, long Gid, IReadOnlyList<long>? AdditionalGids = null);

internal sealed record OciCapabilities(IReadOnlyList<string> Bounding, IReadOnlyList<string> Effective, IReadOnlyList<string> Permitted);

internal sealed record OciRlimit(string Type, ulong Hard, ulong Soft);

internal sealed record OciRoot(string Path, bool Readonly);

internal sealed record OciMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);

internal sealed record OciLinux
{
    public required OciResources Resources { get; init; }

    public string? CgroupsPath { get; init; }

    public required IReadOnlyList<OciNamespace> Namespaces { get; init; }

    public IReadOnlyList<string>? MaskedPaths { get; init; }

    public IReadOnlyList<string>? ReadonlyPaths { get; init; }

    public IReadOnlyDictionary<string, string>? Sysctl { get; init; }

    public OciSeccomp? Seccomp { get; init; }
}

internal sealed record OciSeccomp
{
    public required string DefaultAction { get; init; }

    public uint? DefaultErrnoRet { get; init; }

    public IReadOnlyList<string>? Architectures { get; init; }

    public IReadOnlyList<string>? Flags { get; init; }

    public IReadOnlyList<OciSyscall>? Syscalls { get; init; }
}

internal sealed record OciSyscall
{
    public required IReadOnlyList<string> Names { get; init; }

    public required string Action { get; init; }

    public uint? ErrnoRet { get; init; }

    public IReadOnlyList<OciSeccompArg>? Args { get; init; }
}

internal sealed record OciSeccompArg(uint Index, ulong Value, ulong ValueTwo, string Op);

internal sealed record OciNamespace(string Type, string? Path = null);

internal sealed record OciResources
{
    public IReadOnlyList<OciDeviceRule>? Devices { get; init; }

    public OciMemory? Memory { get; init; }

    public OciCpu? Cpu { get; init; }

    public OciPids? Pids { get; init; }
}

/// <summary>A device cgroup rule; without type, major and minor it matches every device.</summary>
internal sealed record OciDeviceRule(bool Allow, string Access);

internal sealed record OciMemory(long? Limit, long? Swap);

internal sealed record OciCpu(ulong? Shares, long? Quota, ulong? Period);

internal sealed record OciPids(long Limit);

/// <summary>What <c>runc state ID</c> prints (the OCI state).</summary>
internal sealed record RuncState(string Id, string Status, int Pid, string? Bundle);

/// <summary>
/// The driver-private part of a <see cref="TaskHandle"/>: everything needed to find the container again after the
/// agent restarts.
/// </summary>
internal sealed record RuncTaskState
{
    public required string RuncId { get; init; }

    public required string Bundle { get; init; }

    public required int ShimPid { get; init; }

    /// <summary>The shim's start time in clock ticks since boot (/proc/PID/stat field 22), to tell a reused pid.</summary>
    public required long ShimStartTicks { get; init; }

    public required string ExitFile { get; init; }

    public required string LogPath { get; init; }

    public required bool OverlayMounted { get; init; }

    public required string StopSignal { get; init; }

    /// <summary>The container's cgroup directory per controller (memory, cpuacct, pids), as resolved at start.</summary>
    public required IReadOnlyDictionary<string, string> Cgroups { get; init; }
}

/// <summary>The exit as first observed, kept in the bundle so every later reader reports the same thing.</summary>
internal sealed record RecordedExit(int ExitCode, bool OomKilled, DateTimeOffset FinishedAt);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(OciSpec))]
[JsonSerializable(typeof(RuncState))]
[JsonSerializable(typeof(RuncTaskState))]
[JsonSerializable(typeof(RecordedExit))]
[JsonSerializable(typeof(SeccompProfileFile))]
internal sealed partial class RuncJsonContext : JsonSerializerContext;
