using System.Text.Json.Nodes;

namespace Verge.Cli.Tests.Integration;

/// <summary><c>verge up</c>: the server and an agent for this machine in one process, end to end through the CLI.</summary>
public sealed class UpCommandTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task Up_RunsTheHelloProcessExample_UntilRunning_AndItsLogsComeBack_PlainAndFollowed()
    {
        using var output = new LineWaiter();
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Cli.RunAsync(["up", "--listen", "127.0.0.1:0", "--node-name", "up-test"], _cli.Context(output, TextWriter.Null, started.SetResult), stop.Token);
        try
        {
            await started.Task.WaitAsync(TimeSpan.FromSeconds(120));
            Assert.Contains("Node up-test is Ready", output.Text, StringComparison.Ordinal);

            var apply = await _cli.RunAsync("apply", "-f", Path.Combine(CliHarness.RepositoryRoot(), "examples", "hello-process.yaml"));
            Assert.True(apply.ExitCode == 0, apply.Error);
            var pod = await WaitForRunningPodAsync();

            var logs = await PollAsync(async () =>
            {
                var result = await _cli.RunAsync("logs", pod, "--tail", "1");
                return result.ExitCode == 0 && result.Out.Contains("line ", StringComparison.Ordinal) ? result : null;
            });
            Assert.Matches(@"^hello from \S+, line \d+\n$", logs.Out);

            using var followed = new LineWaiter();
            using var stopFollow = new CancellationTokenSource();
            var follow = Cli.RunAsync(["logs", "-f", $"pod/{pod}"], _cli.Context(followed, TextWriter.Null), stopFollow.Token);
            await followed.WaitForAsync("line 3\n");
            await stopFollow.CancelAsync();
            await follow.WaitAsync(TimeSpan.FromSeconds(30));

            // verge exec, through the node's link: stdout and stderr apart, the command's exit code as verge's own,
            // words after -- that look like flags, and stdin with -i.
            var exec = await _cli.RunAsync("exec", pod, "--", "sh", "-c", "echo out; echo err >&2; exit 3");
            Assert.Equal((3, "out\n", "err\ncommand terminated with exit code 3\n"), (exec.ExitCode, exec.Out, exec.Error));
            var flags = await _cli.RunAsync("exec", $"pod/{pod}", "--", "ls", "-d", "/");
            Assert.Equal((0, "/\n"), (flags.ExitCode, flags.Out));
            _cli.Stdin = "one\ntwo\nthree\n";
            var piped = await _cli.RunAsync("exec", "-i", pod, "--", "wc", "-l");
            Assert.Equal((0, "3"), (piped.ExitCode, piped.Out.Trim()));
            var missing = await _cli.RunAsync("exec", pod, "-c", "nope", "--", "true");
            Assert.Equal((1, $"Error from server (BadRequest): container nope is not valid for pod {pod}\n"), (missing.ExitCode, missing.Error));

            var delete = await _cli.RunAsync("delete", "deployment", "hello-process");
            Assert.True(delete.ExitCode == 0, delete.Error);
            await PollAsync(async () => await PodsAsync() is { Count: 0 } ? true : (bool?)null);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await running.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task ImageImport_SendsTheArchiveToTheNode_WithOrWithoutNode_AndRefusesWhatIsNotAnArchive()
    {
        var archive = Path.Combine(_cli.WorkingDirectory, "hello.tar");
        await OciArchive.WriteAsync(archive, "example.com/hello:v1");
        var junk = _cli.WriteFile("junk.tar", "this is no tar archive\n");
        using var output = new LineWaiter();
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Cli.RunAsync(["up", "--listen", "127.0.0.1:0", "--node-name", "up-images"], _cli.Context(output, TextWriter.Null, started.SetResult), stop.Token);
        CliResult named, all, bad, missing;
        try
        {
            await started.Task.WaitAsync(TimeSpan.FromSeconds(120));

            named = await _cli.RunAsync("image", "import", "hello.tar", "--node", "up-images");
            all = await _cli.RunAsync("image", "import", archive);
            bad = await _cli.RunAsync("image", "import", junk, "--node", "up-images");
            missing = await _cli.RunAsync("image", "import", "hello.tar", "--node", "nowhere");
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await running.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal((0, "up-images: imported example.com/hello:v1\n", ""), (named.ExitCode, named.Out, named.Error));
        Assert.Equal((0, "up-images: imported example.com/hello:v1\n", ""), (all.ExitCode, all.Out, all.Error));
        Assert.Equal(1, bad.ExitCode);
        Assert.StartsWith("Error from server (BadRequest): node \"up-images\" could not import the archive: ", bad.Error, StringComparison.Ordinal);
        Assert.Equal((1, "Error from server (NotFound): nodes \"nowhere\" not found\n"), (missing.ExitCode, missing.Error));
    }

    [Fact]
    public async Task ImageImport_OfAFileThatDoesNotExist_FailsWithOneLine()
    {
        var result = await _cli.RunAsync("image", "import", "nope.tar");

        Assert.Equal((1, "error: the image archive \"nope.tar\" does not exist\n"), (result.ExitCode, result.Error));
    }

    [Fact]
    public async Task Logs_WithABadTail_OrWithoutAServer_FailsWithOneLine()
    {
        var tail = await _cli.RunAsync("logs", "p", "--tail", "-5");
        var noServer = await _cli.RunAsync("logs", "p", "--kubeconfig", "missing.kubeconfig");

        Assert.Equal((1, "error: --tail must be -1 (all lines) or a count of lines, got -5\n"), (tail.ExitCode, tail.Error));
        Assert.Equal((1, "error: unable to read kubeconfig missing.kubeconfig: the file does not exist\n"), (noServer.ExitCode, noServer.Error));
    }

    private async Task<string> WaitForRunningPodAsync() =>
        await PollAsync(async () => (await PodsAsync())
            .FirstOrDefault(p => p["status"]?["phase"]?.GetValue<string>() == "Running")?["metadata"]?["name"]?.GetValue<string>());

    private async Task<List<JsonObject>> PodsAsync()
    {
        var get = await _cli.RunAsync("get", "pods", "-o", "json");
        Assert.True(get.ExitCode == 0, get.Error);
        return (JsonNode.Parse(get.Out)!["items"] as JsonArray ?? []).OfType<JsonObject>().ToList();
    }

    /// <summary>Polls until <paramref name="probe"/> returns a value, failing the test after the deadline.</summary>
    private static async Task<T> PollAsync<T>(Func<Task<T?>> probe)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < until, "the condition did not hold in time");
            await Task.Delay(200);
        }
    }

    public void Dispose() => _cli.Dispose();
}
