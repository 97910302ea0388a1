using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Drivers;
using Verge.Agent.Drivers.HostProcess;
using Verge.Agent.Tests.Support;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Drivers;

public sealed class ProcessDriverTests : DriverConformanceTests
{
    protected override IWorkloadDriver CreateDriver(string stateDir) =>
        new ProcessDriver(new ProcessDriverOptions { StateDirectory = stateDir }, NullLogger<ProcessDriver>.Instance, TimeProvider.System);

    protected override TaskConfig WithScript(TaskConfig task, string script) => task with { Command = ["/bin/sh", "-c", script] };

    /// <summary>
    /// Overridden: a host process cannot see a directory at another path, so the process driver accepts only mounts
    /// whose host path is the container path (and refuses the rest, see the tests below). This checks the accepted
    /// kind is visible.
    /// </summary>
    [Fact]
    public override async Task Start_WithBindMount_ShowsHostFilesInsideTask()
    {
        var hostDir = Directory.CreateDirectory(Path.Combine(TempDir, "mount-src")).FullName;
        await File.WriteAllTextAsync(Path.Combine(hostDir, "hello.txt"), "mounted-content");
        var task = NewTask($"cat {hostDir}/hello.txt") with { Mounts = [new TaskMount(hostDir, hostDir, ReadOnly: false)] };

        var exit = await WaitAsync(await StartAsync(task));

        Assert.Equal(0, exit.ExitCode);
        await AssertLogContainsAsync(task, "mounted-content");
    }

    [Fact]
    public async Task Wait_ForATaskThisDriverStarted_ReturnsOnItsExitWithoutPolling()
    {
        // Polling once an hour: only a wait on the monitor process itself can see this exit in time.
        var driver = new ProcessDriver(
            new ProcessDriverOptions { StateDirectory = Path.Combine(TempDir, "no-poll"), ExitPollInterval = TimeSpan.FromHours(1) },
            NullLogger<ProcessDriver>.Instance,
            TimeProvider.System);
        var task = NewTask("sleep 1; exit 3");
        var handle = await driver.StartAsync(task, CancellationToken.None);
        try
        {
            var exit = await driver.WaitAsync(handle, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(3, exit.ExitCode);
        }
        finally
        {
            await driver.DestroyAsync(handle, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Start_WithMountAtAnotherPath_IsRefusedAsConfigError()
    {
        var task = NewTask("true") with { Mounts = [new TaskMount(TempDir, "/verge-elsewhere", ReadOnly: false)] };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains("/verge-elsewhere", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithReadOnlyMount_IsRefusedAsConfigError()
    {
        var task = NewTask("true") with { Mounts = [new TaskMount(TempDir, TempDir, ReadOnly: true)] };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task Start_WithoutCommand_FailsWithCreateContainerConfigError()
    {
        var task = NewTask("true") with { Command = null, Args = null, ImageReference = "busybox:latest" };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains("command", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_PassesArgumentsLiterally_WithoutShellInterpretation()
    {
        var marker = Path.Combine(TempDir, "injected");
        var hostile = $"'; touch {marker}; echo \"$(touch {marker})\" `touch {marker}`";
        var task = NewTask("printf 'arg:%s\\n' \"$0\"") with { Args = [hostile] };

        var exit = await WaitAsync(await StartAsync(task));

        Assert.Equal(0, exit.ExitCode);
        await AssertLogContainsAsync(task, "arg:" + hostile);
        Assert.False(File.Exists(marker), "an argument was interpreted by a shell");
    }

    [Fact]
    public async Task Start_WhenWorkingDirIsMissing_FailsWithCreateContainerConfigError()
    {
        var task = NewTask("pwd") with { WorkingDir = Path.Combine(TempDir, "no-such-dir") };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task Start_RunsTaskInItsOwnSessionAndProcessGroup()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        var pid = (await Driver.InspectAsync(handle, Token())).Pid;

        Assert.NotNull(pid);
        var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(pid.ToString(), fields[2]); // process group
        Assert.Equal(pid.ToString(), fields[3]); // session
    }

    [Fact]
    public async Task Stop_AlsoEndsChildrenThatOutliveTheTask()
    {
        var task = NewTask("sh -c 'trap \"\" TERM; echo \"child:$$\"; while :; do sleep 0.1; done' & wait");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "child:");
        var child = int.Parse((await ReadLogAsync(task)).Split("child:")[1].Split('\n')[0]);
        Assert.True(ProcScan.IsRunning(child));

        await Driver.StopAsync(handle, TimeSpan.FromSeconds(30), Token());

        var exit = await WaitAsync(handle);
        Assert.Equal(143, exit.ExitCode);
        Assert.Equal(15, exit.Signal);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (ProcScan.IsRunning(child) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.False(ProcScan.IsRunning(child), $"child {child} outlived the stopped task");
    }

    [Fact]
    public async Task Exec_ThatLeavesABackgroundChild_ReturnsWhenTheCommandEnds()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        var result = await Driver.ExecAsync(handle, ["sh", "-c", "sleep 300 & echo started"], TimeSpan.FromSeconds(60), Token());

        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("started", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_JoinsTheTasksCgroups()
    {
        RequireCgroupV1("memory");
        var task = NewTask("echo ready; while :; do sleep 0.1; done") with
        {
            Resources = new TaskResources { MemoryLimitBytes = 64 * 1024 * 1024 },
        };
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        var result = await Driver.ExecAsync(handle, ["cat", "/proc/self/cgroup"], TimeSpan.FromSeconds(30), Token());

        Assert.Contains($"memory:/verge/{task.Id}", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MemoryLimit_WhenExceeded_ReportsOomKilled()
    {
        RequireCgroupV1("memory");
        var task = NewTask("echo allocating; dd if=/dev/zero of=/dev/null bs=256M count=1") with
        {
            Resources = new TaskResources { MemoryLimitBytes = 32 * 1024 * 1024 },
        };

        var exit = await WaitAsync(await StartAsync(task));

        Assert.True(exit.OomKilled, $"exit {exit.ExitCode}: {await ReadLogAsync(task)}");
        Assert.Equal("OOMKilled", exit.Reason);
        Assert.Equal(137, exit.ExitCode);
    }

    [Fact]
    public async Task MemoryLimit_WhenNotExceeded_ExitsNormally_AndDestroyRemovesTheCgroup()
    {
        RequireCgroupV1("memory");
        var task = NewTask("dd if=/dev/zero of=/dev/null bs=1M count=1") with
        {
            Resources = new TaskResources { MemoryLimitBytes = 64 * 1024 * 1024 },
        };
        var handle = await StartAsync(task);
        var cgroup = Path.Combine("/sys/fs/cgroup/memory/verge", task.Id);
        Assert.True(Directory.Exists(cgroup));

        var exit = await WaitAsync(handle);
        await Driver.DestroyAsync(handle, Token());

        Assert.False(exit.OomKilled);
        Assert.Equal(0, exit.ExitCode);
        Assert.False(Directory.Exists(cgroup));
    }

    [Fact]
    public async Task PidsLimit_StopsForkBeyondTheLimit()
    {
        RequireCgroupV1("pids");
        var task = NewTask("for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait") with
        {
            Resources = new TaskResources { PidsLimit = 4 },
        };

        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "fork");
        await Driver.DestroyAsync(handle, Token());
    }

    [Fact]
    public async Task CpuLimitAndRequest_BecomeQuotaAndSharesOfTheTasksCgroup()
    {
        RequireCgroupV1("cpu");
        var task = NewTask("echo ready; while :; do sleep 0.1; done") with
        {
            Resources = new TaskResources { CpuLimitMillis = 250, CpuRequestMillis = 500 },
        };
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");
        var cgroup = Path.Combine("/sys/fs/cgroup/cpu/verge", task.Id);
        var pid = (await Driver.InspectAsync(handle, Token())).Pid;

        Assert.Equal("25000", (await File.ReadAllTextAsync(Path.Combine(cgroup, "cpu.cfs_quota_us"))).Trim());
        Assert.Equal("100000", (await File.ReadAllTextAsync(Path.Combine(cgroup, "cpu.cfs_period_us"))).Trim());
        Assert.Equal("512", (await File.ReadAllTextAsync(Path.Combine(cgroup, "cpu.shares"))).Trim());
        Assert.Contains(pid.ToString()!, await File.ReadAllLinesAsync(Path.Combine(cgroup, "cgroup.procs")));

        await Driver.DestroyAsync(handle, Token());
        Assert.False(Directory.Exists(cgroup));
    }

    [Fact]
    public async Task RunAsUser_AppliesToTheTaskAndToExec()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test needs root to switch users");
        Assert.True(File.Exists("/usr/bin/setpriv"), "setpriv is missing: apt-get install -y util-linux");
        var task = NewTask("echo \"uid:$(id -u):$(id -g)\"; while :; do sleep 0.1; done") with { RunAsUser = 65534, RunAsGroup = 65534 };
        var handle = await StartAsync(task);

        await AssertLogContainsAsync(task, "uid:65534:65534");
        var exec = await Driver.ExecAsync(handle, ["id", "-u"], TimeSpan.FromSeconds(30), Token());

        Assert.Equal("65534", exec.Output.Trim());
    }

    [Fact]
    public async Task Start_WithRunAsNonRoot_RefusesToRunAsRoot_ButRunsAsAnotherUser()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test needs root: the process would run as the agent's user");
        var security = new TaskSecurity { RunAsNonRoot = true };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(NewTask("true") with { Security = security }));
        var task = NewTask("echo \"uid:$(id -u)\"") with { Security = security, RunAsUser = 65534, RunAsGroup = 65534 };
        var handle = await StartAsync(task);

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.StartsWith("container has runAsNonRoot and image will run as root", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await Driver.WaitAsync(handle, Token())).ExitCode);
        await AssertLogContainsAsync(task, "uid:65534");
    }

    [Fact]
    public async Task Start_WithoutPrivilegeEscalation_SetsNoNewPrivs()
    {
        Assert.True(File.Exists("/usr/bin/setpriv"), "setpriv is missing: apt-get install -y util-linux");
        var task = NewTask("grep NoNewPrivs /proc/self/status") with { Security = new TaskSecurity { AllowPrivilegeEscalation = false } };

        await Driver.WaitAsync(await StartAsync(task), Token());

        await AssertLogContainsAsync(task, "NoNewPrivs:\t1");
    }

    [Theory]
    [InlineData("capabilities")]
    [InlineData("seccomp")]
    [InlineData("sysctls")]
    public async Task Start_WithRestrictionsAHostProcessCannotHave_IsRefusedAsConfigError(string field)
    {
        var security = field switch
        {
            "capabilities" => new TaskSecurity { DropCapabilities = ["ALL"] },
            "seccomp" => new TaskSecurity { Seccomp = SeccompMode.RuntimeDefault },
            _ => new TaskSecurity { Sysctls = [new("kernel.shm_rmid_forced", "1")] },
        };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(NewTask("true") with { Security = security }));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains(field is "seccomp" ? "seccomp" : field, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hostAliases")]
    [InlineData("dnsPolicy")]
    [InlineData("dnsConfig")]
    public async Task Start_WithHostsOrDnsSettings_IsRefusedAsConfigError(string field)
    {
        var task = field switch
        {
            "hostAliases" => NewTask("true") with { HostAliases = [new HostAlias { Ip = "10.0.0.9", Hostnames = ["db"] }] },
            "dnsPolicy" => NewTask("true") with { DnsPolicy = "None" },
            _ => NewTask("true") with { DnsConfig = new PodDnsConfig { Searches = ["corp.example"] } },
        };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains("cannot apply hostAliases, dnsPolicy None or dnsConfig", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithReadOnlyRootFilesystem_IsRefusedAsConfigError()
    {
        var task = NewTask("true") with { ReadOnlyRootFilesystem = true };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task Start_WithPodNetworkNamespace_RunsTaskAndExecInIt()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test needs root to create network namespaces");
        Assert.True(File.Exists("/usr/sbin/ip") || File.Exists("/usr/bin/ip"), "ip is missing: apt-get install -y iproute2");
        var name = "verge-pd-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(0, await RunAsync("ip", "netns", "add", name));
        try
        {
            var path = "/var/run/netns/" + name;
            var inode = new FileInfo(path).Exists ? await OutputOfAsync("stat", "-L", "-c", "%i", path) : "";
            var task = NewTask("echo \"netns:$(readlink /proc/self/ns/net)\"; while :; do sleep 0.1; done") with { NetworkNamespacePath = path };
            var handle = await StartAsync(task);

            await AssertLogContainsAsync(task, $"netns:net:[{inode}]");
            var exec = await Driver.ExecAsync(handle, ["readlink", "/proc/self/ns/net"], TimeSpan.FromSeconds(30), Token());
            Assert.Equal($"net:[{inode}]", exec.Output.Trim());
            await Driver.DestroyAsync(handle, Token());
        }
        finally
        {
            await RunAsync("ip", "netns", "delete", name);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Start_CancelledBeforeTheTaskReportedItsPid_LeavesNothingRunning()
    {
        // A shell that waits at a gate before it runs: the monitor cannot report the task's pid until the gate opens,
        // so the start is still waiting for it when it is cancelled.
        var gate = Path.Combine(TempDir, "gate-open");
        var gatedShell = Path.Combine(TempDir, "gated-sh");
        await File.WriteAllTextAsync(gatedShell, $"#!/bin/sh\nwhile [ ! -e '{gate}' ]; do sleep 0.05; done\nexec /bin/sh \"$@\"\n");
        File.SetUnixFileMode(gatedShell, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var driver = new ProcessDriver(
            new ProcessDriverOptions { StateDirectory = Path.Combine(TempDir, "gated"), ShellPath = gatedShell },
            NullLogger<ProcessDriver>.Instance,
            TimeProvider.System);
        var task = NewTask("echo started; while :; do sleep 0.1; done");
        using var cancel = new CancellationTokenSource();
        var start = driver.StartAsync(task, cancel.Token);
        try
        {
            // The start spawns the gated shell; on a busy machine that can come after StartAsync has returned its task.
            await Channel.ChannelHarness.EventuallyAsync(() => ProcScan.Naming(task.Id).Count > 0, "the gated start's process", seconds: 30);
            Assert.False(start.IsCompleted);

            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
            File.WriteAllText(gate, "");

            await Channel.ChannelHarness.EventuallyAsync(() => ProcScan.Naming(task.Id).Count == 0, "no process of the cancelled start left", seconds: 30);
            Assert.DoesNotContain("started", await ReadLogAsync(task), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var pid in ProcScan.Naming(task.Id))
            {
                HostProcesses.Signal(pid, HostProcesses.SigKill);
            }
        }
    }

    [Fact]
    public async Task Exec_WhenTheCommandWritesALot_KeepsOnlyTheStartOfItsOutput()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        var result = await Driver.ExecAsync(handle, ["sh", "-c", "head -c 8000000 /dev/zero | tr '\\0' x; echo; echo done"], TimeSpan.FromSeconds(60), Token());

        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("xxxx", result.Output, StringComparison.Ordinal);
        Assert.True(result.Output.Length <= ProcessDriver.MaxExecOutput, $"exec output of {result.Output.Length} characters was kept");
    }

    [Fact]
    public async Task Handle_FromAnotherBoot_WhosePidNamesALiveProcessNow_IsNeitherSignalledNorWaitedFor()
    {
        // After a reboot pids start over, and an early process of this boot can have the pid and the start time (in
        // clock ticks since boot) that a task of the previous boot had. The handle's boot id tells them apart.
        using var stranger = System.Diagnostics.Process.Start("/usr/bin/setsid", ["sleep", "300"])!;
        try
        {
            var ticks = HostProcesses.StartTicks(stranger.Id);
            Assert.NotNull(ticks);
            var dir = Directory.CreateDirectory(Path.Combine(StateDir, "from-another-boot")).FullName;
            File.WriteAllText(Path.Combine(dir, "pid"), stranger.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var state = new ProcessTaskState
            {
                Directory = dir,
                Pid = stranger.Id,
                PidStartTicks = ticks.Value,
                MonitorPid = stranger.Id,
                MonitorStartTicks = ticks.Value,
                BootId = "00000000-0000-0000-0000-000000000000",
                WorkingDir = dir,
                Env = [],
            };
            var handle = new TaskHandle(ProcessDriver.DriverName, "from-another-boot", state.ToJson(), DateTimeOffset.UnixEpoch);

            var exit = await Driver.WaitAsync(handle, Token()).WaitAsync(TimeSpan.FromSeconds(30));
            await Driver.StopAsync(handle, TimeSpan.Zero, Token());
            Assert.Null(await Driver.StatsAsync(handle, Token()));
            await Assert.ThrowsAsync<DriverException>(() => Driver.ExecAsync(handle, ["true"], TimeSpan.FromSeconds(10), Token()));
            await Driver.DestroyAsync(handle, Token());

            Assert.Equal(137, exit.ExitCode);
            Assert.True(ProcScan.IsRunning(stranger.Id), "a process of this boot was signalled through a handle of another boot");
        }
        finally
        {
            stranger.Kill();
            await stranger.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Start_OfATaskAStoppedAgentStartedButNeverRecorded_AdoptsIt()
    {
        // The agent was killed between a start and saving its handle; the next agent starts the same instance again.
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var first = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");
        var pid = (await Driver.InspectAsync(first, Token())).Pid;
        await RetireDriverAsync();

        var adopted = await StartAsync(task);

        var state = await Driver.InspectAsync(adopted, Token());
        Assert.Equal((TaskPhase.Running, pid), (state.Phase, state.Pid));
        Assert.Single((await ReadLogAsync(task)).Split('\n'), line => line == "ready");
        await Driver.StopAsync(adopted, TimeSpan.FromSeconds(5), Token());
        Assert.False(ProcScan.IsRunning(pid!.Value));
    }

    [Fact]
    public async Task Start_OfATaskStillRunningWithoutTheStateItsStartWrote_IsRefused()
    {
        // A task started by an agent from before the start wrote its state: nothing to adopt it from.
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");
        File.Delete(Path.Combine(StateDir, task.Id, "state.json"));

        var error = await Assert.ThrowsAsync<DriverException>(() => Driver.StartAsync(task, Token()));

        Assert.Contains("already running", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WhenALeftoverPidFileNamesAProcessThatStartedLater_StartsTheTask()
    {
        // The agent died (or the machine lost power) between a start and saving its handle; the start of the same
        // task is tried again. The pid the old monitor wrote now names another process (after a reboot pids start
        // over): it started after the pid file was written, so it is not the task, and the start goes ahead.
        using var stranger = System.Diagnostics.Process.Start("sleep", ["300"])!;
        try
        {
            var task = NewTask("echo started-again; while :; do sleep 0.1; done");
            var dir = Directory.CreateDirectory(Path.Combine(StateDir, task.Id)).FullName;
            var pidFile = Path.Combine(dir, "pid");
            File.WriteAllText(pidFile, stranger.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            File.SetLastWriteTimeUtc(pidFile, DateTime.UtcNow.AddHours(-1));

            var handle = await StartAsync(task);

            await AssertLogContainsAsync(task, "started-again");
            Assert.NotEqual(stranger.Id, (await Driver.InspectAsync(handle, Token())).Pid);
            Assert.True(ProcScan.IsRunning(stranger.Id));
        }
        finally
        {
            stranger.Kill();
            await stranger.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Recover_WithUnreadableHandleState_FailsWithDriverException()
    {
        var handle = new TaskHandle(ProcessDriver.DriverName, "x", "{not json", DateTimeOffset.UnixEpoch);

        await Assert.ThrowsAsync<DriverException>(() => Driver.RecoverAsync(handle, Token()));
    }

    [Fact]
    public void Options_WithRelativeStateDirectory_AreRejected() =>
        Assert.Throws<ArgumentException>(() => new ProcessDriverOptions { StateDirectory = "relative" }.Validate());

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(file, args);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private static async Task<string> OutputOfAsync(string file, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }

    private static void RequireCgroupV1(string controller)
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test needs root to create cgroups");
        Assert.True(
            File.Exists($"/sys/fs/cgroup/{controller}/cgroup.procs"),
            $"this test needs the cgroup v1 {controller} hierarchy at /sys/fs/cgroup/{controller}");
    }
}
