using Google.Protobuf;
using Verge.ApiServer.NodeChannel;
using Verge.NodeChannel.Protocol;
using Verge.Tests.Shared;

namespace Verge.ApiServer.Tests.NodeChannel;

/// <summary>The window of a relayed log stream, with the agent's end spoken by a raw gRPC client.</summary>
public sealed class LogWindowTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private static readonly ByteString Chunk = ByteString.CopyFrom(new byte[32 * 1024]);

    [Fact]
    public async Task LogRequest_GivesTheAgentAWindow_AndTheServerGrantsMoreAsTheReaderTakesChunks()
    {
        await using var agent = await ConnectAsync("logw-1");
        using var admin = server.AdminClient();
        var read = Task.Run(async () =>
        {
            using var response = await admin.GetAsync("/api/v1/namespaces/default/pods/logw-1/log", HttpCompletionOption.ResponseHeadersRead);
            return (await response.Content.ReadAsByteArrayAsync()).Length;
        });
        var request = (await NextAsync(agent, ServerMessage.BodyOneofCase.LogRequest)).LogRequest;
        Assert.Equal(PodLogRelay.Window, request.Window);

        for (var i = 0; i < request.Window; i++)
        {
            await agent.SendAsync(new AgentMessage { Log = new LogData { StreamId = request.StreamId, Data = Chunk } });
        }

        // The reader takes the chunks as they come: the server grants the window back by halves.
        var granted = 0;
        while (granted < request.Window)
        {
            var grant = (await NextAsync(agent, ServerMessage.BodyOneofCase.LogWindow)).LogWindow;
            Assert.Equal((request.StreamId, PodLogRelay.Window / 2), (grant.StreamId, grant.Chunks));
            granted += grant.Chunks;
        }

        await agent.SendAsync(new AgentMessage { Log = new LogData { StreamId = request.StreamId, End = true } });
        Assert.Equal(request.Window * Chunk.Length, await read.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task LogStream_OfAnAgentThatIgnoresItsWindow_EndsOnceTheReaderStopsReading()
    {
        // An agent from before windows sends as fast as the link takes it. Once the reader stops reading and the
        // relay's buffer is full, a chunk waits at most a second: then the stream ends and the agent is told.
        await using var agent = await ConnectAsync("logw-2");
        using var reader = server.AdminClient(handler => handler.ConnectCallback = SmallReceiveBuffer.ConnectAsync);
        var get = reader.GetAsync("/api/v1/namespaces/default/pods/logw-2/log?follow=true", HttpCompletionOption.ResponseHeadersRead);
        var request = (await NextAsync(agent, ServerMessage.BodyOneofCase.LogRequest)).LogRequest;
        using var stop = new CancellationTokenSource();
        var flood = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await agent.SendAsync(new AgentMessage { Log = new LogData { StreamId = request.StreamId, Data = Chunk } });
            }
        });

        var cancel = (await NextAsync(agent, ServerMessage.BodyOneofCase.LogCancel)).LogCancel;

        Assert.Equal(request.StreamId, cancel.StreamId);
        await stop.CancelAsync();
        await flood.WaitAsync(TimeSpan.FromSeconds(20));
        using var response = await get;
        Assert.Equal(200, (int)response.StatusCode);
    }

    private Task<RawChannel> ConnectAsync(string node) => RawAgent.ConnectWithPodAsync(server, node);

    private static Task<ServerMessage> NextAsync(RawChannel channel, ServerMessage.BodyOneofCase kind) => RawAgent.NextAsync(channel, kind);
}
