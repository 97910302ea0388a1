using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Verge.Agent.Drivers;
using Verge.Agent.Pods;
using Verge.Core.Edge;
using Verge.NodeChannel.Protocol;

namespace Verge.Agent.Channel;

/// <summary>
/// kubectl exec through the node channel: ExecStart starts a command in a running container (<see cref="Exec"/>),
/// its output goes back as ExecOutput chunks within the server's window, its stdin comes as ExecInput within the
/// agent's, and its end (exit code or why it could not start) closes the stream.
/// </summary>
public sealed partial class NodeChannelClient
{
    /// <summary>How long the output of a command that exited may take to drain (a background child can hold it open).</summary>
    private static readonly TimeSpan ExecDrainLimit = TimeSpan.FromSeconds(2);

    /// <summary>Runs the commands kubectl exec asks for; null answers every exec with an error.</summary>
    public IContainerExec? Exec { get; init; }

    private void StartExec(ExecStart start, ChannelWriter<Outgoing> outbound, ChannelWriter<Outgoing> chunks, ConcurrentDictionary<string, ExecControl> streams, List<Task> tasks, CancellationToken session)
    {
        var control = new ExecControl(CancellationTokenSource.CreateLinkedTokenSource(session), start.OutputWindow, start.StdinWindow);
        if (!streams.TryAdd(start.StreamId, control))
        {
            control.Dispose();
            return;
        }

        Track(tasks, RunExecAsync(start, outbound, chunks, control, streams));
    }

    private static async Task HandleExecMessageAsync(ServerMessage message, ConcurrentDictionary<string, ExecControl> streams)
    {
        switch (message.BodyCase)
        {
            case ServerMessage.BodyOneofCase.ExecInput when streams.TryGetValue(message.ExecInput.StreamId, out var input):
                input.Receive(message.ExecInput);
                break;
            case ServerMessage.BodyOneofCase.ExecOutputWindow when streams.TryGetValue(message.ExecOutputWindow.StreamId, out var granted):
                granted.Grant(message.ExecOutputWindow.Chunks);
                break;
            case ServerMessage.BodyOneofCase.ExecCancel when streams.TryRemove(message.ExecCancel.StreamId, out var cancelled):
                try
                {
                    await cancelled.Cancel.CancelAsync();
                }
                catch (ObjectDisposedException)
                {
                    // The stream ended meanwhile.
                }

                break;
        }
    }

    private async Task RunExecAsync(ExecStart start, ChannelWriter<Outgoing> outbound, ChannelWriter<Outgoing> chunks, ExecControl control, ConcurrentDictionary<string, ExecControl> streams)
    {
        var ct = control.Cancel.Token;
        try
        {
            string? error = null;
            var exitCode = 0;
            IExecProcess? process = null;
            try
            {
                process = Exec is null
                    ? throw new DriverException("this agent does not run commands in containers")
                    : await Exec.StartExecAsync(start.Namespace, start.Pod, start.Container, new InteractiveExec([.. start.Command], start.Stdin, start.Tty, start.Width, start.Height), ct);
            }
            catch (DriverException e)
            {
                error = e.Message;
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                error = "exec failed: " + e.Message;
            }

            if (process is not null)
            {
                LogExecStarted(_logger, start.Namespace, start.Pod, start.Container, start.Command.Count > 0 ? start.Command[0] : "");
                await using (process)
                {
                    control.Process = process;
                    using var kill = ct.Register(process.Kill);
                    var stdin = process.Stdin is { } input && start.Stdin ? CopyStdinAsync(start.StreamId, control, input, start.Tty, outbound, ct) : Task.CompletedTask;
                    var stdout = CopyOutputAsync(start.StreamId, 1, process.Stdout, control, chunks, ct);
                    var stderr = process.Stderr is { } errors ? CopyOutputAsync(start.StreamId, 2, errors, control, chunks, ct) : Task.CompletedTask;
                    exitCode = await process.Exited.WaitAsync(ct);
                    try
                    {
                        await Task.WhenAll(stdout, stderr).WaitAsync(ExecDrainLimit, _time, ct);
                    }
                    catch (TimeoutException)
                    {
                        // Something the command left behind holds its output open: the command's own end is the answer.
                        process.Kill();
                    }

                    control.StopStdin();
                    await stdin.WaitAsync(ExecDrainLimit, _time, CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
                }
            }

            await chunks.WriteAsync(new Outgoing(new AgentMessage { ExecOutput = new ExecOutput { StreamId = start.StreamId, End = true, ExitCode = exitCode, Error = error ?? "" } }), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        finally
        {
            streams.TryRemove(start.StreamId, out _);
            control.Dispose();
        }
    }

    private static async Task CopyOutputAsync(string streamId, int fd, Stream output, ExecControl control, ChannelWriter<Outgoing> chunks, CancellationToken ct)
    {
        var buffer = new byte[MaxLogChunk];
        int read;
        while ((read = await output.ReadAsync(buffer, ct)) > 0)
        {
            await control.TakeOutputRoomAsync(ct);
            await chunks.WriteAsync(new Outgoing(new AgentMessage { ExecOutput = new ExecOutput { StreamId = streamId, Fd = fd, Data = ByteString.CopyFrom(buffer, 0, read) } }), ct);
        }
    }

    /// <summary>
    /// Writes the server's stdin chunks to the command, granting the server room for one more after each. The end of
    /// input closes the command's stdin; on a terminal, where stdin and output are one device, it types Ctrl-D.
    /// </summary>
    private static async Task CopyStdinAsync(string streamId, ExecControl control, Stream stdin, bool tty, ChannelWriter<Outgoing> outbound, CancellationToken ct)
    {
        try
        {
            await foreach (var input in control.Stdin.ReadAllAsync(ct))
            {
                if (input.Close)
                {
                    if (tty)
                    {
                        await stdin.WriteAsync(new byte[] { 4 }, ct);
                        await stdin.FlushAsync(ct);
                    }
                    else
                    {
                        await stdin.DisposeAsync();
                    }

                    return;
                }

                await stdin.WriteAsync(input.Data.Memory, ct);
                await stdin.FlushAsync(ct);
                await outbound.WriteAsync(new Outgoing(new AgentMessage { ExecStdinWindow = new ExecWindow { StreamId = streamId, Chunks = 1 } }), ct);
            }
        }
        catch (IOException)
        {
            // The command closed its stdin or exited: what is left of the input has no reader.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// One exec stream's cancellation, its output window (the chunks it may still send before the server grants more),
    /// and its stdin as the server sends it (within the agent's window, so the queue stays small).
    /// </summary>
    private sealed class ExecControl(CancellationTokenSource cancel, int outputWindow, int stdinWindow) : IDisposable
    {
        private readonly SendWindow _room = new(outputWindow);
        private readonly Channel<ExecInput> _stdin = System.Threading.Channels.Channel.CreateBounded<ExecInput>(
            new BoundedChannelOptions(Math.Max(1, stdinWindow) + 1) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.DropWrite });

        public CancellationTokenSource Cancel => cancel;

        public ChannelReader<ExecInput> Stdin => _stdin.Reader;

        private readonly Lock _size = new();
        private IExecProcess? _process;
        private (uint Width, uint Height) _pendingSize;

        /// <summary>The started command; a size that came before it is applied now.</summary>
        public IExecProcess? Process
        {
            get => _process;
            set
            {
                lock (_size)
                {
                    _process = value;
                    if (value is not null && _pendingSize.Width > 0)
                    {
                        value.Resize(_pendingSize.Width, _pendingSize.Height);
                    }
                }
            }
        }

        public void Receive(ExecInput input)
        {
            if (input.Width > 0 && input.Height > 0)
            {
                lock (_size)
                {
                    _pendingSize = (input.Width, input.Height);
                    _process?.Resize(input.Width, input.Height);
                }
            }

            if (!input.Data.IsEmpty || input.Close)
            {
                _stdin.Writer.TryWrite(input);
            }
        }

        public void StopStdin() => _stdin.Writer.TryComplete();

        public void Grant(int chunks) => _room.Grant(chunks);

        public Task TakeOutputRoomAsync(CancellationToken ct) => _room.TakeAsync(ct);

        public void Dispose()
        {
            _stdin.Writer.TryComplete();
            cancel.Dispose();
            _room.Dispose();
        }
    }

    [LoggerMessage(EventId = 5040, Level = LogLevel.Information, Message = "Exec into {Namespace}/{Pod} container {Container}: {Command}")]
    private static partial void LogExecStarted(ILogger logger, string @namespace, string pod, string container, string command);
}
