using System.Diagnostics;
using Verge.Agent.Platform;

namespace Verge.Agent.Drivers;

/// <summary>
/// An interactive command to run in a running task (<c>kubectl exec</c>): whether the caller sends stdin, and whether
/// the command gets a terminal of the given size.
/// </summary>
public sealed record InteractiveExec(IReadOnlyList<string> Command, bool Stdin, bool Tty, uint Width = 0, uint Height = 0);

/// <summary>
/// A command running in a task with its standard streams connected to the caller. With a terminal, stdout carries
/// everything the terminal shows and stderr is null.
/// </summary>
public interface IExecProcess : IAsyncDisposable
{
    /// <summary>The command's stdin, or null when the caller sends none (the command then reads end of input).</summary>
    Stream? Stdin { get; }

    Stream Stdout { get; }

    Stream? Stderr { get; }

    /// <summary>Completes with the command's exit code (128 + the signal for a command killed by one).</summary>
    Task<int> Exited { get; }

    /// <summary>Resizes the command's terminal; nothing without one.</summary>
    void Resize(uint width, uint height);

    /// <summary>Kills the command and what it started.</summary>
    void Kill();
}

/// <summary>
/// Starts a driver's exec command (a <see cref="ProcessStartInfo"/> that runs the command in the task) as an
/// <see cref="IExecProcess"/>: over pipes, or on a new pseudo-terminal that becomes the command's controlling
/// terminal (<c>setsid -c</c>), so that a shell gets job control and a resize reaches the command as SIGWINCH.
/// </summary>
public static class ExecLauncher
{
    /// <param name="info">The command that runs the exec in the task. A terminal goes to it through <c>setsid -c</c>; a
    /// program that is <c>setsid</c> already is replaced by that one.</param>
    /// <param name="request">What the caller asked for.</param>
    /// <param name="kill">Kills the command inside the task, given the id of the process started here (which is
    /// killed as well, with its children).</param>
    /// <param name="cleanup">Called once the command has exited and its streams are closed (files the exec left).</param>
    public static IExecProcess Start(ProcessStartInfo info, InteractiveExec request, Action<int> kill, Action? cleanup = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(request);
        info.UseShellExecute = false;
        if (!request.Tty)
        {
            info.RedirectStandardInput = true;
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            var process = Process.Start(info) ?? throw new DriverException("cannot start the exec command");
            if (!request.Stdin)
            {
                process.StandardInput.Close();
            }

            return new PipedExecProcess(process, request.Stdin, kill, cleanup);
        }

        var terminal = PseudoTerminal.Open();
        try
        {
            if (request.Width > 0 && request.Height > 0)
            {
                terminal.Resize(request.Width, request.Height);
            }

            // The command's stdin, stdout and stderr become the terminal: opened by path in a shell that then replaces
            // itself with setsid, which makes the terminal the session's controlling terminal.
            var original = info.FileName;
            var arguments = info.ArgumentList.ToList();
            var isSetsid = Path.GetFileName(original) == "setsid";
            info.FileName = "/bin/sh";
            info.ArgumentList.Clear();
            foreach (var argument in new[] { "-c", "t=$1; shift; exec \"$@\" <\"$t\" >\"$t\" 2>&1", "verge-exec-tty", terminal.SlavePath, isSetsid ? original : "setsid", "-c", "-w" })
            {
                info.ArgumentList.Add(argument);
            }

            if (!isSetsid)
            {
                info.ArgumentList.Add(original);
            }

            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            info.RedirectStandardInput = true;
            var process = Process.Start(info) ?? throw new DriverException("cannot start the exec command");
            process.StandardInput.Close();
            return new TerminalExecProcess(process, terminal, kill, cleanup);
        }
        catch
        {
            terminal.Dispose();
            throw;
        }
    }

    private static async Task<int> ExitCodeAsync(Process process)
    {
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>Kills a command still running and waits for its exit code to be read before the process goes.</summary>
    private static async Task EndAsync(Process process, Task<int> exited, Action kill)
    {
        if (!exited.IsCompleted)
        {
            kill();
        }

        await exited.ContinueWith(static _ => { }, TaskScheduler.Default);
        process.Dispose();
    }

    private static void KillAll(Process process, Action<int> kill)
    {
        try
        {
            kill(process.Id);
        }
        finally
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
        }
    }

    private sealed class PipedExecProcess(Process process, bool stdin, Action<int> kill, Action? cleanup) : IExecProcess
    {
        public Stream? Stdin { get; } = stdin ? process.StandardInput.BaseStream : null;

        public Stream Stdout => process.StandardOutput.BaseStream;

        public Stream? Stderr => process.StandardError.BaseStream;

        public Task<int> Exited { get; } = ExitCodeAsync(process);

        public void Resize(uint width, uint height)
        {
        }

        public void Kill() => KillAll(process, kill);

        public async ValueTask DisposeAsync()
        {
            await EndAsync(process, Exited, Kill);
            cleanup?.Invoke();
        }
    }

    private sealed class TerminalExecProcess(Process process, PseudoTerminal terminal, Action<int> kill, Action? cleanup) : IExecProcess
    {
        public Stream? Stdin => terminal.Writer;

        public Stream Stdout => terminal.Reader;

        public Stream? Stderr => null;

        public Task<int> Exited { get; } = ExitCodeAsync(process);

        public void Resize(uint width, uint height) => terminal.Resize(width, height);

        public void Kill() => KillAll(process, kill);

        public async ValueTask DisposeAsync()
        {
            await EndAsync(process, Exited, Kill);
            terminal.Dispose();
            cleanup?.Invoke();
        }
    }
}
