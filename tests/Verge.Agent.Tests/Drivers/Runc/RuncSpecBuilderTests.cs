using Verge.Agent.Drivers;
using Verge.Agent.Drivers.Runc;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Drivers.Runc;

public sealed class RuncSpecBuilderTests : IDisposable
{
    private readonly string _rootfs = Directory.CreateTempSubdirectory("verge-spec-").FullName;

    public RuncSpecBuilderTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/sh\n");
        File.WriteAllText(Path.Combine(_rootfs, "etc/group"), "root:x:0:\nweb:x:33:\nstaff:x:50:web\n");
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private static readonly ImageConfig Image = new() { Entrypoint = ["/entry"], Cmd = ["--default"] };

    private static TaskConfig NewTask() => new()
    {
        Id = "t1",
        PodUid = "u",
        PodNamespace = "default",
        PodName = "web-0",
        ContainerName = "main",
        Command = ["/bin/app"],
        LogPath = "/tmp/x.log",
    };

    [Fact]
    public void ResolveArgs_WithNeither_RunsEntrypointThenCmd() =>
        Assert.Equal(["/entry", "--default"], RuncSpecBuilder.ResolveArgs(null, null, Image));

    [Fact]
    public void ResolveArgs_WithCommand_ReplacesEntrypointAndDropsCmd() =>
        Assert.Equal(["/bin/app"], RuncSpecBuilder.ResolveArgs(["/bin/app"], null, Image));

    [Fact]
    public void ResolveArgs_WithArgs_ReplacesCmdOnly() =>
        Assert.Equal(["/entry", "--mine"], RuncSpecBuilder.ResolveArgs(null, ["--mine"], Image));

    [Fact]
    public void ResolveArgs_WithCommandAndArgs_RunsBoth() =>
        Assert.Equal(["/bin/app", "--mine"], RuncSpecBuilder.ResolveArgs(["/bin/app"], ["--mine"], Image));

    [Fact]
    public void ResolveArgs_WhenNothingToRun_FailsClearly()
    {
        var error = Assert.Throws<DriverException>(() => RuncSpecBuilder.ResolveArgs(null, null, new ImageConfig()));
        Assert.Contains("no command", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveEnv_TaskOverridesImage_AndPathDefaults()
    {
        var env = RuncSpecBuilder.ResolveEnv(["A=image", "B=image"], [new("B", "task"), new("C", "x=y")]);

        Assert.Equal(["A=image", "B=task", "C=x=y", "PATH=" + RuncSpecBuilder.DefaultPath, "HOME=/"], env);
    }

    [Fact]
    public void ResolveEnv_KeepsImagePath()
    {
        var env = RuncSpecBuilder.ResolveEnv(["PATH=/opt/bin"], [], "/root");

        Assert.Equal(["PATH=/opt/bin", "HOME=/root"], env);
    }

    [Fact]
    public void ResolveEnv_WithInvalidName_Fails() =>
        Assert.Throws<DriverException>(() => RuncSpecBuilder.ResolveEnv([], [new("A=B", "x")]));

    [Fact]
    public void ResolveUser_ByName_UsesPasswdAndSupplementaryGroups()
    {
        var user = RuncSpecBuilder.ResolveUser("web", null, null, _rootfs);

        Assert.Equal((33L, 33L, "/var/www"), (user.Uid, user.Gid, user.Home));
        Assert.Equal([50L], user.AdditionalGids);
    }

    [Theory]
    [InlineData("33", 33, 33)]
    [InlineData("1234", 1234, 0)]
    [InlineData("web:staff", 33, 50)]
    [InlineData("1234:99", 1234, 99)]
    [InlineData(null, 0, 0)]
    public void ResolveUser_FromImageUser(string? imageUser, long uid, long gid)
    {
        var user = RuncSpecBuilder.ResolveUser(imageUser, null, null, _rootfs);

        Assert.Equal((uid, gid), (user.Uid, user.Gid));
    }

    [Fact]
    public void ResolveUser_RunAsUserAndGroup_WinOverImage()
    {
        var user = RuncSpecBuilder.ResolveUser("web", 1000, 2000, _rootfs);

        Assert.Equal((1000L, 2000L), (user.Uid, user.Gid));
    }

    [Fact]
    public void ResolveUser_UnknownName_FailsWithConfigError()
    {
        var error = Assert.Throws<DriverException>(() => RuncSpecBuilder.ResolveUser("nobody-here", null, null, _rootfs));
        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public void Build_MapsResourcesNamespacesAndSecurity()
    {
        var config = NewTask() with
        {
            ReadOnlyRootFilesystem = true,
            Resources = new TaskResources { MemoryLimitBytes = 64 * 1024 * 1024, CpuLimitMillis = 500, CpuRequestMillis = 250, PidsLimit = 100 },
        };

        var spec = RuncSpecBuilder.Build(config, Image, _rootfs, "/bundle/rootfs", "/bundle/etc", "/verge/t1");

        Assert.True(spec.Root.Readonly);
        Assert.Equal("web-0", spec.Hostname);
        Assert.Equal(64 * 1024 * 1024, spec.Linux.Resources.Memory!.Limit);
        Assert.Equal(spec.Linux.Resources.Memory.Limit, spec.Linux.Resources.Memory.Swap);
        Assert.Equal(50_000, spec.Linux.Resources.Cpu!.Quota);
        Assert.Equal(100_000UL, spec.Linux.Resources.Cpu.Period);
        Assert.Equal(256UL, spec.Linux.Resources.Cpu.Shares);
        Assert.Equal(100, spec.Linux.Resources.Pids!.Limit);
        Assert.DoesNotContain(spec.Linux.Namespaces, ns => ns.Type == "network");
        Assert.Contains(spec.Linux.Namespaces, ns => ns.Type == "pid");
        Assert.False(spec.Process.NoNewPrivileges);
        Assert.Equal(TaskSecurityChecks.DefaultCapabilities, spec.Process.Capabilities.Bounding);
        Assert.Null(spec.Linux.Seccomp);
        Assert.Null(spec.Linux.Sysctl);
        Assert.Equal(["rwm"], spec.Linux.Resources.Devices!.Where(d => !d.Allow).Select(d => d.Access));
        Assert.Contains(spec.Mounts, m => m.Destination == "/etc/resolv.conf" && m.Source == "/bundle/etc/resolv.conf");
        Assert.Contains(spec.Mounts, m => m.Destination == "/sys" && m.Options.Contains("ro"));
    }

    [Fact]
    public void Build_WithNetworkNamespace_JoinsIt()
    {
        var config = NewTask() with
        {
            NetworkNamespacePath = "/var/run/netns/verge-x",
        };

        var spec = RuncSpecBuilder.Build(config, Image, _rootfs, "/r", "/e", "/verge/t1");

        Assert.Contains(spec.Linux.Namespaces, ns => ns.Type == "network" && ns.Path == "/var/run/netns/verge-x");
    }

    [Fact]
    public void Build_GivesTheProcessThePodsFsGroupAndSupplementalGroups()
    {
        var config = NewTask() with
        {
            RunAsUser = 1000,
            SupplementalGroups = [2000, 3000],
        };

        var spec = RuncSpecBuilder.Build(config, Image, _rootfs, "/r", "/e", "/verge/t1");

        Assert.Equal([2000L, 3000L], spec.Process.User.AdditionalGids!.TakeLast(2));
    }

    [Theory]
    [InlineData(false, false, "pid,ipc,uts,mount")]
    [InlineData(true, false, "ipc,uts,mount")]
    [InlineData(false, true, "pid,uts,mount")]
    [InlineData(true, true, "uts,mount")]
    public void Build_WithHostPidOrIpc_LeavesThatNamespaceOut(bool hostPid, bool hostIpc, string expected)
    {
        var config = NewTask() with
        {
            HostPid = hostPid,
            HostIpc = hostIpc,
        };

        var spec = RuncSpecBuilder.Build(config, Image, _rootfs, "/r", "/e", "/verge/t1");

        Assert.Equal(expected, string.Join(',', spec.Linux.Namespaces.Select(ns => ns.Type).Where(t => t != "cgroup")));
    }

    [Fact]
    public void Build_WithThePodsIpc_JoinsItsNamespaceAndMountsItsShm()
    {
        var config = NewTask() with { IpcNamespacePath = "/data/pods/u/ipc/ns", ShmPath = "/data/pods/u/ipc/shm" };

        var spec = RuncSpecBuilder.Build(config, Image, _rootfs, "/r", "/e", "/verge/t1");

        Assert.Equal("/data/pods/u/ipc/ns", Assert.Single(spec.Linux.Namespaces, ns => ns.Type == "ipc").Path);
        var shm = Assert.Single(spec.Mounts, m => m.Destination == "/dev/shm");
        Assert.Equal(("bind", "/data/pods/u/ipc/shm"), (shm.Type, shm.Source));
        Assert.Contains("noexec", shm.Options);
    }

    [Theory]
    [InlineData(false, "tmpfs", "shm")]
    [InlineData(true, "bind", "/dev/shm")]
    public void Build_WithoutThePodsIpc_HasAShmOfItsOwn_OrTheHostsWithHostIpc(bool hostIpc, string type, string source)
    {
        var spec = RuncSpecBuilder.Build(NewTask() with { HostIpc = hostIpc }, Image, _rootfs, "/r", "/e", "/verge/t1");

        var shm = Assert.Single(spec.Mounts, m => m.Destination == "/dev/shm");
        Assert.Equal((type, source), (shm.Type, shm.Source));
        Assert.All(spec.Linux.Namespaces, ns => Assert.Null(ns.Path));
    }

    [Theory]
    [InlineData("SIGTERM", "TERM")]
    [InlineData("sigquit", "QUIT")]
    [InlineData("9", "9")]
    [InlineData(null, null)]
    public void NormalizeSignal_AcceptsNamesAndNumbers(string? input, string? expected) =>
        Assert.Equal(expected, RuncDriver.NormalizeSignal(input));

    [Theory]
    [InlineData("SIG TERM")]
    [InlineData("99")]
    public void NormalizeSignal_RejectsNonsense(string input) =>
        Assert.Throws<DriverException>(() => RuncDriver.NormalizeSignal(input));
}
