using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Verge.ApiServer.NodeChannel;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Http;

internal sealed partial class ResourceEndpoint
{
    /// <summary>The stream protocol that can say "end of stdin" (channel 255); chosen when the client offers it.</summary>
    internal const string StreamProtocolV5 = "v5.channel.k8s.io";

    /// <summary>The protocol kubectl falls back to: the same channels, with the exit status as a Status on channel 3.</summary>
    internal const string StreamProtocolV4 = "v4.channel.k8s.io";

    private const byte StdinChannel = 0;
    private const byte ErrorChannel = 3;
    private const byte ResizeChannel = 4;
    private const byte CloseChannel = 255;

    /// <summary>How long a terminal's start waits for the client's first size (kubectl sends it right after the upgrade).</summary>
    private static readonly TimeSpan FirstSizeWait = TimeSpan.FromSeconds(1);

    /// <summary>How long the client has, after the exit status, to close its end before the server drops the connection.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>GET|POST pods/{name}/exec</c>: runs a command in a container of a running pod, on the agent of the pod's
    /// node, through its node channel session, and connects it to the client over a WebSocket with Kubernetes' stream
    /// protocol (<c>v5.channel.k8s.io</c> or <c>v4.channel.k8s.io</c>): channel 0 stdin, 1 stdout, 2 stderr, 3 the
    /// exit status as a <c>Status</c>, 4 terminal resizes, 255 (v5) the end of stdin. Errors found before the
    /// upgrade (bad options, no such container, a pod not running, a node not connected) are 4xx or 503 responses
    /// with a Status body; errors from the node after it (the container stopped, the command could not start) come
    /// on channel 3, as from a kubelet.
    /// </summary>
    private async Task ExecAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var query = context.Request.Query;
        var start = new ExecStart
        {
            Namespace = path.Namespace!,
            Pod = path.Name!,
            Stdin = ParseBool(query["stdin"].ToString(), "stdin"),
            Stdout = ParseBool(query["stdout"].ToString(), "stdout"),
            Stderr = ParseBool(query["stderr"].ToString(), "stderr"),
            Tty = ParseBool(query["tty"].ToString(), "tty"),
        };
        start.Command.AddRange(query["command"].Select(c => c ?? ""));
        if (start.Command.Count == 0 || start.Command[0].Length == 0)
        {
            throw ApiException.BadRequest("you must specify at least 1 command");
        }

        if (!start.Stdin && !start.Stdout && !start.Stderr)
        {
            throw ApiException.BadRequest("you must specify at least one of stdin, stdout, stderr");
        }

        if (start.Tty && start.Stderr)
        {
            // As the kubelet: a terminal has one output stream.
            throw ApiException.BadRequest("tty and stderr cannot both be true");
        }

        var (obj, _) = await service.GetAsync(path.Type, path.Namespace, path.Name!, ct);
        var pod = (Pod)obj;
        start.Container = ContainerFor(pod, query["container"].ToString());
        if (string.IsNullOrEmpty(pod.Spec.NodeName))
        {
            throw ApiException.BadRequest($"pod {pod.Metadata.Name} does not have a host assigned");
        }

        if (pod.Status?.Phase is "Succeeded" or "Failed")
        {
            throw ApiException.BadRequest($"cannot exec into a container in a completed pod; current phase is {pod.Status.Phase}");
        }

        var node = pod.Spec.NodeName;
        if (execRelay?.Connected(node) != true)
        {
            throw NodeNotConnected(node, pod);
        }

        // Last, so that a client can learn why an upgrade was refused by asking again without one.
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw ApiException.BadRequest(
                "Upgrade request required: exec is served over a WebSocket (" + StreamProtocolV5 + " or " + StreamProtocolV4 + "); SPDY is not supported");
        }

        var protocol = ChooseStreamProtocol(context.WebSockets.WebSocketRequestedProtocols)
            ?? throw ApiException.BadRequest(
                $"exec needs one of the WebSocket subprotocols {StreamProtocolV5}, {StreamProtocolV4}; the request offered [{string.Join(", ", context.WebSockets.WebSocketRequestedProtocols)}]");

        using var socket = await context.WebSockets.AcceptWebSocketAsync(protocol);
        var client = new ClientMessages(socket);
        if (start.Tty && await client.FirstSizeAsync(FirstSizeWait, time, ct) is var (width, height))
        {
            // The terminal starts at the client's size: a command that reads it at once (a shell's first prompt,
            // stty size) sees the right one, not 0 x 0 until the first resize.
            start.Width = width;
            start.Height = height;
        }

        // Who ran what where, for the operator's record (the program only: arguments may hold secrets).
        LogExec(logger, Security.Authentication.UserOf(context)?.Name ?? "", start.Namespace, start.Pod, start.Container, start.Command[0], start.Tty, node);
        var stream = execRelay.Open(node, start);
        if (stream is null)
        {
            await FinishAsync(socket, ExecFailure(NodeNotConnected(node, pod).Message), Task.CompletedTask, ct);
            return;
        }

        await using (stream)
        {
            using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var input = ReadClientAsync(client, stream, start.Stdin, protocol == StreamProtocolV5, clientGone);
            Status status;
            try
            {
                status = await WriteOutputAsync(socket, stream, start.Command, clientGone.Token);
            }
            catch (OperationCanceledException) when (clientGone.IsCancellationRequested)
            {
                // The client went away (kubectl interrupted): disposing the stream stops the command.
                socket.Abort();
                await input;
                return;
            }
            catch (IOException e)
            {
                // The node's session ended, or the node broke the stream's window.
                status = ExecFailure(e.Message);
            }
            catch (WebSocketException)
            {
                await input;
                return;
            }

            await FinishAsync(socket, status, input, ct);
        }
    }

    /// <summary>Sends the exit status on channel 3, closes, and gives the client a moment to close its end.</summary>
    private async Task FinishAsync(WebSocket socket, Status status, Task input, CancellationToken ct)
    {
        try
        {
            await socket.SendAsync(ChannelMessage(ErrorChannel, JsonSerializer.SerializeToUtf8Bytes(status, Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(Status)))), WebSocketMessageType.Binary, true, ct);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
            await input.WaitAsync(CloseWait, time, ct);
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    private static ApiException NodeNotConnected(string node, Pod pod) => new(503, "ServiceUnavailable",
        $"node \"{node}\" of pod {pod.Metadata.Name} is not connected to the control plane: cannot exec into its containers now");

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 3160, Level = Microsoft.Extensions.Logging.LogLevel.Information,
        Message = "Exec by {User} into {Namespace}/{Pod} container {Container} on node {Node}: {Program} (tty {Tty})")]
    private static partial void LogExec(Microsoft.Extensions.Logging.ILogger logger, string user, string @namespace, string pod, string container, string program, bool tty, string node);

    internal static string? ChooseStreamProtocol(IList<string> offered) =>
        offered.Contains(StreamProtocolV5) ? StreamProtocolV5 : offered.Contains(StreamProtocolV4) ? StreamProtocolV4 : null;

    /// <summary>Passes the command's output to the client until its end, and returns the exit status for channel 3.</summary>
    private static async Task<Status> WriteOutputAsync(WebSocket socket, ExecStream stream, IReadOnlyList<string> command, CancellationToken ct)
    {
        var output = stream.Output;
        while (await output.WaitToReadAsync(ct))
        {
            while (output.TryRead(out var chunk))
            {
                if (!chunk.Data.IsEmpty)
                {
                    await socket.SendAsync(ChannelMessage((byte)chunk.Fd, chunk.Data.Span), WebSocketMessageType.Binary, true, ct);
                    stream.Taken();
                }

                if (chunk.End)
                {
                    return chunk.Error.Length > 0 ? ExecFailure(chunk.Error)
                        : chunk.ExitCode == 0 ? new Status { Outcome = "Success" }
                        : NonZeroExit(command, chunk.ExitCode);
                }
            }
        }

        throw new IOException("the node ended the exec stream without an exit status");
    }

    /// <summary>
    /// Reads the client's messages: stdin (channel 0), terminal sizes (4) and the end of stdin (255, v5; or the
    /// client's close). Cancels <paramref name="clientGone"/> when the client closes or drops the connection.
    /// </summary>
    private static async Task ReadClientAsync(ClientMessages client, ExecStream stream, bool stdin, bool v5, CancellationTokenSource clientGone)
    {
        var stdinClosed = !stdin;
        try
        {
            while (await client.NextAsync() is { } message)
            {
                if (message.Length == 0)
                {
                    continue;
                }

                switch (message.Span[0])
                {
                    case StdinChannel when !stdinClosed && message.Length > 1:
                        await stream.WriteStdinAsync(message[1..], clientGone.Token);
                        break;
                    case ResizeChannel when TryParseSize(message.Span[1..], out var width, out var height):
                        stream.Resize(width, height);
                        break;
                    case CloseChannel when v5 && message.Length > 1 && message.Span[1] == StdinChannel && !stdinClosed:
                        stdinClosed = true;
                        stream.CloseStdin();
                        break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        if (!stream.Ended)
        {
            // The client closed or dropped its end before the command's: kubectl was interrupted.
            await clientGone.CancelAsync();
        }
    }

    /// <summary>
    /// The client's WebSocket messages, whole, one at a time. The first may be read ahead, before the command starts,
    /// to learn the terminal's size; it is then handed out first.
    /// </summary>
    private sealed class ClientMessages(WebSocket socket)
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(PodExecRelay.MaxInputChunk + 1);
        private Task<ReadOnlyMemory<byte>?>? _pending;

        /// <summary>The next message (valid until the next call), or null once the client has closed.</summary>
        public Task<ReadOnlyMemory<byte>?> NextAsync()
        {
            if (_pending is { } pending)
            {
                _pending = null;
                return pending;
            }

            return ReadAsync();
        }

        /// <summary>
        /// Waits up to <paramref name="wait"/> for the client's first message; when it is a terminal size (kubectl sends
        /// one first), returns it, else keeps the message (or the read under way) for <see cref="NextAsync"/>.
        /// </summary>
        public async Task<(uint Width, uint Height)?> FirstSizeAsync(TimeSpan wait, TimeProvider time, CancellationToken ct)
        {
            var first = _pending = ReadAsync();
            await Task.WhenAny(first, Task.Delay(wait, time, ct));
            if (first.IsCompletedSuccessfully && first.Result is { Length: > 1 } message && message.Span[0] == ResizeChannel
                && TryParseSize(message.Span[1..], out var width, out var height))
            {
                _pending = null;
                return (width, height);
            }

            return null;
        }

        private async Task<ReadOnlyMemory<byte>?> ReadAsync()
        {
            _buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(_buffer.GetMemory(PodExecRelay.MaxInputChunk), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                _buffer.Advance(result.Count);
            }
            while (!result.EndOfMessage);

            return _buffer.WrittenMemory;
        }
    }

    /// <summary>A resize message: <c>{"Width":80,"Height":24}</c>.</summary>
    internal static bool TryParseSize(ReadOnlySpan<byte> json, out uint width, out uint height)
    {
        width = height = 0;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }

                if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt32(out var value))
                {
                    if (string.Equals(name, "Width", StringComparison.OrdinalIgnoreCase))
                    {
                        width = value;
                    }
                    else if (string.Equals(name, "Height", StringComparison.OrdinalIgnoreCase))
                    {
                        height = value;
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return width > 0 && height > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static byte[] ChannelMessage(byte channel, ReadOnlySpan<byte> data)
    {
        var message = new byte[data.Length + 1];
        message[0] = channel;
        data.CopyTo(message.AsSpan(1));
        return message;
    }

    /// <summary>The exit status kubectl turns into "command terminated with exit code N" and its own exit code.</summary>
    internal static Status NonZeroExit(IReadOnlyList<string> command, int exitCode) => new()
    {
        Outcome = "Failure",
        Reason = "NonZeroExitCode",
        Message = $"command terminated with non-zero exit code: error executing command [{string.Join(' ', command)}], exit code {exitCode}",
        Details = new StatusDetails
        {
            Causes = [new StatusCause { Reason = "ExitCode", Message = exitCode.ToString(CultureInfo.InvariantCulture) }],
        },
    };

    internal static Status ExecFailure(string message) => new()
    {
        Outcome = "Failure",
        Reason = "InternalError",
        Code = 500,
        Message = message,
    };
}
