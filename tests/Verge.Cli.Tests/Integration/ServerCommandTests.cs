namespace Verge.Cli.Tests.Integration;

/// <summary><c>verge server</c> and <c>verge up</c> run in-process until cancelled, serving the client verbs.</summary>
public sealed class ServerCommandTests : IDisposable
{
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task Server_WhenStarted_PrintsKubeconfigAndServesUntilCancelled()
    {
        var dataDir = Path.Combine(_cli.WorkingDirectory, "state");
        using var output = new LineWaiter();
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Cli.RunAsync(
            ["server", "--data-dir", dataDir, "--listen", "127.0.0.1:0"],
            _cli.Context(output, TextWriter.Null, started.SetResult),
            stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var kubeconfig = Path.Combine(dataDir, "admin.kubeconfig");
        var get = await _cli.RunAsync("get", "namespaces", "--kubeconfig", kubeconfig);
        await stop.CancelAsync();

        Assert.Equal(0, await running);
        Assert.Equal(0, get.ExitCode);
        Assert.Contains(get.OutLines, l => l.StartsWith("kube-system ", StringComparison.Ordinal));
        Assert.Contains($"Admin kubeconfig: {kubeconfig}\n", output.Text, StringComparison.Ordinal);
        Assert.Contains($"kubectl --kubeconfig {kubeconfig} get nodes", output.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_WhenStartedInADirectory_ClientVerbsThereNeedNoFlags()
    {
        using var output = new LineWaiter();
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Cli.RunAsync(["up", "--listen", "127.0.0.1:0"], _cli.Context(output, TextWriter.Null, started.SetResult), stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var apply = await _cli.RunAsync("apply", "-f", Path.Combine(CliHarness.RepositoryRoot(), "examples", "edge-microservice.yaml"));
        var get = await _cli.RunAsync("get", "deployments");
        await stop.CancelAsync();

        Assert.Equal(0, await running);
        Assert.Equal("deployment.apps/edge-microservice created\n", apply.Out);
        Assert.StartsWith("edge-microservice ", get.OutLines[1], StringComparison.Ordinal);
        Assert.Contains("is Ready", output.Text, StringComparison.Ordinal);
        Assert.Contains("verge apply -f examples/hello-process.yaml", output.Text, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_cli.WorkingDirectory, ".verge", "admin.kubeconfig")));
    }

    [Fact]
    public async Task Server_WhenListenInvalid_PrintsErrorAndExitsNonZero()
    {
        var result = await _cli.RunAsync("server", "--data-dir", Path.Combine(_cli.WorkingDirectory, "d"), "--listen", "nonsense");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --listen must be HOST:PORT, got \"nonsense\"\n", result.Error);
    }

    [Fact]
    public async Task Server_WhenThePortIsInUse_FailsWithOneLineNamingTheFlag()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var listen = $"127.0.0.1:{((System.Net.IPEndPoint)taken.LocalEndpoint).Port}";

        var result = await _cli.RunAsync("server", "--data-dir", Path.Combine(_cli.WorkingDirectory, "busy"), "--listen", listen);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: --listen {listen}: cannot listen there: the port is in use (is another verge server running there?)\n", result.Error);
        Assert.DoesNotContain("   at ", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "get" }, "error: Required argument missing for command: 'get'. See 'verge get --help'.\n")]
    [InlineData(new[] { "get", "pods", "-o", "bogus" }, "error: Argument 'bogus' not recognized. Must be one of: 'wide' 'yaml' 'json' 'name'. See 'verge get --help'.\n")]
    [InlineData(new[] { "delete", "cm", "fx", "--dry-run=client" }, "error: unknown flag: --dry-run=client. See 'verge delete --help'.\n")]
    [InlineData(new[] { "get", "pods", "--show-labels" }, "error: unknown flag: --show-labels. See 'verge get --help'.\n")]
    [InlineData(new[] { "token", "create", "--usage", "bad" }, "error: Argument 'bad' not recognized. Must be one of: 'join' 'api'. See 'verge token create --help'.\n")]
    [InlineData(new[] { "frobnicate" }, "error: Unrecognized command or argument 'frobnicate'. See 'verge --help'.\n")]
    public async Task Run_WhenArgumentsInvalid_PrintsOneErrorLineAndExitsNonZero(string[] args, string expected)
    {
        var result = await _cli.RunAsync(args);

        Assert.Equal((1, "", expected), (result.ExitCode, result.Out, result.Error));
    }

    public void Dispose() => _cli.Dispose();
}
