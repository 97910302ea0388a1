using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Verge.Agent.Registration;
using Verge.Core.Quantities;
using Verge.Core.Serialization;

namespace Verge.Agent.Tests.Registration;

/// <summary>The Node the agent reports, collected from a fake host tree (and the real data dir file system).</summary>
public sealed class NodeInfoCollectorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("verge-hostroot-").FullName;
    private readonly string _dataDir = Directory.CreateTempSubdirectory("verge-nodeinfo-data-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));

    public NodeInfoCollectorTests()
    {
        Write("proc/meminfo", "MemTotal:        8048576 kB\nMemFree:         1000000 kB\n");
        Write("etc/os-release", "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
        Write("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
        Write("proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
        Write("proc/sys/kernel/random/boot_id", "1b2c3d4e-0000-0000-0000-000000000000\n");
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_dataDir, recursive: true);
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private NodeInfoOptions Options() => new()
    {
        NodeName = "press-7",
        Site = "plant-a",
        Labels = new Dictionary<string, string> { ["line"] = "3" },
        ExtendedResources = new Dictionary<string, string> { ["verge.dev/camera"] = "2" },
        RuntimeClasses = ["runc", "process"],
        DataDir = _dataDir,
        MaxPods = 50,
        HostRoot = _root,
        Time = _time,
    };

    [Fact]
    public void Collect_ReportsCapacityFromTheHost()
    {
        var node = NodeInfoCollector.Collect(Options());

        var capacity = node.Status!.Capacity!;
        Assert.Equal(Quantity.Parse("8048576Ki"), capacity["memory"]);
        Assert.Equal(Quantity.FromUnits(Environment.ProcessorCount), capacity["cpu"]);
        Assert.Equal(Quantity.FromUnits(50), capacity["pods"]);
        Assert.Equal(Quantity.Parse("2"), capacity["verge.dev/camera"]);
        Assert.Equal(new DriveInfo(_dataDir).TotalSize, capacity["ephemeral-storage"].Value());
        Assert.Equal(capacity, node.Status.Allocatable);
    }

    [Fact]
    public void Collect_SetsWellKnownLabelsSiteAndRuntimeClasses()
    {
        var node = NodeInfoCollector.Collect(Options());

        var labels = node.Metadata.Labels!;
        Assert.Equal("press-7", node.Metadata.Name);
        Assert.Equal("press-7", labels["kubernetes.io/hostname"]);
        Assert.Equal("linux", labels["kubernetes.io/os"]);
        Assert.Equal(NodeInfoCollector.Architecture(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture), labels["kubernetes.io/arch"]);
        Assert.Equal("plant-a", labels["verge.dev/site"]);
        Assert.Equal("3", labels["line"]);
        Assert.Equal("runc,process", node.Metadata.Annotations!["verge.dev/runtime-classes"]);
    }

    [Fact]
    public void Collect_ReportsSystemInfoAndReadyCondition()
    {
        var node = NodeInfoCollector.Collect(Options());

        var info = node.Status!.NodeInfo!;
        Assert.Equal("Debian GNU/Linux 12 (bookworm)", info.OsImage);
        Assert.Equal("0123456789abcdef0123456789abcdef", info.MachineID);
        Assert.Equal("6.1.0-18-amd64", info.KernelVersion);
        Assert.Equal("1b2c3d4e-0000-0000-0000-000000000000", info.BootID);
        Assert.Equal("v1.32.0-verge", info.KubeletVersion);
        Assert.Equal("linux", info.OperatingSystem);
        var ready = Assert.Single(node.Status.Conditions!);
        Assert.Equal(("Ready", "True", "VergeAgentReady"), (ready.Type, ready.Status, ready.Reason));
        Assert.Equal(_time.GetUtcNow(), ready.LastHeartbeatTime);
        Assert.Contains(node.Status.Addresses!, a => a.Type == "Hostname");
        Assert.All(node.Status.Addresses!.Where(a => a.Type == "InternalIP"), a => Assert.DoesNotMatch("^127\\.", a.Address));
    }

    [Fact]
    public void Collect_WithCgroupV2QuotaBelowProcessors_ReportsTheQuota()
    {
        Write("sys/fs/cgroup/cpu.max", "50000 100000\n");

        var node = NodeInfoCollector.Collect(Options());

        Assert.Equal(Quantity.Parse("500m"), node.Status!.Capacity!["cpu"]);
    }

    [Fact]
    public void Collect_WithCgroupV1Quota_ReportsTheQuota()
    {
        Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "150000\n");
        Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");

        Assert.Equal(1500, NodeInfoCollector.CgroupQuotaMillis(_root));
    }

    [Fact]
    public void Collect_WithUnlimitedCgroup_ReportsProcessorCount()
    {
        Write("sys/fs/cgroup/cpu.max", "max 100000\n");
        Write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");

        Assert.Null(NodeInfoCollector.CgroupQuotaMillis(_root));
        Assert.Equal(Quantity.FromUnits(Environment.ProcessorCount), NodeInfoCollector.Cpu(_root));
    }

    [Fact]
    public void Collect_WithoutHostFiles_StillReportsANode()
    {
        var options = Options();
        options.HostRoot = Path.Combine(_root, "empty");

        var node = NodeInfoCollector.Collect(options);

        Assert.False(node.Status!.Capacity!.ContainsKey("memory"));
        Assert.Equal("", node.Status.NodeInfo!.MachineID);
        Assert.False(string.IsNullOrEmpty(node.Status.NodeInfo.OsImage));
    }

    [Theory]
    [InlineData("camera", "1")]
    [InlineData("kubernetes.io/gpu", "1")]
    [InlineData("verge.dev/camera", "two")]
    [InlineData("verge.dev/camera", "-1")]
    public void Collect_WithBadExtendedResource_Throws(string name, string quantity)
    {
        var options = Options();
        options.ExtendedResources = new Dictionary<string, string> { [name] = quantity };

        var error = Assert.Throws<ArgumentException>(() => NodeInfoCollector.Collect(options));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Collect_SerializesAsAKubernetesNode()
    {
        var node = NodeInfoCollector.Collect(Options());

        var json = JsonSerializer.Serialize(node, VergeJsonContext.Default.Node);

        Assert.Contains("\"kind\":\"Node\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kubeletVersion\":\"v1.32.0-verge\"", json, StringComparison.Ordinal);
        Assert.Contains("\"memory\":\"8048576Ki\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_WithoutNodeName_AreRejected()
    {
        var options = Options();
        options.NodeName = "";

        Assert.Throws<ArgumentException>(() => NodeInfoCollector.Collect(options));
    }
}
