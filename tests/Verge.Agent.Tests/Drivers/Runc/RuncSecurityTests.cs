using Verge.Agent.Drivers;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Drivers.Runc;

/// <summary>The security context against real runc: capabilities, no_new_privs, seccomp, privileged, sysctls, runAsNonRoot.</summary>
public sealed class RuncSecurityTests
{
    private static async Task<(int ExitCode, string Log)> RunAsync(RuncHarness harness, TaskSecurity security, string script)
    {
        var config = harness.Task("/bin/sh", "-c", script) with { Security = security };
        var handle = await harness.StartAsync(config);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);
        return (exit.ExitCode, await File.ReadAllTextAsync(config.LogPath));
    }

    [Fact]
    public async Task DropAll_LeavesNoCapabilities_SoRootCannotChown_AndNoEscalationSetsNoNewPrivs()
    {
        await using var harness = new RuncHarness();
        const string script = "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; touch /tmp/f; chown 1234 /tmp/f && echo chown-allowed || echo chown-refused";

        var (_, restricted) = await RunAsync(harness, new TaskSecurity { DropCapabilities = ["ALL"], AllowPrivilegeEscalation = false }, script);
        var (_, ordinary) = await RunAsync(harness, new TaskSecurity(), script);

        Assert.Contains("CapEff:\t0000000000000000", restricted, StringComparison.Ordinal);
        Assert.Contains("NoNewPrivs:\t1", restricted, StringComparison.Ordinal);
        Assert.Contains("chown-refused", restricted, StringComparison.Ordinal);
        Assert.Contains("chown-allowed", ordinary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddedCapability_IsGranted()
    {
        await using var harness = new RuncHarness();

        var (_, log) = await RunAsync(harness, new TaskSecurity { DropCapabilities = ["ALL"], AddCapabilities = ["NET_ADMIN"] }, "grep '^CapEff' /proc/self/status");

        // CAP_NET_ADMIN is bit 12.
        Assert.Contains("CapEff:\t0000000000001000", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RuntimeDefault_RefusesUnshare_ThatUnconfinedAllows_WhileOrdinaryWorkRuns()
    {
        await using var harness = new RuncHarness();
        const string script = "echo hello > /tmp/x && cat /tmp/x && ls / >/dev/null && unshare -U true && echo unshare-allowed || echo unshare-refused";

        var (confinedExit, confined) = await RunAsync(harness, new TaskSecurity { Seccomp = SeccompMode.RuntimeDefault }, script);
        var (_, unconfined) = await RunAsync(harness, new TaskSecurity { Seccomp = SeccompMode.Unconfined }, script);

        Assert.Contains("unshare-allowed", unconfined, StringComparison.Ordinal);
        Assert.True(confinedExit == 0, confined);
        Assert.Contains("hello", confined, StringComparison.Ordinal);
        Assert.Contains("unshare-refused", confined, StringComparison.Ordinal);
        Assert.Contains("Operation not permitted", confined, StringComparison.Ordinal);
        Assert.Contains("Seccomp:\t2", (await RunAsync(harness, new TaskSecurity { Seccomp = SeccompMode.RuntimeDefault }, "grep '^Seccomp:' /proc/self/status")).Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalhostProfile_IsEnforced()
    {
        await using var harness = new RuncHarness();

        // Everything allowed but mkdir and mkdirat, which fail with EACCES (13).
        const string profile = """
            {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}
            """;
        var security = new TaskSecurity { Seccomp = SeccompMode.Localhost, SeccompProfileName = "no-mkdir.json", SeccompProfileJson = profile };

        var (_, log) = await RunAsync(harness, security, "mkdir /tmp/d && echo mkdir-allowed || echo mkdir-refused; touch /tmp/f && echo touch-allowed");

        Assert.Contains("mkdir-refused", log, StringComparison.Ordinal);
        Assert.Contains("Permission denied", log, StringComparison.Ordinal);
        Assert.Contains("touch-allowed", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Privileged_HasEveryCapability_AndTheHostsDevices()
    {
        await using var harness = new RuncHarness();

        var (_, log) = await RunAsync(
            harness,
            new TaskSecurity { Privileged = true },
            "grep '^CapEff' /proc/self/status; test -c /dev/kmsg && echo host-devices; grep '^Seccomp:' /proc/self/status");

        // Every capability the agent (here the test process) has itself.
        var own = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))["CapBnd:".Length..].Trim();
        Assert.Contains("CapEff:\t" + own, log, StringComparison.Ordinal);
        Assert.Contains("host-devices", log, StringComparison.Ordinal);
        Assert.Contains("Seccomp:\t0", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sysctl_IsSetInTheContainersNamespace()
    {
        await using var harness = new RuncHarness();
        var host = (await File.ReadAllTextAsync("/proc/sys/kernel/shm_rmid_forced")).Trim();
        var wanted = host == "1" ? "0" : "1";

        var (_, log) = await RunAsync(harness, new TaskSecurity { Sysctls = [new("kernel.shm_rmid_forced", wanted)] }, "echo sysctl=$(cat /proc/sys/kernel/shm_rmid_forced)");

        Assert.Contains("sysctl=" + wanted, log, StringComparison.Ordinal);
        Assert.Equal(host, (await File.ReadAllTextAsync("/proc/sys/kernel/shm_rmid_forced")).Trim());
    }

    [Fact]
    public async Task RunAsNonRoot_WithARootImage_IsRefusedBeforeAnythingRuns()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo ran") with { Security = new TaskSecurity { RunAsNonRoot = true } };

        var error = await Assert.ThrowsAsync<DriverException>(() => harness.Driver.StartAsync(config, RuncHarness.Timeout));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.StartsWith("container has runAsNonRoot and image will run as root", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(harness.Root, "bundles", config.Id)));
    }

    [Fact]
    public async Task RunAsNonRoot_WithANumericImageUser_Runs()
    {
        await using var harness = new RuncHarness(new ImageConfig { User = "1000" });

        var (exit, log) = await RunAsync(harness, new TaskSecurity { RunAsNonRoot = true }, "echo uid=$(id -u)");

        Assert.Equal(0, exit);
        Assert.Contains("uid=1000", log, StringComparison.Ordinal);
    }
}
