using System.Text;
using Verge.Agent.Drivers;

namespace Verge.Agent.Tests.Drivers;

/// <summary>Runs an interactive exec to its end: writes its stdin, closes it, and reads stdout and stderr whole.</summary>
internal static class ExecCapture
{
    public static async Task<(string Stdout, string Stderr, int ExitCode)> RunAsync(IExecProcess process, string? stdin = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = ReadAsync(process.Stdout, timeout.Token);
        var stderr = process.Stderr is { } errors ? ReadAsync(errors, timeout.Token) : Task.FromResult("");
        if (process.Stdin is { } input)
        {
            if (stdin is not null)
            {
                await input.WriteAsync(Encoding.UTF8.GetBytes(stdin), timeout.Token);
                await input.FlushAsync(timeout.Token);
            }

            if (process.Stderr is not null)
            {
                // Pipes: the end of input is the pipe's close. A terminal's input stays open with its output.
                await input.DisposeAsync();
            }
        }

        var exit = await process.Exited.WaitAsync(timeout.Token);
        return (await stdout, await stderr, exit);
    }

    private static async Task<string> ReadAsync(Stream stream, CancellationToken ct)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct);
    }
}
