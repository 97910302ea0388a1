using Verge.Agent.Drivers;

namespace Verge.Agent.Tests.Drivers;

/// <summary>
/// The behaviour every <see cref="IWorkloadDriver"/> must show, run against each driver by a test class deriving
/// from this one (in the manner of Nomad's driver test harness). A deriving class supplies the driver and says how a
/// task runs a shell script (image drivers add an image that has /bin/sh); everything else is driver-neutral: tasks
/// are driven through the contract only, and the log file, exit codes and exec output are the evidence.
/// </summary>
public abstract class DriverConformanceTests : IAsyncLifetime
{
    private readonly List<TaskHandle> _handles = [];
    private readonly List<IWorkloadDriver> _drivers = [];

    protected DriverConformanceTests()
    {
        TempDir = Directory.CreateTempSubdirectory("verge-driver-").FullName;
        StateDir = Path.Combine(TempDir, "state");
    }

    /// <summary>A private temp dir for the test, removed afterwards.</summary>
    protected string TempDir { get; }

    /// <summary>The state dir drivers of this test use (a new driver on the same dir stands for a restarted agent).</summary>
    protected string StateDir { get; }

    protected IWorkloadDriver Driver { get; private set; } = null!;

    /// <summary>How long any single step may take before the test fails instead of hanging.</summary>
    protected virtual TimeSpan StepTimeout => TimeSpan.FromSeconds(60);

    /// <summary>A new driver instance keeping its state in <paramref name="stateDir"/>.</summary>
    protected abstract IWorkloadDriver CreateDriver(string stateDir);

    /// <summary>
    /// Makes <paramref name="task"/> run <paramref name="script"/> with /bin/sh: Command = ["/bin/sh", "-c", script],
    /// plus whatever the driver needs (an image with /bin/sh and the usual tools for image drivers).
    /// </summary>
    protected abstract TaskConfig WithScript(TaskConfig task, string script);

    public virtual Task InitializeAsync()
    {
        Driver = NewDriver();
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        using var cts = new CancellationTokenSource(StepTimeout);
        foreach (var handle in _handles)
        {
            try
            {
                await Driver.DestroyAsync(handle, cts.Token);
            }
            catch (DriverException)
            {
                // Cleanup is best effort; the test itself has reported what mattered.
            }
        }

        foreach (var driver in _drivers)
        {
            if (driver is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        Directory.Delete(TempDir, recursive: true);
    }

    [Fact]
    public async Task Start_WritesStdoutAndStderrToLogFile_AndExitsWithZero()
    {
        var task = NewTask("echo hello-out; echo hello-err >&2");
        var handle = await StartAsync(task);

        var exit = await WaitAsync(handle);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("Completed", exit.Reason);
        Assert.False(exit.OomKilled);
        await AssertLogContainsAsync(task, "hello-out");
        await AssertLogContainsAsync(task, "hello-err");
    }

    [Fact]
    public async Task Start_WhenScriptExitsWithThree_ReportsExitCodeThree()
    {
        var handle = await StartAsync(NewTask("exit 3"));

        var exit = await WaitAsync(handle);
        var state = await Driver.InspectAsync(handle, Token());

        Assert.Equal(3, exit.ExitCode);
        Assert.Equal("Error", exit.Reason);
        Assert.Equal(TaskPhase.Exited, state.Phase);
        Assert.Equal(3, state.Exit?.ExitCode);
    }

    [Fact]
    public async Task Start_GivesTaskItsEnvironment()
    {
        var task = NewTask("echo \"env:$VERGE_GREETING:$VERGE_OTHER\"") with
        {
            Env = [new("VERGE_GREETING", "hello world"), new("VERGE_OTHER", "a=b")],
        };

        await WaitAsync(await StartAsync(task));

        await AssertLogContainsAsync(task, "env:hello world:a=b");
    }

    [Fact]
    public async Task Start_AppendsArgsToCommand_AsSeparateArguments()
    {
        // sh -c SCRIPT one "two words": $0 is "one", $1 is "two words".
        var task = NewTask("echo \"args:$0|$1|$#\"") with { Args = ["one", "two words"] };

        await WaitAsync(await StartAsync(task));

        await AssertLogContainsAsync(task, "args:one|two words|1");
    }

    [Fact]
    public async Task Start_RunsInWorkingDir()
    {
        var task = NewTask("echo \"cwd:$(pwd)\"") with { WorkingDir = "/tmp" };

        await WaitAsync(await StartAsync(task));

        await AssertLogContainsAsync(task, "cwd:/tmp");
    }

    [Fact]
    public virtual async Task Start_WithBindMount_ShowsHostFilesInsideTask()
    {
        var hostDir = Directory.CreateDirectory(Path.Combine(TempDir, "mount-src")).FullName;
        await File.WriteAllTextAsync(Path.Combine(hostDir, "hello.txt"), "mounted-content");
        var task = NewTask("cat /verge-conformance-mount/hello.txt") with
        {
            Mounts = [new TaskMount(hostDir, "/verge-conformance-mount", ReadOnly: false)],
        };

        var exit = await WaitAsync(await StartAsync(task));

        Assert.Equal(0, exit.ExitCode);
        await AssertLogContainsAsync(task, "mounted-content");
    }

    [Fact]
    public async Task Wait_OnExitedTask_ReturnsTheSameExitAgain()
    {
        var handle = await StartAsync(NewTask("exit 5"));
        var first = await WaitAsync(handle);

        var second = await WaitAsync(handle);

        Assert.Equal(5, first.ExitCode);
        Assert.Equal(5, second.ExitCode);
    }

    [Fact]
    public async Task Stop_SendsTermFirst_SoTaskCanExitCleanly()
    {
        var task = NewTask("trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        await Driver.StopAsync(handle, TimeSpan.FromSeconds(30), Token());
        var exit = await WaitAsync(handle);

        Assert.Equal(0, exit.ExitCode);
        await AssertLogContainsAsync(task, "got-term");
    }

    [Fact]
    public async Task Stop_WhenTaskIgnoresTerm_KillsItAfterGracePeriod()
    {
        var task = NewTask("trap '' TERM; echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        await Driver.StopAsync(handle, TimeSpan.FromSeconds(1), Token());
        var exit = await WaitAsync(handle);

        Assert.Equal(137, exit.ExitCode);
        Assert.Equal(TaskPhase.Exited, (await Driver.InspectAsync(handle, Token())).Phase);
    }

    [Fact]
    public async Task Stop_OnExitedTask_IsNoError()
    {
        var handle = await StartAsync(NewTask("exit 0"));
        await WaitAsync(handle);

        await Driver.StopAsync(handle, TimeSpan.FromSeconds(1), Token());

        Assert.Equal(0, (await WaitAsync(handle)).ExitCode);
    }

    [Fact]
    public async Task Destroy_IsIdempotent_AndLeavesTaskUnknown()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        await Driver.DestroyAsync(handle, Token());
        await Driver.DestroyAsync(handle, Token());

        Assert.Equal(TaskPhase.Unknown, (await Driver.InspectAsync(handle, Token())).Phase);
    }

    [Fact]
    public async Task Recover_WithNewDriverInstance_ReattachesWithoutRestarting_AndSeesTheExitLater()
    {
        // The task runs until a file appears in its working dir, then says so and exits with 7: its last line is
        // written after the restart, so it shows the new driver copies output too.
        var task = NewTask("echo \"run:$$\"; while [ ! -f stop-now ]; do sleep 0.1; done; echo finished; exit 7");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "run:");
        var before = await Driver.InspectAsync(handle, Token());
        Assert.Equal(TaskPhase.Running, before.Phase);

        // An agent restart: the old driver instance is gone, a new one gets the persisted handle.
        await RetireDriverAsync();
        Assert.True(await Driver.RecoverAsync(handle, Token()));
        var after = await Driver.InspectAsync(handle, Token());
        var exec = await Driver.ExecAsync(handle, ["touch", "stop-now"], TimeSpan.FromSeconds(30), Token());
        var exit = await WaitAsync(handle);

        Assert.Equal(TaskPhase.Running, after.Phase);
        Assert.Equal(before.Pid, after.Pid);
        Assert.Equal(0, exec.ExitCode);
        Assert.Equal(7, exit.ExitCode);
        await AssertLogContainsAsync(task, "finished");
        var log = await ReadLogAsync(task);
        Assert.Single(log.Split('\n'), line => line.Contains("run:", StringComparison.Ordinal));
        Assert.Single(log.Split('\n'), line => line.Contains("finished", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Recover_AfterDestroy_ReturnsFalse()
    {
        var handle = await StartAsync(NewTask("while :; do sleep 0.1; done"));
        await Driver.DestroyAsync(handle, Token());
        await RetireDriverAsync();

        Assert.False(await Driver.RecoverAsync(handle, Token()));
    }

    [Fact]
    public async Task Exec_ReturnsOutputAndExitCode_WithTheTasksEnvironment()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done") with { Env = [new("VERGE_EXEC_VALUE", "from-task")] };
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        var result = await Driver.ExecAsync(handle, ["sh", "-c", "echo \"exec:$VERGE_EXEC_VALUE\"; echo to-stderr >&2; exit 4"], TimeSpan.FromSeconds(30), Token());

        Assert.False(result.TimedOut);
        Assert.Equal(4, result.ExitCode);
        Assert.Contains("exec:from-task", result.Output, StringComparison.Ordinal);
        Assert.Contains("to-stderr", result.Output, StringComparison.Ordinal);
    }

    /// <summary>Whether the driver runs interactive commands (kubectl exec); one that does not refuses them.</summary>
    protected virtual bool ExecsInteractively => true;

    [Fact]
    public async Task InteractiveExec_PipesStdin_KeepsStderrApart_AndGivesTheExitCode_WithTheTasksEnvironment()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done") with { Env = [new("VERGE_EXEC_VALUE", "from-task")] };
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");
        var request = new InteractiveExec(["sh", "-c", "cat; echo \"exec:$VERGE_EXEC_VALUE\"; echo to-stderr >&2; exit 5"], Stdin: true, Tty: false);
        if (!ExecsInteractively)
        {
            await Assert.ThrowsAsync<DriverException>(() => Driver.StartExecAsync(handle, request, Token()));
            return;
        }

        await using var process = await Driver.StartExecAsync(handle, request, Token());
        var (stdout, stderr, exit) = await ExecCapture.RunAsync(process, "typed\n");

        Assert.Equal("typed\nexec:from-task\n", stdout);
        Assert.Equal("to-stderr\n", stderr);
        Assert.Equal(5, exit);
    }

    [Fact]
    public async Task InteractiveExec_OnATerminal_HasTheSizeAsked_AndEndsWithTheCommand()
    {
        if (!ExecsInteractively)
        {
            return;
        }

        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        await using var process = await Driver.StartExecAsync(handle, new InteractiveExec(["sh", "-c", "stty size; test -t 0 && echo on-a-tty"], Stdin: true, Tty: true, Width: 91, Height: 21), Token());
        var (stdout, _, exit) = await ExecCapture.RunAsync(process);

        Assert.Null(process.Stderr);
        Assert.Equal(["21 91", "on-a-tty"], stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, exit);
    }

    [Fact]
    public async Task InteractiveExec_Killed_Ends_WhileTheTaskRunsOn()
    {
        if (!ExecsInteractively)
        {
            return;
        }

        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        await using var process = await Driver.StartExecAsync(handle, new InteractiveExec(["sleep", "600"], Stdin: false, Tty: false), Token());
        process.Kill();

        Assert.NotEqual(0, await process.Exited.WaitAsync(Token()));
        Assert.Equal(TaskPhase.Running, (await Driver.InspectAsync(handle, Token())).Phase);
    }

    [Fact]
    public async Task Exec_WhenCommandOutlivesTimeout_ReportsTimedOut()
    {
        var task = NewTask("echo ready; while :; do sleep 0.1; done");
        var handle = await StartAsync(task);
        await AssertLogContainsAsync(task, "ready");

        var result = await Driver.ExecAsync(handle, ["sleep", "600"], TimeSpan.FromMilliseconds(500), Token());

        Assert.True(result.TimedOut);
        Assert.Equal(TaskPhase.Running, (await Driver.InspectAsync(handle, Token())).Phase);
    }

    [Fact]
    public async Task Start_WhenCommandDoesNotExist_FailsWithDriverException()
    {
        var task = NewTask("true") with { Command = ["verge-no-such-command"], Args = null };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Contains("verge-no-such-command", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_OfExitedTask_AreNull()
    {
        var handle = await StartAsync(NewTask("exit 0"));
        await WaitAsync(handle);

        Assert.Null(await Driver.StatsAsync(handle, Token()));
    }

    [Theory]
    [InlineData("BAD=NAME", "value")]
    [InlineData("", "value")]
    [InlineData("NAME", "nul\0byte")]
    public async Task Start_WithMalformedEnvironment_FailsWithCreateContainerConfigError(string name, string value)
    {
        var task = NewTask("true") with { Env = [new(name, value)] };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task Start_WithTaskIdThatIsNotAName_FailsWithCreateContainerConfigError()
    {
        var task = NewTask("true") with { Id = "../escape" };

        var error = await Assert.ThrowsAsync<DriverException>(() => StartAsync(task));

        Assert.Equal("CreateContainerConfigError", error.Reason);
    }

    [Fact]
    public async Task Fingerprint_IsHealthy()
    {
        var fingerprint = await Driver.FingerprintAsync(Token());

        Assert.True(fingerprint.Healthy, fingerprint.Detail);
    }

    /// <summary>A task named after a fresh id, with its log in the test's temp dir, running <paramref name="script"/>.</summary>
    protected TaskConfig NewTask(string script)
    {
        var id = "vt" + Guid.NewGuid().ToString("N")[..12];
        var task = new TaskConfig
        {
            Id = id,
            PodUid = Guid.NewGuid().ToString(),
            PodNamespace = "default",
            PodName = "conformance",
            ContainerName = "main",
            LogPath = Path.Combine(TempDir, "logs", id + ".log"),
        };
        return WithScript(task, script);
    }

    /// <summary>Starts a task and remembers it for cleanup.</summary>
    protected async Task<TaskHandle> StartAsync(TaskConfig task)
    {
        var handle = await Driver.StartAsync(task, Token());
        _handles.Add(handle);
        Assert.Equal(Driver.Name, handle.Driver);
        return handle;
    }

    protected Task<TaskExit> WaitAsync(TaskHandle handle) => Driver.WaitAsync(handle, Token());

    /// <summary>Stands for an agent restart: the current driver instance is disposed and a new one takes over.</summary>
    protected async Task RetireDriverAsync()
    {
        if (Driver is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        _drivers.Remove(Driver);
        Driver = NewDriver();
    }

    protected static async Task<string> ReadLogAsync(TaskConfig task) =>
        File.Exists(task.LogPath) ? await File.ReadAllTextAsync(task.LogPath) : "";

    /// <summary>Waits until the task's log holds <paramref name="text"/> (drivers may copy output asynchronously).</summary>
    protected async Task AssertLogContainsAsync(TaskConfig task, string text)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var log = await ReadLogAsync(task);
            if (log.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"log {task.LogPath} never contained \"{text}\"; it holds:\n{log}");
            }

            await Task.Delay(50);
        }
    }

    protected CancellationToken Token() => new CancellationTokenSource(StepTimeout).Token;

    private IWorkloadDriver NewDriver()
    {
        var driver = CreateDriver(StateDir);
        _drivers.Add(driver);
        return driver;
    }
}
