using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Verge.Agent.Drivers;
using Verge.Agent.Pods;
using Verge.Tests.Shared;
using static Verge.Agent.Tests.Channel.ChannelHarness;

namespace Verge.Agent.Tests.Channel;

/// <summary>
/// kubectl exec through the node channel: the API server takes the WebSocket (Kubernetes' v5 and v4 stream
/// protocols), the pod's agent runs the command, and stdin, stdout, stderr, terminal sizes and the exit status travel
/// the node's session. The commands here run on the test machine through the same launcher the drivers use.
/// </summary>
public sealed class PodExecTests : IAsyncLifetime
{
    private const string ExecPath = "/api/v1/namespaces/default/pods/a/exec";

    private ChannelHarness _harness = null!;
    private readonly HostExec _exec = new();

    public async Task InitializeAsync() => _harness = await ChannelHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Exec_StreamsStdoutAndStderrApart_AndEndsWithTheExitCode_AsKubectlReadsIt()
    {
        await using var running = await StartAsync();

        using var socket = await _harness.WebSocketAsync(Query("sh", "-c", "echo out; echo err >&2; exit 3") + "&stdout=true&stderr=true");
        var result = await ExecResult.ReadAsync(socket);

        Assert.Equal("v5.channel.k8s.io", socket.SubProtocol);
        Assert.Equal("out\n", result.Text(1));
        Assert.Equal("err\n", result.Text(2));
        Assert.Equal("Failure", result.Status["status"]!.GetValue<string>());
        Assert.Equal("NonZeroExitCode", result.Status["reason"]!.GetValue<string>());
        var cause = Assert.Single(result.Status["details"]!["causes"]!.AsArray())!;
        Assert.Equal(("ExitCode", "3"), (cause["reason"]!.GetValue<string>(), cause["message"]!.GetValue<string>()));
        var request = Assert.Single(_exec.Requests);
        Assert.Equal(("default", "a", "main", false, false), (request.Namespace, request.Pod, request.Container, request.Exec.Stdin, request.Exec.Tty));
        Assert.Equal(["sh", "-c", "echo out; echo err >&2; exit 3"], request.Exec.Command);
    }

    [Fact]
    public async Task Exec_PassesStdin_AndTheEndOfStdinClosesIt_UnderV5()
    {
        await using var running = await StartAsync();

        using var socket = await _harness.WebSocketAsync(Query("sh", "-c", "cat; echo done") + "&stdin=true&stdout=true&stderr=true");
        await SendAsync(socket, 0, "hello "u8.ToArray());
        await SendAsync(socket, 0, "world\n"u8.ToArray());
        await SendAsync(socket, 255, [0]);
        var result = await ExecResult.ReadAsync(socket);

        Assert.Equal("hello world\ndone\n", result.Text(1));
        Assert.Equal("Success", result.Status["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Exec_Megabytes_BothWays_ArriveWhole_ThroughTheWindows()
    {
        // More than the windows hold in either direction (16 chunks of 32 KiB): stdin waits for the agent's grants,
        // output for the server's, and nothing is lost or reordered on the way.
        await using var running = await StartAsync();
        var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);

        using var socket = await _harness.WebSocketAsync(Query("cat") + "&stdin=true&stdout=true");
        var reading = ExecResult.ReadAsync(socket);
        for (var offset = 0; offset < data.Length; offset += 50_000)
        {
            await SendAsync(socket, 0, data.AsSpan(offset, Math.Min(50_000, data.Length - offset)).ToArray());
        }

        await SendAsync(socket, 255, [0]);
        var result = await reading;

        Assert.Equal(SHA256.HashData(data), SHA256.HashData(result.Bytes(1)));
        Assert.Equal("Success", result.Status["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Exec_WithATerminal_StartsAtTheClientsSize_AndFollowsItsResizes()
    {
        await using var running = await StartAsync();

        // kubectl sends the size first: the command sees it from its first instruction on.
        using var socket = await _harness.WebSocketAsync(Query("sh", "-c", "stty size; read line; stty size; test -t 0 && echo tty-$line") + "&stdin=true&stdout=true&tty=true");
        await SendAsync(socket, 4, """{"Width":101,"Height":33}"""u8.ToArray());
        var result = new ExecResult();
        await result.ReadUntilAsync(socket, "33 101\r\n");
        await SendAsync(socket, 4, """{"Width":50,"Height":10}"""u8.ToArray());
        await SendAsync(socket, 0, "x\r"u8.ToArray());
        await result.ReadUntilAsync(socket, null);

        var lines = result.Text(1).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["33 101", "x", "10 50", "tty-x"], lines);
        Assert.Empty(result.Bytes(2));
        Assert.Equal("Success", result.Status["status"]!.GetValue<string>());
        Assert.True(Assert.Single(_exec.Requests).Exec.Tty);
    }

    [Fact]
    public async Task Exec_OverV4_ReportsTheExitStatus()
    {
        await using var running = await StartAsync();

        using var socket = await _harness.WebSocketAsync(Query("sh", "-c", "echo v4") + "&stdout=true", "v4.channel.k8s.io");
        var result = await ExecResult.ReadAsync(socket);

        Assert.Equal("v4.channel.k8s.io", socket.SubProtocol);
        Assert.Equal("v4\n", result.Text(1));
        Assert.Equal("Success", result.Status["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Exec_ClientThatLeaves_KillsTheCommand_AndTheStreamIsForgotten()
    {
        await using var running = await StartAsync();

        var socket = await _harness.WebSocketAsync(Query("sleep", "1000") + "&stdout=true");
        var started = await _exec.Started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        socket.Abort();
        socket.Dispose();

        var exit = await started.Exited.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(137, exit);
        await EventuallyAsync(() => running.Client.SessionTasks <= 5, $"the finished exec stream is forgotten (tracked: {running.Client.SessionTasks})");
    }

    [Fact]
    public async Task Exec_ThatTheNodeCannotStart_EndsWithItsReason_OnTheErrorChannel()
    {
        await using var running = await StartAsync();
        _exec.Refuse = "container \"main\" of pod \"a\" is not running";

        using var socket = await _harness.WebSocketAsync(Query("ls") + "&stdout=true");
        var result = await ExecResult.ReadAsync(socket);

        Assert.Equal("Failure", result.Status["status"]!.GetValue<string>());
        Assert.Equal("container \"main\" of pod \"a\" is not running", result.Status["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("?stdout=true", "you must specify at least 1 command")]
    [InlineData("?command=ls", "you must specify at least one of stdin, stdout, stderr")]
    [InlineData("?command=ls&stdout=true&stderr=true&tty=true", "tty and stderr cannot both be true")]
    [InlineData("?command=ls&stdout=yes", "stdout: Invalid value: \"yes\": must be true or false")]
    [InlineData("?command=ls&stdout=true&container=nope", "container nope is not valid for pod a")]
    [InlineData("?command=ls&stdout=true", "Upgrade request required")]
    public async Task Exec_BadRequests_Are400_WithAStatusThatSaysWhy(string query, string message)
    {
        await using var running = await StartAsync();

        using var response = await _harness.Admin.GetAsync(ExecPath + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.StartsWith(message, status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_exec.Requests);
    }

    [Fact]
    public async Task Exec_IntoAPodWithoutANode_OrOnANodeNotConnected_OrWithoutAStreamProtocol_IsRefusedBeforeTheUpgrade()
    {
        await _harness.CreatePodAsync("pending", null);
        await _harness.CreatePodAsync("b", "n2");
        await using var running = await StartAsync();

        using var pending = await _harness.Admin.GetAsync("/api/v1/namespaces/default/pods/pending/exec?command=ls&stdout=true");
        var unbound = JsonNode.Parse(await pending.Content.ReadAsStringAsync())!;
        Assert.Equal((HttpStatusCode.BadRequest, "pod pending does not have a host assigned"), (pending.StatusCode, unbound["message"]!.GetValue<string>()));

        var away = await Assert.ThrowsAsync<WebSocketException>(() => _harness.WebSocketAsync("/api/v1/namespaces/default/pods/b/exec?command=ls&stdout=true"));
        Assert.Contains("503", away.Message, StringComparison.Ordinal);

        var old = await Assert.ThrowsAsync<WebSocketException>(() => _harness.WebSocketAsync(Query("ls") + "&stdout=true", "channel.k8s.io"));
        Assert.Contains("400", old.Message, StringComparison.Ordinal);
        Assert.Empty(_exec.Requests);
    }

    private async Task<RunningClient> StartAsync()
    {
        if (await _harness.GetAsync("/api/v1/namespaces/default/pods/a") is null)
        {
            await _harness.CreatePodAsync("a", "n1");
        }

        var running = new RunningClient(_harness.NewClient(_harness.Identity("n1"), new InMemoryDesiredState(), exec: _exec));
        await running.SyncedAsync();
        return running;
    }

    private static string Query(params string[] command) =>
        ExecPath + "?" + string.Join('&', command.Select(c => "command=" + Uri.EscapeDataString(c)));

    private static Task SendAsync(WebSocket socket, byte channel, byte[] data) =>
        socket.SendAsync((byte[])[channel, .. data], WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>What an exec stream brought: the bytes of each channel and the Status on channel 3.</summary>
    private sealed class ExecResult
    {
        private readonly Dictionary<int, MemoryStream> _channels = [];

        public JsonNode Status { get; private set; } = null!;

        public byte[] Bytes(int channel) => _channels.TryGetValue(channel, out var data) ? data.ToArray() : [];

        public string Text(int channel) => Encoding.UTF8.GetString(Bytes(channel));

        public static async Task<ExecResult> ReadAsync(WebSocket socket)
        {
            var result = new ExecResult();
            await result.ReadUntilAsync(socket, null);
            return result;
        }

        /// <summary>Reads until stdout holds <paramref name="stdout"/>, or with null to the stream's end.</summary>
        public async Task ReadUntilAsync(WebSocket socket, string? stdout)
        {
            var result = this;
            var buffer = new byte[64 * 1024];
            using var message = new MemoryStream();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, timeout.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    Assert.True(stdout is null, $"the stream ended before stdout held \"{stdout}\": {Text(1)}");
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                    Assert.NotNull(result.Status);
                    return;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var bytes = message.ToArray();
                message.SetLength(0);
                if (bytes[0] == 3)
                {
                    result.Status = JsonNode.Parse(bytes.AsSpan(1))!;
                    continue;
                }

                if (!result._channels.TryGetValue(bytes[0], out var channel))
                {
                    result._channels[bytes[0]] = channel = new MemoryStream();
                }

                channel.Write(bytes, 1, bytes.Length - 1);
                if (stdout is not null && Text(1).Contains(stdout, StringComparison.Ordinal))
                {
                    return;
                }
            }
        }
    }

    /// <summary>Runs exec commands on this machine, through the launcher the drivers use; records what it was asked.</summary>
    private sealed class HostExec : IContainerExec
    {
        public ConcurrentQueue<(string Namespace, string Pod, string Container, InteractiveExec Exec)> Requests { get; } = new();

        public System.Threading.Channels.Channel<IExecProcess> Started { get; } = System.Threading.Channels.Channel.CreateUnbounded<IExecProcess>();

        public string? Refuse { get; set; }

        public Task<IExecProcess> StartExecAsync(string podNamespace, string podName, string container, InteractiveExec request, CancellationToken ct)
        {
            Requests.Enqueue((podNamespace, podName, container, request));
            if (Refuse is { } reason)
            {
                throw new DriverException(reason);
            }

            var info = new ProcessStartInfo(request.Command[0]);
            foreach (var argument in request.Command.Skip(1))
            {
                info.ArgumentList.Add(argument);
            }

            var process = ExecLauncher.Start(info, request, _ => { });
            Started.Writer.TryWrite(process);
            return Task.FromResult(process);
        }
    }
}
