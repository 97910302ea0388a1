namespace Verge.Cli;

/// <summary>A failure the CLI reports as one line on stderr (the message is printed as is) with exit code 1.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CliException()
    {
    }
}
