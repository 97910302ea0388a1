using System.Text.Json.Nodes;
using Verge.Cli.Client;
using Verge.Cli.Tests.Integration;

namespace Verge.Cli.Tests.Simulation;

/// <summary>One <c>verge sim nodes</c> invocation running in-process until it is stopped.</summary>
internal sealed class SimulatorRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _exit;

    private SimulatorRun(CliHarness cli, string[] args)
    {
        _exit = Task.Run(() => Cli.RunAsync(args, cli.Context(Out, Error), _stop.Token));
    }

    public LineWaiter Out { get; } = new();

    public LineWaiter Error { get; } = new();

    public static async Task<SimulatorRun> StartAsync(CliHarness cli, string kubeconfig, int count, params string[] extra)
    {
        var run = new SimulatorRun(cli, ["sim", "nodes", "--count", count.ToString(), "--kubeconfig", kubeconfig, .. extra]);
        var registered = run.Out.WaitForAsync($"registered {count} nodes");
        if (await Task.WhenAny(registered, run._exit) == run._exit)
        {
            throw new InvalidOperationException($"the simulator exited with {run._exit.Result}: {run.Error.Text}");
        }

        await registered;
        return run;
    }

    /// <summary>Stops the simulator as Ctrl-C does and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await _exit.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_exit.IsCompleted)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}

/// <summary>Reads and writes objects on the test server and waits for them through watches.</summary>
internal sealed class ApiProbe(KubeClient client) : IDisposable
{
    public KubeClient Client => client;

    public static ApiProbe Open(CliHarness cli, string kubeconfig) =>
        new(new KubeClient(Kubeconfig.Load([kubeconfig]).Resolve(null)));

    public Task<JsonNode> GetAsync(string path) => client.GetAsync(path, CancellationToken.None);

    public async Task<JsonNode> CreateAsync(string collection, JsonObject obj) =>
        (await client.SendAsync(HttpMethod.Post, collection, obj.ToJsonString(), "application/json", "application/json", CancellationToken.None)).Body!;

    /// <summary>
    /// Lists <paramref name="collection"/> with <paramref name="query"/>, then watches it until an object satisfies
    /// <paramref name="until"/> (or, for a DELETED event, <paramref name="untilDeleted"/> is set). A generous bound
    /// turns a broken simulator into a failure instead of a hang.
    /// </summary>
    public async Task<JsonNode?> WaitAsync(string collection, string query, Func<JsonNode, bool> until, bool untilDeleted = false)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var list = await client.GetAsync($"{collection}?{query}", bound.Token);
        var items = list["items"]!.AsArray();
        if (untilDeleted && items.Count == 0)
        {
            return null;
        }

        foreach (var item in items)
        {
            if (!untilDeleted && until(item!))
            {
                return item;
            }
        }

        var rv = list["metadata"]!["resourceVersion"]!.GetValue<string>();
        await foreach (var frame in client.WatchAsync($"{collection}?{query}&watch=1&resourceVersion={rv}", "application/json", bound.Token))
        {
            var type = frame["type"]!.GetValue<string>();
            var obj = frame["object"]!;
            if (untilDeleted ? type == "DELETED" : type != "DELETED" && until(obj))
            {
                return obj;
            }
        }

        throw new InvalidOperationException($"the watch on {collection} ended before the wait was over");
    }

    public void Dispose() => client.Dispose();
}
