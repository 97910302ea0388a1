using System.Net.WebSockets;
using Google.Protobuf;
using Verge.ApiServer.NodeChannel;
using Verge.NodeChannel.Protocol;
using Verge.Tests.Shared;

namespace Verge.ApiServer.Tests.NodeChannel;

/// <summary>The windows of a relayed exec stream, with the agent's end spoken by a raw gRPC client.</summary>
public sealed class ExecWindowTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private static readonly ByteString Chunk = ByteString.CopyFrom(new byte[32 * 1024]);

    [Fact]
    public async Task ExecStart_GivesTheAgentBothWindows_AndStdinComesInChunksItGrantsBack()
    {
        await using var agent = await ConnectAsync("execw-1");
        using var socket = await OpenAsync("execw-1", "&stdin=true&stdout=true");
        var start = (await NextAsync(agent, ServerMessage.BodyOneofCase.ExecStart)).ExecStart;
        Assert.Equal((PodExecRelay.Window, PodExecRelay.Window, "c"), (start.OutputWindow, start.StdinWindow, start.Container));
        Assert.Equal(["cat"], start.Command);

        // 20 stdin messages of 32 KiB: the server sends the window's worth, then one more per grant.
        var payload = new byte[32 * 1024 + 1];
        for (var i = 0; i < 20; i++)
        {
            await socket.SendAsync(payload, WebSocketMessageType.Binary, true, CancellationToken.None);
        }

        await socket.SendAsync(new byte[] { 255, 0 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var received = 0;
        var closed = false;
        while (!closed)
        {
            var input = (await NextAsync(agent, ServerMessage.BodyOneofCase.ExecInput)).ExecInput;
            Assert.Equal(start.StreamId, input.StreamId);
            received += input.Data.Length;
            closed = input.Close;
            if (!input.Data.IsEmpty)
            {
                await agent.SendAsync(new AgentMessage { ExecStdinWindow = new ExecWindow { StreamId = start.StreamId, Chunks = 1 } });
            }
        }

        Assert.Equal(20 * 32 * 1024, received);
        await agent.SendAsync(new AgentMessage { ExecOutput = new ExecOutput { StreamId = start.StreamId, End = true, ExitCode = 0 } });
    }

    [Fact]
    public async Task ExecOutput_OfAnAgentThatIgnoresItsWindow_EndsTheStream_AndTheAgentIsTold()
    {
        // The client does not read, and its socket is small: the relay's buffer (the window and the last message)
        // fills, and a chunk beyond it ends the stream at once instead of making the session's receive loop wait.
        await using var agent = await ConnectAsync("execw-2");
        using var socket = await OpenAsync("execw-2", "&stdout=true", handler => handler.ConnectCallback = SmallReceiveBuffer.ConnectAsync);
        var start = (await NextAsync(agent, ServerMessage.BodyOneofCase.ExecStart)).ExecStart;
        using var stop = new CancellationTokenSource();
        var flood = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await agent.SendAsync(new AgentMessage { ExecOutput = new ExecOutput { StreamId = start.StreamId, Fd = 1, Data = Chunk } });
            }
        });

        var cancel = (await NextAsync(agent, ServerMessage.BodyOneofCase.ExecCancel)).ExecCancel;

        Assert.Equal(start.StreamId, cancel.StreamId);
        await stop.CancelAsync();
        await flood.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private async Task<ClientWebSocket> OpenAsync(string pod, string query, Action<SocketsHttpHandler>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("v5.channel.k8s.io");
        var address = new UriBuilder(server.Address) { Scheme = "wss", Path = $"/api/v1/namespaces/default/pods/{pod}/exec", Query = "command=cat" + query }.Uri;
        await socket.ConnectAsync(address, server.AdminClient(configure), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return socket;
    }

    private Task<RawChannel> ConnectAsync(string node) => RawAgent.ConnectWithPodAsync(server, node);

    private static Task<ServerMessage> NextAsync(RawChannel channel, ServerMessage.BodyOneofCase kind) => RawAgent.NextAsync(channel, kind);
}
