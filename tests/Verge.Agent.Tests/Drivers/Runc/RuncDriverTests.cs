using Verge.Agent.Drivers;
using Verge.Agent.Drivers.Runc;
using Verge.Agent.Images;

namespace Verge.Agent.Tests.Drivers.Runc;

/// <summary>The runc driver against real runc, with a busybox rootfs.</summary>
public sealed class RuncDriverTests
{
    [Fact]
    public async Task Fingerprint_AsRootWithRunc_IsHealthy()
    {
        await using var harness = new RuncHarness();

        var fingerprint = await harness.Driver.FingerprintAsync(RuncHarness.Timeout);

        Assert.True(fingerprint.Healthy, fingerprint.Detail);
        Assert.Contains("runc", fingerprint.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WritesStdoutAndStderrToLogFile_AndReportsExitCode()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3");

        var handle = await harness.StartAsync(config);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Equal(3, exit.ExitCode);
        Assert.Null(exit.Signal);
        Assert.False(exit.OomKilled);
        Assert.Equal("Error", exit.Reason);
        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.Contains("to-stdout", log, StringComparison.Ordinal);
        Assert.Contains("to-stderr", log, StringComparison.Ordinal);
        Assert.Equal(TaskPhase.Exited, (await harness.Driver.InspectAsync(handle, RuncHarness.Timeout)).Phase);
    }

    [Fact]
    public async Task Start_AppliesImageAndTaskEnvArgsWorkingDirAndUser()
    {
        var image = new ImageConfig
        {
            Entrypoint = ["/bin/sh", "-c"],
            Cmd = ["echo image-cmd-ran"],
            Env = ["FROM_IMAGE=image", "OVERRIDDEN=image"],
            WorkingDir = "/root",
            User = "app",
        };
        await using var harness = new RuncHarness(image);
        var config = harness.Task() with
        {
            Args = ["echo \"env=$FROM_IMAGE,$OVERRIDDEN,$FROM_TASK path=$PATH\"; echo \"cwd=$(pwd) uid=$(id -u) gid=$(id -g) host=$(hostname)\""],
            Env = [new("OVERRIDDEN", "task"), new("FROM_TASK", "task")],
            WorkingDir = "/tmp",
            Hostname = "web-0",
        };

        var handle = await harness.StartAsync(config);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.True(exit.ExitCode == 0, log);
        Assert.DoesNotContain("image-cmd-ran", log, StringComparison.Ordinal);
        Assert.Contains("env=image,task,task path=" + RuncSpecBuilder.DefaultPath, log, StringComparison.Ordinal);
        Assert.Contains("cwd=/tmp uid=1000 gid=1000 host=web-0", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithRunAsUser_OverridesImageUser()
    {
        await using var harness = new RuncHarness(new ImageConfig { User = "app" });
        var config = harness.Task("/bin/sh", "-c", "echo uid=$(id -u) gid=$(id -g)") with { RunAsUser = 4242, RunAsGroup = 4343 };

        var handle = await harness.StartAsync(config);
        await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Contains("uid=4242 gid=4343", await File.ReadAllTextAsync(config.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_AppliesDefaultCapabilitiesAndMaskedPaths_AndAllowsPrivilegeEscalationAsKubernetesDoes()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status; echo timer_list=$(wc -c < /proc/timer_list); echo 1 > /proc/sys/kernel/panic || echo procsys-readonly");

        var handle = await harness.StartAsync(config);
        await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var log = await File.ReadAllTextAsync(config.LogPath);

        // Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
        // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
        Assert.Contains("CapBnd:\t00000000a80425fb", log, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t00000000a80425fb", log, StringComparison.Ordinal);
        Assert.Contains("NoNewPrivs:\t0", log, StringComparison.Ordinal);
        Assert.Contains("timer_list=0", log, StringComparison.Ordinal);
        Assert.Contains("procsys-readonly", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WhenExecutableMissing_FailsWithRuncErrorAndLeavesNothing()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/no/such/binary");

        var error = await Assert.ThrowsAsync<DriverException>(() => harness.Driver.StartAsync(config, RuncHarness.Timeout));

        Assert.Contains("/no/such/binary", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(harness.Root, "bundles", config.Id)));
    }

    [Fact]
    public async Task Start_WithoutImage_FailsWithConfigError()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/true") with { Image = null, ImageReference = null };

        var error = await Assert.ThrowsAsync<DriverException>(() => harness.Driver.StartAsync(config, RuncHarness.Timeout));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task Start_WithReadOnlyRootfs_RefusesWritesButGeneratedEtcFilesExist()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "cat /etc/hostname; grep -c localhost /etc/hosts; touch /written && echo wrote || echo refused") with
        {
            ReadOnlyRootFilesystem = true,
            Hostname = "ro-pod",
        };

        var handle = await harness.StartAsync(config);
        await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.Contains("ro-pod", log, StringComparison.Ordinal);
        Assert.Contains("refused", log, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(harness.Image.Rootfs, "written")));
    }

    [Fact]
    public async Task Start_WritesGoToTheTaskNotTheSharedImage()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo changed > /etc/passwd; echo new > /created; cat /created");

        var handle = await harness.StartAsync(config);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("new", await File.ReadAllTextAsync(config.LogPath), StringComparison.Ordinal);
        Assert.StartsWith("root:", await File.ReadAllTextAsync(Path.Combine(harness.Image.Rootfs, "etc/passwd")), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(harness.Image.Rootfs, "created")));
    }

    [Fact]
    public async Task Start_WithoutOverlay_CopiesTheRootfs()
    {
        await using var harness = new RuncHarness(useOverlay: false);
        var config = harness.Task("/bin/sh", "-c", "echo new > /created && cat /created");

        var handle = await harness.StartAsync(config);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("new", await File.ReadAllTextAsync(config.LogPath), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(harness.Image.Rootfs, "created")));
    }

    [Fact]
    public async Task Start_WithBindMount_SeesHostDirectory()
    {
        await using var harness = new RuncHarness();
        var host = Directory.CreateTempSubdirectory("verge-mount-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(host, "data.txt"), "from-host");
            var config = harness.Task("/bin/sh", "-c", "cat /data/data.txt; touch /data/x && echo writable || echo readonly") with
            {
                Mounts = [new TaskMount(host, "/data", ReadOnly: true)],
            };

            var handle = await harness.StartAsync(config);
            await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

            var log = await File.ReadAllTextAsync(config.LogPath);
            Assert.Contains("from-host", log, StringComparison.Ordinal);
            Assert.Contains("readonly", log, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(host, recursive: true);
        }
    }

    [Fact]
    public async Task Start_WithMemoryLimit_OomKillsLargerAllocation()
    {
        await using var harness = new RuncHarness();

        // tail keeps the whole last line of its input in memory, and /dev/zero has no newline.
        var config = harness.Task("/bin/tail", "/dev/zero") with
        {
            Resources = new TaskResources { MemoryLimitBytes = 32 * 1024 * 1024 },
        };

        var handle = await harness.StartAsync(config);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Equal(137, exit.ExitCode);
        Assert.Equal(9, exit.Signal);
        Assert.True(exit.OomKilled);
        Assert.Equal("OOMKilled", exit.Reason);
    }

    [Fact]
    public async Task Start_KilledWithinMemoryLimit_IsNotOomKilled()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "head -c 1000000 /dev/zero | tail -c 10 >/dev/null; echo ready; sleep 300") with
        {
            Resources = new TaskResources { MemoryLimitBytes = 32 * 1024 * 1024 },
        };

        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");
        await harness.Driver.StopAsync(handle, TimeSpan.Zero, RuncHarness.Timeout);
        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Equal(137, exit.ExitCode);
        Assert.False(exit.OomKilled);
    }

    [Fact]
    public async Task Start_WithPidsLimit_RefusesForksBeyondIt()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "for i in $(seq 1 20); do sleep 30 & done; echo forked-all") with
        {
            Resources = new TaskResources { PidsLimit = 5 },
        };

        var handle = await harness.StartAsync(config);
        await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.Contains("can't fork", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_WhenProcessHandlesTerm_ExitsGracefully()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        await harness.Driver.StopAsync(handle, TimeSpan.FromSeconds(30), RuncHarness.Timeout);

        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);
        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("got-term", await File.ReadAllTextAsync(config.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_WhenProcessTrapsTermAndCarriesOn_KillsAfterGracePeriod()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "trap 'echo got-term' TERM; echo ready; while true; do sleep 0.1; done");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        await harness.Driver.StopAsync(handle, TimeSpan.FromSeconds(5), RuncHarness.Timeout);

        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);
        Assert.Equal(137, exit.ExitCode);
        Assert.Equal(9, exit.Signal);
        Assert.False(exit.OomKilled);
        Assert.Contains("got-term", await File.ReadAllTextAsync(config.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_WhenProcessIgnoresTerm_KillsAfterGracePeriod()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        await harness.Driver.StopAsync(handle, TimeSpan.FromMilliseconds(500), RuncHarness.Timeout);

        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);
        Assert.Equal(137, exit.ExitCode);
        Assert.Equal(9, exit.Signal);
    }

    [Fact]
    public async Task Stop_UsesImageStopSignal()
    {
        await using var harness = new RuncHarness(new ImageConfig { StopSignal = "SIGUSR1" });
        var config = harness.Task("/bin/sh", "-c", "trap 'echo got-usr1; exit 5' USR1; echo ready; while true; do sleep 0.1; done");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        await harness.Driver.StopAsync(handle, TimeSpan.FromSeconds(30), RuncHarness.Timeout);

        var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);
        Assert.Equal(5, exit.ExitCode);
    }

    [Fact]
    public async Task Recover_InNewDriverInstance_ReattachesToRunningContainerAndGetsItsExitCode()
    {
        await using var harness = new RuncHarness();
        var (_, handle, pid) = await StartWaitingTaskAsync(harness);

        var restarted = harness.NewDriver();
        Assert.True(await restarted.RecoverAsync(handle, RuncHarness.Timeout));
        await AssertRunningThenExits7Async(restarted, handle, pid);
        Assert.Equal(7, (await harness.NewDriver().WaitAsync(handle, RuncHarness.Timeout)).ExitCode);
    }

    [Fact]
    public async Task Start_OfAContainerAStoppedAgentStartedButNeverRecorded_AdoptsIt()
    {
        await using var harness = new RuncHarness();
        var (config, _, pid) = await StartWaitingTaskAsync(harness);

        // A new agent process that never learned of the task starts the same instance again.
        var restarted = harness.NewDriver();
        var adopted = await restarted.StartAsync(config, RuncHarness.Timeout);

        Assert.Equal(1, File.ReadAllLines(config.LogPath).Count(l => l.Contains("up", StringComparison.Ordinal)));
        await AssertRunningThenExits7Async(restarted, adopted, pid);
    }

    /// <summary>A task that prints "up" and runs until /tmp/go exists, then exits 7; returns once it printed.</summary>
    private static async Task<(TaskConfig Config, TaskHandle Handle, int? Pid)> StartWaitingTaskAsync(RuncHarness harness)
    {
        var config = harness.Task("/bin/sh", "-c", "echo up; while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 7");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "up");
        return (config, handle, (await harness.Driver.InspectAsync(handle, RuncHarness.Timeout)).Pid);
    }

    /// <summary>The task of <see cref="StartWaitingTaskAsync"/> runs as <paramref name="pid"/> under this driver and exits 7 when let go.</summary>
    private static async Task AssertRunningThenExits7Async(RuncDriver driver, TaskHandle handle, int? pid)
    {
        var state = await driver.InspectAsync(handle, RuncHarness.Timeout);
        Assert.Equal(TaskPhase.Running, state.Phase);
        Assert.Equal(pid, state.Pid);
        Assert.Equal(0, (await driver.ExecAsync(handle, ["touch", "/tmp/go"], TimeSpan.FromSeconds(30), RuncHarness.Timeout)).ExitCode);
        Assert.Equal(7, (await driver.WaitAsync(handle, RuncHarness.Timeout)).ExitCode);
    }

    [Fact]
    public async Task Recover_AfterTaskFinished_ReportsExitWithoutRestarting()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo ran-once; exit 4");
        var handle = await harness.StartAsync(config);
        await harness.WaitForExitFileAsync(config);

        // The first instance never looked at the exit: the new one reads it from the monitor's exit file.
        var restarted = harness.NewDriver();

        Assert.True(await restarted.RecoverAsync(handle, RuncHarness.Timeout));
        var state = await restarted.InspectAsync(handle, RuncHarness.Timeout);
        Assert.Equal(TaskPhase.Exited, state.Phase);
        Assert.Equal(4, state.Exit!.ExitCode);
        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.Single(log.Split('\n'), line => line == "ran-once");
    }

    [Fact]
    public async Task Recover_AfterOomKillWhileAgentWasAway_ReportsOomKilled()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/tail", "/dev/zero") with
        {
            Resources = new TaskResources { MemoryLimitBytes = 32 * 1024 * 1024 },
        };
        var handle = await harness.StartAsync(config);
        await harness.WaitForExitFileAsync(config);

        var restarted = harness.NewDriver();
        Assert.True(await restarted.RecoverAsync(handle, RuncHarness.Timeout));
        var exit = await restarted.WaitAsync(handle, RuncHarness.Timeout);

        Assert.Equal(137, exit.ExitCode);
        Assert.True(exit.OomKilled);
    }

    /// <summary>
    /// runc sizes an exec's terminal just after the command starts (from its own terminal, which the agent sized
    /// before), so the command polls until the size is there, as an interactive shell would get it by SIGWINCH.
    /// </summary>
    private const string WaitForTerminalSize =
        "i=0; until stty size 2>/dev/null | grep -qv '^0 0$'; do i=$((i+1)); [ $i -gt 200 ] && break; sleep 0.05; done; ";

    [Fact]
    public async Task InteractiveExec_RunsInsideTheContainer_WithStdin_OrOnATerminalOfTheSizeAsked()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo marker > /tmp/inside; echo ready; sleep 300") with { Env = [new("GREETING", "hi")] };
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        await using (var piped = await harness.Driver.StartExecAsync(handle, new InteractiveExec(["/bin/sh", "-c", "cat; cat /tmp/inside; echo $GREETING >&2; exit 3"], Stdin: true, Tty: false), RuncHarness.Timeout))
        {
            var (stdout, stderr, exit) = await ExecCapture.RunAsync(piped, "typed\n");
            Assert.Equal(("typed\nmarker\n", "hi\n", 3), (stdout, stderr, exit));
        }

        await using (var terminal = await harness.Driver.StartExecAsync(handle, new InteractiveExec(["/bin/sh", "-c", WaitForTerminalSize + "stty size; tty; cat /tmp/inside"], Stdin: true, Tty: true, Width: 120, Height: 40), RuncHarness.Timeout))
        {
            var (stdout, _, exit) = await ExecCapture.RunAsync(terminal);
            var lines = stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 3, stdout);
            Assert.Equal("40 120", lines[0]);
            Assert.StartsWith("/dev/pts/", lines[1], StringComparison.Ordinal);
            Assert.Equal("marker", lines[2]);
            Assert.Equal(0, exit);
        }

        await using (var killed = await harness.Driver.StartExecAsync(handle, new InteractiveExec(["sleep", "600"], Stdin: false, Tty: false), RuncHarness.Timeout))
        {
            killed.Kill();
            Assert.NotEqual(0, await killed.Exited.WaitAsync(RuncHarness.Timeout));
        }

        Assert.Equal(TaskPhase.Running, (await harness.Driver.InspectAsync(handle, RuncHarness.Timeout)).Phase);
        Assert.Empty(Directory.GetFiles(Path.Combine(harness.Root, "bundles"), "exec-*.pid", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Exec_RunsInsideContainer_AndTimesOut()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo marker > /tmp/inside; echo ready; sleep 300") with { Env = [new("GREETING", "hi")] };
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        var result = await harness.Driver.ExecAsync(handle, ["/bin/sh", "-c", "cat /tmp/inside; echo $GREETING; exit 2"], TimeSpan.FromSeconds(30), RuncHarness.Timeout);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("marker", result.Output, StringComparison.Ordinal);
        Assert.Contains("hi", result.Output, StringComparison.Ordinal);
        Assert.False(result.TimedOut);

        var slow = await harness.Driver.ExecAsync(handle, ["sleep", "600"], TimeSpan.FromMilliseconds(500), RuncHarness.Timeout);
        Assert.True(slow.TimedOut);
        var ps = await harness.Driver.ExecAsync(handle, ["ps"], TimeSpan.FromSeconds(30), RuncHarness.Timeout);
        Assert.DoesNotContain("sleep 600", ps.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_LeavingABackgroundChild_TimesOutWithItsOutputInsteadOfHanging()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo ready; sleep 300");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        // runc exec is a subreaper and waits for the background sleep, which also holds the output pipe open.
        var result = await harness.Driver.ExecAsync(handle, ["/bin/sh", "-c", "sleep 300 & echo started"], TimeSpan.FromSeconds(1), RuncHarness.Timeout);

        Assert.True(result.TimedOut);
        Assert.Contains("started", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_OfRunningTask_ReportsMemoryAndCpu()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo ready; sleep 300");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        var stats = await harness.Driver.StatsAsync(handle, RuncHarness.Timeout);

        Assert.NotNull(stats);
        Assert.True(stats.MemoryBytes > 0);
        Assert.True(stats.CpuSeconds > 0);
    }

    [Fact]
    public async Task Destroy_IsIdempotent_AndForgetsTheTask()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "echo ready; sleep 300");
        var handle = await harness.StartAsync(config);
        await RuncHarness.WaitForLogAsync(config, "ready");

        await harness.Driver.DestroyAsync(handle, RuncHarness.Timeout);
        await harness.Driver.DestroyAsync(handle, RuncHarness.Timeout);

        Assert.False(Directory.Exists(Path.Combine(harness.Root, "bundles", config.Id)));
        Assert.Equal(TaskPhase.Unknown, (await harness.Driver.InspectAsync(handle, RuncHarness.Timeout)).Phase);
        Assert.False(await harness.NewDriver().RecoverAsync(handle, RuncHarness.Timeout));
        Assert.DoesNotContain(config.Id, File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithUnknownImageUser_FailsWithConfigErrorAndLeavesNothing()
    {
        await using var harness = new RuncHarness(new ImageConfig { User = "nobody-here" });
        var config = harness.Task("/bin/true");

        var error = await Assert.ThrowsAsync<DriverException>(() => harness.Driver.StartAsync(config, RuncHarness.Timeout));

        Assert.Equal("CreateContainerConfigError", error.Reason);
        Assert.Contains("nobody-here", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(harness.Root, "bundles", config.Id)));
        Assert.DoesNotContain(config.Id, File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithUnsafeId_IsRejected()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/true") with { Id = "../escape" };

        var error = await Assert.ThrowsAsync<DriverException>(() => harness.Driver.StartAsync(config, RuncHarness.Timeout));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task ExecAndStats_AfterTaskExited_FailClearlyAndReportNothing()
    {
        await using var harness = new RuncHarness();
        var handle = await harness.StartAsync(harness.Task("/bin/true"));
        await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var error = await Assert.ThrowsAsync<DriverException>(() => harness.Driver.ExecAsync(handle, ["true"], TimeSpan.FromSeconds(5), RuncHarness.Timeout));

        Assert.Contains("not running", error.Message, StringComparison.Ordinal);
        Assert.Null(await harness.Driver.StatsAsync(handle, RuncHarness.Timeout));
        await harness.Driver.StopAsync(handle, TimeSpan.FromSeconds(1), RuncHarness.Timeout);
    }

    [Fact]
    public async Task Start_OnHostNetwork_SeesHostInterfaces()
    {
        await using var harness = new RuncHarness();
        var config = harness.Task("/bin/sh", "-c", "ls /sys/class/net");

        var handle = await harness.StartAsync(config);
        await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var hostInterfaces = Directory.GetFileSystemEntries("/sys/class/net").Select(Path.GetFileName).Where(name => name != "lo").ToList();
        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.NotEmpty(hostInterfaces);
        Assert.All(hostInterfaces, name => Assert.Contains(name!, log, StringComparison.Ordinal));
    }
}
