using System.CommandLine;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Verge.Cli.Client;

namespace Verge.Cli.Commands;

/// <summary>
/// <c>verge exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]</c>: runs a command in a container of a running
/// pod through the API's pods/exec subresource (relayed to the pod's node over its link), as <c>kubectl exec</c>
/// does: the same WebSocket stream protocol (v5.channel.k8s.io), stdout and stderr apart, stdin with -i, a terminal
/// in raw mode with -it, and the command's exit code as verge's own.
/// </summary>
internal static class ExecCommand
{
    private const string ProtocolV5 = "v5.channel.k8s.io";
    private const string ProtocolV4 = "v4.channel.k8s.io";

    public static Command Create(CliContext context)
    {
        var pod = new Argument<string>("POD") { Description = "The pod (or pod/NAME)" };
        var commandLine = new Argument<string[]>("COMMAND") { Description = "The command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var container = new Option<string?>("--container", "-c") { Description = "The container (default: the pod's only one)" };
        var stdin = new Option<bool>("--stdin", "-i") { Description = "Pass stdin to the command" };
        var tty = new Option<bool>("--tty", "-t") { Description = "Run the command on a terminal (with -i, when stdin is one)" };
        var options = new ClientOptions();
        var command = new Command("exec", "Run a command in a container of a running pod");
        command.Arguments.Add(pod);
        command.Arguments.Add(commandLine);
        command.Options.Add(container);
        command.Options.Add(stdin);
        command.Options.Add(tty);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            var name = LogsCommand.PodName(parse.GetValue(pod)!, "exec");
            var words = parse.GetValue(commandLine) ?? [];
            var withStdin = parse.GetValue(stdin);
            var withTty = parse.GetValue(tty) && withStdin;
            if (withTty && !context.InIsTerminal)
            {
                // kubectl's words, and its choice: go on without a terminal.
                context.Error.WriteLine("Unable to use a TTY - input is not a terminal or the right kind of file");
                withTty = false;
            }

            using var session = options.Open(context, parse);
            var path = ExecPath(session.NamespaceOr(parse.GetValue(options.Namespace)), name, parse.GetValue(container), words, withStdin, withTty);
            using var socket = await session.Client.ConnectWebSocketAsync(path, [ProtocolV5, ProtocolV4], ct);
            using var raw = withTty ? RawTerminal.Enter() : null;
            return await RunAsync(context, socket, withStdin, withTty, ct);
        }));
        return command;
    }

    /// <summary>The pods/exec path with its query: command (repeated), container, and the streams asked for.</summary>
    internal static string ExecPath(string ns, string pod, string? container, IReadOnlyList<string> command, bool stdin, bool tty)
    {
        if (command.Count == 0 || command[0].Length == 0)
        {
            throw new CliException("error: you must specify at least one command for the container");
        }

        var query = command.Select(c => "command=" + Uri.EscapeDataString(c)).ToList();
        if (!string.IsNullOrEmpty(container))
        {
            query.Add("container=" + Uri.EscapeDataString(container));
        }

        query.Add("stdout=true");
        // A terminal has one output: the kubelet refuses tty with stderr.
        query.Add(tty ? "tty=true" : "stderr=true");
        if (stdin)
        {
            query.Add("stdin=true");
        }

        return $"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/pods/{Uri.EscapeDataString(pod)}/exec?{string.Join('&', query)}";
    }

    private static async Task<int> RunAsync(CliContext context, ClientWebSocket socket, bool stdin, bool tty, CancellationToken ct)
    {
        using var sending = new SemaphoreSlim(1, 1);
        using var stopInput = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var input = stdin ? CopyStdinAsync(context, socket, sending, socket.SubProtocol == ProtocolV5, stopInput.Token) : Task.CompletedTask;
        using var resize = tty ? new TerminalSizeReporter(socket, sending) : null;
        var stdout = new OutputWriter(context.OutBytes, context.Out);
        var stderr = new OutputWriter(context.ErrorBytes, context.Error);
        JsonNode? status = null;
        try
        {
            var buffer = new byte[64 * 1024];
            using var message = new MemoryStream();
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, ct);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var bytes = message.GetBuffer().AsMemory(0, (int)message.Length);
                if (bytes.Length > 0)
                {
                    switch (bytes.Span[0])
                    {
                        case 1:
                            await stdout.WriteAsync(bytes[1..], ct);
                            break;
                        case 2:
                            await stderr.WriteAsync(bytes[1..], ct);
                            break;
                        case 3:
                            status = JsonNode.Parse(bytes.Span[1..]);
                            break;
                    }
                }

                message.SetLength(0);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C: closing the connection makes the server stop the command.
            socket.Abort();
            throw;
        }
        catch (WebSocketException e)
        {
            throw new CliException($"error: the exec stream broke off: {e.Message}", e);
        }
        finally
        {
            // Not awaited: a read of the terminal's stdin does not end when cancelled, and the command has ended.
            await stopInput.CancelAsync();
            _ = input.ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        if (socket.State == WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        return ExitCode(context, status, tty);
    }

    /// <summary>The exit status on channel 3, as kubectl reads it: Success 0, a non-zero exit its code, else an error.</summary>
    private static int ExitCode(CliContext context, JsonNode? status, bool tty)
    {
        if (status is null)
        {
            throw new CliException("error: the exec stream ended without the command's exit status");
        }

        if ((string?)status["status"] == "Success")
        {
            return 0;
        }

        if ((string?)status["reason"] == "NonZeroExitCode"
            && status["details"]?["causes"]?.AsArray().FirstOrDefault(c => (string?)c?["reason"] == "ExitCode") is { } cause
            && int.TryParse((string?)cause["message"], out var code))
        {
            // Under a raw terminal a line needs its carriage return; the terminal is restored only after this.
            context.Error.Write($"command terminated with exit code {code}{(tty ? "\r\n" : "\n")}");
            return code;
        }

        throw new CliException("error: " + ((string?)status["message"] ?? "the command failed"));
    }

    /// <summary>Sends stdin as it comes (channel 0), then the end of stdin (v5: channel 255, stream 0).</summary>
    private static async Task CopyStdinAsync(CliContext context, ClientWebSocket socket, SemaphoreSlim sending, bool v5, CancellationToken ct)
    {
        var buffer = new byte[32 * 1024 + 1];
        try
        {
            if (context.InBytes is { } bytes)
            {
                int read;
                while ((read = await bytes.ReadAsync(buffer.AsMemory(1), ct)) > 0)
                {
                    await SendAsync(socket, sending, buffer.AsMemory(0, read + 1), ct);
                }
            }
            else
            {
                var chars = new char[8 * 1024];
                int read;
                while ((read = await context.In.ReadAsync(chars.AsMemory(), ct)) > 0)
                {
                    var count = Encoding.UTF8.GetBytes(chars, 0, read, buffer, 1);
                    await SendAsync(socket, sending, buffer.AsMemory(0, count + 1), ct);
                }
            }

            if (v5)
            {
                await SendAsync(socket, sending, new byte[] { 255, 0 }, ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // The command ended (the stream is closing) or verge is being stopped.
        }
    }

    private static async Task SendAsync(ClientWebSocket socket, SemaphoreSlim sending, ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        await sending.WaitAsync(ct);
        try
        {
            await socket.SendAsync(message, WebSocketMessageType.Binary, true, ct);
        }
        finally
        {
            sending.Release();
        }
    }

    /// <summary>Writes a channel's bytes to a byte stream when the process has one, else as UTF-8 text.</summary>
    private sealed class OutputWriter(Stream? bytes, TextWriter text)
    {
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            if (bytes is not null)
            {
                await bytes.WriteAsync(data, ct);
                await bytes.FlushAsync(ct);
                return;
            }

            var chars = new char[_decoder.GetCharCount(data.Span, flush: false)];
            _decoder.GetChars(data.Span, chars, flush: false);
            await text.WriteAsync(chars, ct);
            await text.FlushAsync(ct);
        }
    }

    /// <summary>Sends the terminal's size now and whenever it changes (SIGWINCH), on channel 4.</summary>
    private sealed class TerminalSizeReporter : IDisposable
    {
        private readonly ClientWebSocket _socket;
        private readonly SemaphoreSlim _sending;
        private readonly PosixSignalRegistration? _winch;

        public TerminalSizeReporter(ClientWebSocket socket, SemaphoreSlim sending)
        {
            _socket = socket;
            _sending = sending;
            if (!OperatingSystem.IsWindows())
            {
                _winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Send());
            }

            Send();
        }

        private void Send()
        {
            // The size of the terminal on stdin, from stty: System.Console would set the terminal up on first use.
            var size = RawTerminal.Stty("size")?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (size is not [var rows, var columns] || !int.TryParse(rows, out var height) || !int.TryParse(columns, out var width) || width <= 0 || height <= 0)
            {
                return;
            }

            var message = Encoding.UTF8.GetBytes($"\u0004{{\"Width\":{width},\"Height\":{height}}}");
            _ = SendAsync(_socket, _sending, message, CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        public void Dispose() => _winch?.Dispose();
    }

    /// <summary>
    /// The local terminal in raw mode (no echo, no line editing, Ctrl-C passed on as a byte) for as long as a remote
    /// terminal runs, then as it was: through stty, as the settings belong to the terminal device.
    /// </summary>
    private sealed class RawTerminal : IDisposable
    {
        private readonly string _saved;

        private RawTerminal(string saved) => _saved = saved;

        public static RawTerminal? Enter()
        {
            var saved = Stty("-g");
            if (saved is null || Stty("raw", "-echo") is null)
            {
                return null;
            }

            return new RawTerminal(saved.Trim());
        }

        public void Dispose() => Stty(_saved);

        /// <summary>Runs stty on the terminal verge's stdin is (it inherits it); its output, or null when it failed.</summary>
        public static string? Stty(params string[] arguments)
        {
            var info = new ProcessStartInfo("stty") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            try
            {
                using var process = Process.Start(info);
                if (process is null)
                {
                    return null;
                }

                var output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                return process.ExitCode == 0 ? output : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }
        }
    }
}
