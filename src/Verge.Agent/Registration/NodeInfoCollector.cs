using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using CoreNode = Verge.Core.Core.Node;

namespace Verge.Agent.Registration;

/// <summary>
/// Describes the node the agent runs on as a Kubernetes Node: capacity and allocatable (cpu, memory,
/// ephemeral-storage, pods and extended resources), the well-known labels, the runtime classes, system info,
/// addresses and a Ready condition. Reads the host (processor count and cgroup CPU quota, /proc/meminfo, the data
/// dir's file system, /etc/os-release, /etc/machine-id) and never fails on a missing file: what cannot be read is
/// left out.
/// </summary>
internal static class NodeInfoCollector
{
    public const string KubeletVersion = "v1.32.0-verge";
    public const string SiteLabel = "verge.dev/site";
    public const string RuntimeClassesAnnotation = "verge.dev/runtime-classes";
    public const string ReadyReason = "VergeAgentReady";

    public static CoreNode Collect(NodeInfoOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        var capacity = new Dictionary<string, Quantity>(StringComparer.Ordinal)
        {
            ["cpu"] = Cpu(o.HostRoot),
            ["pods"] = Quantity.FromUnits(o.MaxPods),
        };
        if (MemoryKiB(o.HostRoot) is { } kib)
        {
            capacity["memory"] = Quantity.Parse(kib.ToString(CultureInfo.InvariantCulture) + "Ki");
        }

        if (StorageBytes(o.DataDir) is { } bytes)
        {
            capacity["ephemeral-storage"] = Quantity.FromUnits(bytes, QuantityFormat.BinarySI);
        }

        foreach (var (name, text) in o.ExtendedResources)
        {
            if (!name.Contains('/', StringComparison.Ordinal) || name.StartsWith("kubernetes.io/", StringComparison.Ordinal))
            {
                throw new ArgumentException($"extended resource \"{name}\" must be a domain-prefixed name outside kubernetes.io, such as verge.dev/camera");
            }

            if (!Quantity.TryParse(text, out var quantity, out var error) || quantity.Sign < 0)
            {
                throw new ArgumentException($"extended resource \"{name}\" has an invalid quantity \"{text}\": {error ?? "it must not be negative"}");
            }

            capacity[name] = quantity;
        }

        var arch = Architecture(RuntimeInformation.OSArchitecture);
        var os = OperatingSystemName();
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kubernetes.io/hostname"] = o.NodeName,
            ["kubernetes.io/os"] = os,
            ["kubernetes.io/arch"] = arch,
        };
        if (!string.IsNullOrEmpty(o.Site))
        {
            labels[SiteLabel] = o.Site;
        }

        foreach (var (key, value) in o.Labels)
        {
            labels[key] = value;
        }

        var annotations = o.RuntimeClasses.Count == 0
            ? null
            : new Dictionary<string, string>(StringComparer.Ordinal) { [RuntimeClassesAnnotation] = string.Join(',', o.RuntimeClasses) };
        var now = o.Time.GetUtcNow();
        return new CoreNode
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new ObjectMeta { Name = o.NodeName, Labels = labels, Annotations = annotations },
            Status = new NodeStatus
            {
                Capacity = capacity,
                Allocatable = new Dictionary<string, Quantity>(capacity, StringComparer.Ordinal),
                Conditions =
                [
                    new NodeCondition
                    {
                        Type = "Ready",
                        Status = "True",
                        Reason = ReadyReason,
                        Message = "verge agent is posting ready status",
                        LastHeartbeatTime = now,
                        LastTransitionTime = now,
                    },
                ],
                Addresses = Addresses(),
                NodeInfo = new NodeSystemInfo
                {
                    Architecture = arch,
                    OperatingSystem = os,
                    KernelVersion = ReadLine(o.HostRoot, "proc/sys/kernel/osrelease") ?? Environment.OSVersion.Version.ToString(),
                    OsImage = OsImage(o.HostRoot),
                    MachineID = ReadLine(o.HostRoot, "etc/machine-id") ?? "",
                    SystemUUID = ReadLine(o.HostRoot, "sys/class/dmi/id/product_uuid") ?? "",
                    BootID = ReadLine(o.HostRoot, "proc/sys/kernel/random/boot_id") ?? "",
                    KubeletVersion = KubeletVersion,
                },
            },
        };
    }

    /// <summary>Kubernetes' name for a processor architecture (GOARCH).</summary>
    internal static string Architecture(System.Runtime.InteropServices.Architecture architecture) => architecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm or System.Runtime.InteropServices.Architecture.Armv6 => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        System.Runtime.InteropServices.Architecture.LoongArch64 => "loong64",
        var other => other.ToString().ToLowerInvariant(),
    };

    internal static string OperatingSystemName() =>
        OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "darwin" : "unknown";

    /// <summary>The CPUs the node offers: the processor count, or the cgroup CPU quota when that is smaller.</summary>
    internal static Quantity Cpu(string hostRoot)
    {
        var processors = Environment.ProcessorCount;
        if (CgroupQuotaMillis(hostRoot) is { } quota && quota < processors * 1000L)
        {
            return quota % 1000 == 0 ? Quantity.FromUnits(quota / 1000) : Quantity.FromMilli(quota);
        }

        return Quantity.FromUnits(processors);
    }

    /// <summary>The cgroup CPU quota in millicores (v2 cpu.max, else v1 cfs quota and period); null when unlimited.</summary>
    internal static long? CgroupQuotaMillis(string hostRoot)
    {
        var max = ReadLine(hostRoot, "sys/fs/cgroup/cpu.max")?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (max is [var q, var p] && long.TryParse(q, CultureInfo.InvariantCulture, out var quota) && long.TryParse(p, CultureInfo.InvariantCulture, out var period))
        {
            return Millis(quota, period);
        }

        foreach (var dir in new[] { "sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct" })
        {
            if (long.TryParse(ReadLine(hostRoot, dir + "/cpu.cfs_quota_us"), CultureInfo.InvariantCulture, out var v1Quota)
                && long.TryParse(ReadLine(hostRoot, dir + "/cpu.cfs_period_us"), CultureInfo.InvariantCulture, out var v1Period))
            {
                return Millis(v1Quota, v1Period);
            }
        }

        return null;

        static long? Millis(long quota, long period) => quota > 0 && period > 0 ? Math.Max(1, quota * 1000 / period) : null;
    }

    /// <summary>MemTotal from /proc/meminfo, in KiB.</summary>
    internal static long? MemoryKiB(string hostRoot)
    {
        var path = Path.Combine(hostRoot, "proc/meminfo");
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var kib) ? kib : null;
            }
        }

        return null;
    }

    private static long? StorageBytes(string dataDir)
    {
        try
        {
            Directory.CreateDirectory(dataDir);
            return new DriveInfo(Path.GetFullPath(dataDir)).TotalSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>PRETTY_NAME from /etc/os-release (else NAME, else the runtime's description).</summary>
    internal static string OsImage(string hostRoot)
    {
        var path = Path.Combine(hostRoot, "etc/os-release");
        if (File.Exists(path))
        {
            var fields = File.ReadLines(path)
                .Select(l => l.Split('=', 2))
                .Where(p => p.Length == 2)
                .GroupBy(p => p[0].Trim(), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Last()[1].Trim().Trim('"', '\''), StringComparer.Ordinal);
            if (fields.GetValueOrDefault("PRETTY_NAME") is { Length: > 0 } pretty)
            {
                return pretty;
            }

            if (fields.GetValueOrDefault("NAME") is { Length: > 0 } name)
            {
                return name;
            }
        }

        return RuntimeInformation.OSDescription;
    }

    /// <summary>InternalIP: the first non-loopback IPv4 address of an interface that is up; Hostname: the machine name.</summary>
    private static List<NodeAddress> Addresses()
    {
        var addresses = new List<NodeAddress>();
        try
        {
            var ip = NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a));
            if (ip is not null)
            {
                addresses.Add(new NodeAddress { Type = "InternalIP", Address = ip.ToString() });
            }
        }
        catch (NetworkInformationException)
        {
        }

        addresses.Add(new NodeAddress { Type = "Hostname", Address = Environment.MachineName.ToLowerInvariant() });
        return addresses;
    }

    private static string? ReadLine(string hostRoot, string relative)
    {
        try
        {
            var path = Path.Combine(hostRoot, relative);
            return File.Exists(path) ? File.ReadLines(path).FirstOrDefault()?.Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
