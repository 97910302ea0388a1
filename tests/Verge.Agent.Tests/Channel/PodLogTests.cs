using System.Diagnostics;
using System.Text.Json.Nodes;
using Verge.Agent.Channel;
using Verge.NodeChannel.Protocol;
using Verge.Tests.Shared;
using static Verge.Agent.Tests.Channel.ChannelHarness;

namespace Verge.Agent.Tests.Channel;

/// <summary>kubectl logs through the node channel: the API relays the request to the pod's agent and streams back.</summary>
public sealed class PodLogTests : IAsyncLifetime
{
    private ChannelHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await ChannelHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Logs_StreamFromTheAgent_OverHttp_WithTheQueryItAsked()
    {
        await _harness.CreatePodAsync("a", "n1");
        var logs = new FakeLogSource { Text = "hello\nworld\n" };
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs));
        await running.SyncedAsync();

        using var response = await _harness.Admin.GetAsync("/api/v1/namespaces/default/pods/a/log?tailLines=2&timestamps=true&limitBytes=100&sinceSeconds=60");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("hello\nworld\n", await response.Content.ReadAsStringAsync());
        var query = Assert.Single(logs.Queries);
        Assert.Equal(("default", "a", "main", 2L, 100L, true, false), (query.Namespace, query.Pod, query.Container, query.TailLines, query.LimitBytes, query.Timestamps, query.Follow));
        Assert.NotNull(query.Since);
    }

    [Fact]
    public async Task Logs_Follow_StreamsUntilTheClientLeaves_ThenTheAgentIsCancelled()
    {
        await _harness.CreatePodAsync("a", "n1");
        var logs = new FakeLogSource { Text = "first line\n" };
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs));
        await running.SyncedAsync();

        using (var response = await _harness.Admin.GetAsync("/api/v1/namespaces/default/pods/a/log?follow=true", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(200, (int)response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(body);
            Assert.Equal("first line", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)));
        }

        await logs.Cancelled.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Logs_ManyRequestsInOneSession_LeaveNoFinishedStreamsBehind()
    {
        await _harness.CreatePodAsync("a", "n1");
        var logs = new FakeLogSource { Text = "hello\n" };
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs));
        await running.SyncedAsync();
        var sessions = running.Client.Sessions;

        for (var i = 0; i < 40; i++)
        {
            using var response = await _harness.Admin.GetAsync("/api/v1/namespaces/default/pods/a/log");
            Assert.Equal("hello\n", await response.Content.ReadAsStringAsync());
        }

        // The session's own loops (writer, heartbeat, node report, flush) and at most the last stream: a session that
        // lasts for weeks serves many requests and must not hold on to every one it served.
        await EventuallyAsync(() => running.Client.SessionTasks <= 5, $"finished log streams are forgotten (tracked: {running.Client.SessionTasks})");
        Assert.Equal(sessions, running.Client.Sessions);
    }

    [Fact]
    public async Task Logs_FollowedByAClientThatStopsReading_PauseAtTheAgent_WithoutHoldingUpTheNodesOtherTraffic()
    {
        // kubectl logs -f piped into a pager nobody scrolls: the HTTP client stops reading while the container keeps
        // writing. The stream pauses at the agent, once its window is used; the node's statuses and heartbeats share
        // the session with the log chunks and still get through; and the stream goes on when the reader does.
        var pod = await _harness.CreatePodAsync("a", "n1");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        var logs = new EndlessLogSource();
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();

        // A small socket receive buffer, so that the response fills the loopback connection after some hundred
        // kilobytes instead of the tens of megabytes the kernel's buffer tuning would allow.
        using var reader = _harness.AdminClient(handler => handler.ConnectCallback = SmallReceiveBuffer.ConnectAsync);
        using var response = await reader.GetAsync("/api/v1/namespaces/default/pods/a/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        await EventuallyAsync(() => client.LogStreamsAwaitingWindow == 1, "the agent has used the stream's window and waits for more", seconds: 60);
        client.PublishPodStatus("default", "a", uid, new Verge.Core.Core.PodStatus { Phase = "Running", PodIP = "10.1.0.3" });

        await EventuallyAsync(async () => (await _harness.GetAsync("/api/v1/namespaces/default/pods/a"))!["status"]?["podIP"]?.GetValue<string>() == "10.1.0.3",
            "the pod's status reaches the API while the log's reader is stalled", seconds: 30);

        await using (var body = await response.Content.ReadAsStreamAsync())
        {
            var read = 0L;
            var buffer = new byte[64 * 1024];
            while (read < 16 * 1024 * 1024)
            {
                var n = await body.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.True(n > 0, $"the paused stream ended after {read} bytes instead of going on");
                read += n;
            }
        }

        response.Dispose();
        await logs.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Logs_ThatFillTheLink_DoNotQueueAheadOfTheNodesStatuses()
    {
        // The server reads nothing at first: the link is full (HTTP/2 flow control holds the agent back) and the agent
        // queues what it has to send. Log chunks must not queue up in front of a status (or a heartbeat, or an ack):
        // on a slow link such a queue takes minutes to drain.
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeChannelServer.StartAsync(_harness.ServingCertificateWithKey(),
        [
            new ServerMessage { Welcome = new Welcome { HeartbeatIntervalMs = 1000, Revision = 1 } },
            new ServerMessage { Sync = new SyncBatch { Revision = 1, Complete = true } },
            new ServerMessage { LogRequest = new LogRequest { StreamId = "s1", Namespace = "default", Pod = "a", Follow = true, TailLines = -1 } },
        ], readFrom: read.Task);
        var logs = new EndlessLogSource { Incompressible = true };
        var client = _harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs, servers: [server.Address]);
        await using var running = new RunningClient(client);
        await running.SyncedAsync();
        await EventuallyAsync(() => client.Queued.LogChunks >= 4 || client.Queued.Others >= 200, "the agent's queue for the wire is full");
        client.PublishPodStatus("default", "a", "uid-a", new Verge.Core.Core.PodStatus { Phase = "Running" });
        await EventuallyAsync(() => client.PendingStatuses == 0, "the status is queued for the wire");

        read.SetResult();

        await EventuallyAsync(() => server.Received.Any(m => m.BodyCase == AgentMessage.BodyOneofCase.PodStatuses), "the status reaches the server");
        var ahead = server.Received.TakeWhile(m => m.BodyCase != AgentMessage.BodyOneofCase.PodStatuses).Count(m => m.BodyCase == AgentMessage.BodyOneofCase.Log);
        Assert.True(ahead < 64, $"{ahead} log chunks went before the status");
    }

    [Fact]
    public async Task Logs_WhenTheAgentHasNoSuchLog_Is400WithItsMessage()
    {
        await _harness.CreatePodAsync("a", "n1");
        var logs = new FakeLogSource { NotFound = "container \"main\" in pod \"a\" is waiting to start: ContainerCreating" };
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs));
        await running.SyncedAsync();

        var status = await StatusAsync("/api/v1/namespaces/default/pods/a/log", 400);

        Assert.Equal(logs.NotFound, status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Logs_OfAPodWhoseNodeIsNotConnected_Is503()
    {
        await _harness.CreatePodAsync("a", "n9");

        var status = await StatusAsync("/api/v1/namespaces/default/pods/a/log", 503);

        Assert.Equal("ServiceUnavailable", status["reason"]!.GetValue<string>());
        Assert.Contains("n9", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Logs_OfAnUnboundPod_Is400_AndOfAMissingPod_Is404()
    {
        await _harness.CreatePodAsync("unbound", null);

        var unbound = await StatusAsync("/api/v1/namespaces/default/pods/unbound/log", 400);
        await StatusAsync("/api/v1/namespaces/default/pods/missing/log", 404);

        Assert.Equal("pod unbound does not have a host assigned", unbound["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Logs_OfAPodWithSeveralContainers_NeedAContainerName()
    {
        await _harness.CreatePodAsync("multi", "n1", containers: ["app", "sidecar"]);

        var status = await StatusAsync("/api/v1/namespaces/default/pods/multi/log", 400);
        var invalid = await StatusAsync("/api/v1/namespaces/default/pods/multi/log?container=nope", 400);
        var badTail = await StatusAsync("/api/v1/namespaces/default/pods/multi/log?container=app&tailLines=-3", 400);

        Assert.Equal("a container name must be specified for pod multi, choose one of: [app sidecar]", status["message"]!.GetValue<string>());
        Assert.Equal("container nope is not valid for pod multi", invalid["message"]!.GetValue<string>());
        Assert.Contains("tailLines", badTail["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kubectl_Logs_ReadsThePodsLogThroughTheChannel()
    {
        await _harness.CreatePodAsync("web", "n1", containers: ["app", "sidecar"]);
        var logs = new FakeLogSource { Text = "served /index.html\n" };
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs));
        await running.SyncedAsync();

        var (exit, stdout, stderr) = await KubectlAsync("logs", "web", "-c", "sidecar", "--tail=5");

        Assert.True(exit == 0, $"kubectl logs failed: {stderr}");
        Assert.Equal("served /index.html\n", stdout);
        Assert.Equal(("sidecar", 5L), (logs.Queries[0].Container, logs.Queries[0].TailLines));
    }

    [Fact]
    public async Task Kubectl_LogsFollow_PrintsAsTheAgentSends_AndStoppingItCancelsTheRead()
    {
        await _harness.CreatePodAsync("web", "n1");
        var logs = new FakeLogSource { Text = "started\n" };
        await using var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), logs));
        await running.SyncedAsync();
        var cache = Directory.CreateTempSubdirectory("verge-kubectl-cache-").FullName;
        try
        {
            var start = KubectlStart(cache, "logs", "-f", "web");
            using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
            try
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal("started", line);
                Assert.False(process.HasExited);
            }
            finally
            {
                process.Kill();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }

            await logs.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(logs.Queries[0].Follow);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private async Task<JsonObject> StatusAsync(string path, int code)
    {
        using var response = await _harness.Admin.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == code, $"expected {code}, got {(int)response.StatusCode}: {body}");
        var status = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal(code, status["code"]!.GetValue<int>());
        return status;
    }

    private ProcessStartInfo KubectlStart(string cache, params string[] args)
    {
        Assert.True(
            Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(dir => File.Exists(Path.Combine(dir, "kubectl"))),
            "kubectl v1.32 is not installed (package kubectl from the Kubernetes apt repository)");
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--kubeconfig", _harness.Host.AdminKubeconfigPath, "--cache-dir", cache }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private async Task<(int Exit, string Stdout, string Stderr)> KubectlAsync(params string[] args)
    {
        var cache = Directory.CreateTempSubdirectory("verge-kubectl-cache-").FullName;
        try
        {
            var start = KubectlStart(cache, args);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                Assert.Fail("kubectl is not installed (install kubectl v1.32 from the Kubernetes apt repository, package kubectl): " + e.Message);
                throw;
            }

            using (process)
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                return (process.ExitCode, await stdout, await stderr);
            }
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private sealed class EndlessLogSource : ILogSource
    {
        private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _bytes;

        public long Bytes => Interlocked.Read(ref _bytes);

        public Task Cancelled => _cancelled.Task;

        /// <summary>Random bytes instead of text, which gzip cannot shrink: the link fills with as many chunks as it holds.</summary>
        public bool Incompressible { get; init; }

        public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(LogQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            var line = System.Text.Encoding.UTF8.GetBytes(new string('x', (32 * 1024) - 1) + "\n");
            if (Incompressible)
            {
                Random.Shared.NextBytes(line);
            }

            using var registration = ct.Register(() => _cancelled.TrySetResult());
            while (!ct.IsCancellationRequested)
            {
                await Task.Yield();
                Interlocked.Add(ref _bytes, line.Length);
                yield return line;
            }
        }
    }
}
