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

    /// <summary>Standard input as bytes (verbs that relay it, such as exec); null reads <see cref="In"/> as UTF-8.</summary>
    public Stream? InBytes { get; init; }

    /// <summary>Standard output as bytes (exec relays a command's output as it is); null writes to <see cref="Out"/>.</summary>
    public Stream? OutBytes { get; init; }

    /// <summary>Standard error as bytes; null writes to <see cref="Error"/>.</summary>
    public Stream? ErrorBytes { get; init; }

    /// <summary>Whether standard input is a terminal (exec -t puts it in raw mode).</summary>
    public bool InIsTerminal { get; init; }

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
