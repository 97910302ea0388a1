using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Verge.Agent.Platform;

/// <summary>The outcome of one external command: its exit code and what it wrote.</summary>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    /// <summary>Stderr if the command wrote any, otherwise stdout, trimmed: the text to put in an error message.</summary>
    public string Diagnostic => (string.IsNullOrWhiteSpace(Stderr) ? Stdout : Stderr).Trim();
}

/// <summary>
/// Runs short-lived host tools (runc, ip, mount, CNI plugins) with captured output, optional stdin and extra
/// environment, and a timeout after which the process tree is killed. Never leaves a child behind.
/// </summary>
internal static class CommandRunner
{
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken ct,
        string? stdin = null,
        IEnumerable<KeyValuePair<string, string>>? environment = null,
        Action? onTimeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {fileName}: {e.Message}", e);
        }

        using var drain = new CancellationTokenSource();
        var stdoutText = new StringBuilder();
        var stderrText = new StringBuilder();
        var stdout = PumpAsync(process.StandardOutput, stdoutText, drain.Token);
        var stderr = PumpAsync(process.StandardError, stderrText, drain.Token);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), ct);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The command exited without reading its input; its exit code tells the rest.
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutSource.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            if (!ct.IsCancellationRequested)
            {
                onTimeout?.Invoke();
            }

            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None);
            ct.ThrowIfCancellationRequested();
            timedOut = true;
        }

        // A background child of the command (an exec'd "cmd &") may hold the pipes open long after the command
        // exited: give the output a moment to drain, then stop reading rather than wait for it.
        drain.CancelAfter(OutputDrainGrace);
        await Task.WhenAll(stdout, stderr);
        return new CommandResult(timedOut ? -1 : process.ExitCode, Snapshot(stdoutText), Snapshot(stderrText), timedOut);
    }

    private static readonly TimeSpan OutputDrainGrace = TimeSpan.FromSeconds(2);

    private static async Task PumpAsync(StreamReader reader, StringBuilder into, CancellationToken ct)
    {
        var buffer = new char[4096];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer.AsMemory(), ct)) > 0)
            {
                lock (into)
                {
                    into.Append(buffer, 0, read);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Drain grace over.
        }
    }

    private static string Snapshot(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
