namespace Verge.Cli;

/// <summary>
/// What a CLI invocation reads and writes: its streams, whether they are terminals, the environment, the working and
/// home directories and the clock. Tests build one with captured writers and a controlled environment.
/// </summary>
internal sealed class CliContext
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Whether standard output is a terminal (tables and colour) rather than redirected (plain text).</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>Whether standard error is a terminal (errors in colour).</summary>
    public bool ErrorIsTerminal { get; init; }

    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    public string CurrentDirectory { get; init; } = Directory.GetCurrentDirectory();

    public string HomeDirectory { get; init; } = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Called once <c>verge server</c> or <c>verge up</c> is serving, with the server's address.</summary>
    public Action<Uri>? ServerStarted { get; init; }
}
