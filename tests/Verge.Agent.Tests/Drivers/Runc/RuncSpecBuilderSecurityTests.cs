using Verge.Agent.Drivers;
using Verge.Agent.Drivers.Runc;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Drivers.Runc;

/// <summary>How the security context becomes the OCI spec: capabilities, privileges, seccomp, sysctls, runAsNonRoot.</summary>
public sealed class RuncSpecBuilderSecurityTests : IDisposable
{
    private readonly string _rootfs = Directory.CreateTempSubdirectory("verge-spec-").FullName;

    public RuncSpecBuilderSecurityTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/sh\n");
        File.WriteAllText(Path.Combine(_rootfs, "etc/group"), "root:x:0:\nweb:x:33:\n");
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private static TaskConfig Task(TaskSecurity security) => new()
    {
        Id = "t1",
        PodUid = "0f0e",
        PodNamespace = "shop",
        PodName = "web-0",
        ContainerName = "main",
        Command = ["/bin/app"],
        LogPath = "/tmp/x.log",
        NetworkNamespacePath = "/var/run/netns/pod",
        Security = security,
    };

    private OciSpec Build(TaskSecurity security, string? imageUser = null) =>
        Build(Task(security), imageUser);

    private OciSpec Build(TaskConfig config, string? imageUser = null) =>
        RuncSpecBuilder.Build(config, new ImageConfig { User = imageUser }, _rootfs, "/bundle/rootfs", "/bundle/etc", "/verge/t1");

    [Fact]
    public void DropAll_ThenAdd_GrantsOnlyTheAddedCapability_WrittenEitherWay()
    {
        var spec = Build(new TaskSecurity { DropCapabilities = ["ALL"], AddCapabilities = ["net_bind_service", "CAP_NET_ADMIN"] });

        Assert.Equal(["CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN"], spec.Process.Capabilities.Bounding);
        Assert.Equal(spec.Process.Capabilities.Bounding, spec.Process.Capabilities.Effective);
        Assert.Equal(spec.Process.Capabilities.Bounding, spec.Process.Capabilities.Permitted);
    }

    [Fact]
    public void Drop_RemovesFromTheDefaultSet_AndAddAll_GrantsEveryCapability()
    {
        var dropped = Build(new TaskSecurity { DropCapabilities = ["NET_RAW", "CAP_CHOWN"] }).Process.Capabilities.Bounding;
        var all = Build(new TaskSecurity { AddCapabilities = ["ALL"], DropCapabilities = ["SYS_ADMIN"] }).Process.Capabilities.Bounding;

        Assert.Equal(TaskSecurityChecks.DefaultCapabilities.Except(["CAP_NET_RAW", "CAP_CHOWN"]), dropped);
        Assert.Equal(TaskSecurityChecks.AgentCapabilities.Except(["CAP_SYS_ADMIN"]), all);
    }

    [Fact]
    public void UnknownCapability_IsAConfigError()
    {
        var error = Assert.Throws<DriverException>(() => Build(new TaskSecurity { AddCapabilities = ["SYS_WIZARD"] }));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains("SYS_WIZARD", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void NoNewPrivileges_OnlyWhenPrivilegeEscalationIsDisallowed(bool? allow, bool expected) =>
        Assert.Equal(expected, Build(new TaskSecurity { AllowPrivilegeEscalation = allow }).Process.NoNewPrivileges);

    [Fact]
    public void Privileged_GetsAllCapabilitiesDevicesAndHostDev_WithoutMasksOrSeccomp()
    {
        var spec = Build(new TaskSecurity { Privileged = true, Seccomp = SeccompMode.RuntimeDefault, DropCapabilities = ["ALL"] });

        Assert.Equal(TaskSecurityChecks.AgentCapabilities, spec.Process.Capabilities.Bounding);
        Assert.Null(spec.Linux.MaskedPaths);
        Assert.Null(spec.Linux.ReadonlyPaths);
        Assert.Null(spec.Linux.Seccomp);
        Assert.Equal([new OciDeviceRule(true, "rwm")], spec.Linux.Resources.Devices);
        var dev = Assert.Single(spec.Mounts, m => m.Destination == "/dev");
        Assert.Equal(("bind", "/dev"), (dev.Type, dev.Source));
        Assert.DoesNotContain("ro", Assert.Single(spec.Mounts, m => m.Destination == "/sys").Options);
    }

    [Fact]
    public void RuntimeDefault_DeniesByDefault_AllowsOrdinaryCalls_AndGuardsAdminCallsByCapability()
    {
        var seccomp = Build(new TaskSecurity { Seccomp = SeccompMode.RuntimeDefault }).Linux.Seccomp!;
        var admin = Build(new TaskSecurity { Seccomp = SeccompMode.RuntimeDefault, AddCapabilities = ["SYS_ADMIN"] }).Linux.Seccomp!;

        Assert.Equal("SCMP_ACT_ERRNO", seccomp.DefaultAction);
        var allowed = seccomp.Syscalls!.Where(s => s.Action == "SCMP_ACT_ALLOW" && s.Args is null).SelectMany(s => s.Names).ToHashSet();
        Assert.Superset(new HashSet<string> { "read", "write", "openat", "execve", "futex", "chroot" }, allowed);
        Assert.DoesNotContain("mount", allowed);
        Assert.DoesNotContain("unshare", allowed);
        Assert.DoesNotContain("keyctl", allowed);
        var clone = Assert.Single(seccomp.Syscalls!, s => s.Names.SequenceEqual(["clone"]));
        Assert.Equal("SCMP_CMP_MASKED_EQ", Assert.Single(clone.Args!).Op);
        Assert.Equal(38u, Assert.Single(seccomp.Syscalls!, s => s.Names.SequenceEqual(["clone3"])).ErrnoRet);

        var adminAllowed = admin.Syscalls!.Where(s => s.Action == "SCMP_ACT_ALLOW" && s.Args is null).SelectMany(s => s.Names).ToHashSet();
        Assert.Superset(new HashSet<string> { "mount", "unshare", "clone", "clone3", "setns" }, adminAllowed);
        Assert.DoesNotContain(admin.Syscalls!, s => s.Names.SequenceEqual(["clone3"]) && s.Action != "SCMP_ACT_ALLOW");
    }

    [Fact]
    public void Localhost_ReadsADockerFormatProfile_WithConditionsOnCapabilities()
    {
        const string profile = """
            {"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
             "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                         {"name":"mount","action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
                         {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                         {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"excludes":{"caps":["CAP_FOWNER"]}}]}
            """;

        var seccomp = Build(new TaskSecurity { Seccomp = SeccompMode.Localhost, SeccompProfileName = "p.json", SeccompProfileJson = profile }).Linux.Seccomp!;

        Assert.Equal(("SCMP_ACT_ERRNO", 1u), (seccomp.DefaultAction, seccomp.DefaultErrnoRet!.Value));
        Assert.Equal(["SCMP_ARCH_X86_64"], seccomp.Architectures);
        Assert.Equal([["read", "write"], ["personality"]], seccomp.Syscalls!.Select(s => s.Names));
        Assert.Equal(new OciSeccompArg(0, 8, 0, "SCMP_CMP_EQ"), Assert.Single(seccomp.Syscalls![1].Args!));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"syscalls":[]}""")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}""")]
    public void Localhost_WithAMalformedProfile_IsAConfigErrorNamingIt(string profile)
    {
        var error = Assert.Throws<DriverException>(() =>
            Build(new TaskSecurity { Seccomp = SeccompMode.Localhost, SeccompProfileName = "bad.json", SeccompProfileJson = profile }));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains("\"bad.json\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sysctls_GoToTheSpec_InDottedForm_ButNetOnesNeedAPodNetwork()
    {
        var security = new TaskSecurity { Sysctls = [new("net/ipv4/ip_unprivileged_port_start", "0"), new("kernel.shm_rmid_forced", "1")] };

        var spec = Build(security);
        var error = Assert.Throws<DriverException>(() => Build(Task(security) with { NetworkNamespacePath = null }));

        Assert.Equal(new Dictionary<string, string> { ["net.ipv4.ip_unprivileged_port_start"] = "0", ["kernel.shm_rmid_forced"] = "1" }, spec.Linux.Sysctl);
        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Theory]
    [InlineData(null, null, "container has runAsNonRoot and image will run as root (pod: \"web-0_shop(0f0e)\", container: main)")]
    [InlineData("0:0", null, "container has runAsNonRoot and image will run as root (pod: \"web-0_shop(0f0e)\", container: main)")]
    [InlineData("web", null, "container has runAsNonRoot and image has non-numeric user (web), cannot verify user is non-root (pod: \"web-0_shop(0f0e)\", container: main)")]
    [InlineData("33", 0L, "container's runAsUser breaks non-root policy (pod: \"web-0_shop(0f0e)\", container: main)")]
    public void RunAsNonRoot_RefusesRootAndUncheckableUsers_WithTheKubeletsMessages(string? imageUser, long? runAsUser, string message)
    {
        var config = Task(new TaskSecurity { RunAsNonRoot = true }) with { RunAsUser = runAsUser };

        var error = Assert.Throws<DriverException>(() => Build(config, imageUser));

        Assert.Equal(("CreateContainerConfigError", message), (error.Reason, error.Message));
    }

    [Theory]
    [InlineData("33", null)]
    [InlineData("33:33", null)]
    [InlineData("web", 1000L)]
    [InlineData(null, 1000L)]
    public void RunAsNonRoot_AllowsANumericNonRootUser(string? imageUser, long? runAsUser)
    {
        var spec = Build(Task(new TaskSecurity { RunAsNonRoot = true }) with { RunAsUser = runAsUser }, imageUser);

        Assert.NotEqual(0, spec.Process.User.Uid);
    }
}
