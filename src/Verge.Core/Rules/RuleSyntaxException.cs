namespace Verge.Core.Rules;

/// <summary>
/// A data-rule statement that does not parse or does not make sense: <see cref="Position"/> is the 1-based column of
/// the offending token and <see cref="Reason"/> says what is wrong there, such as <c>expected FROM</c> or
/// <c>unknown function 'avgg'</c>. The message reads <c>expected FROM at column 34</c>.
/// </summary>
public sealed class RuleSyntaxException : FormatException
{
    public RuleSyntaxException(int position, string reason)
        : base($"{reason} at column {position}")
    {
        Position = position;
        Reason = reason;
    }

    public RuleSyntaxException()
        : this(1, "invalid statement")
    {
    }

    public RuleSyntaxException(string message)
        : this(1, message)
    {
    }

    public RuleSyntaxException(string message, Exception innerException)
        : base(message, innerException)
    {
        Position = 1;
        Reason = message;
    }

    /// <summary>The 1-based column where the problem is.</summary>
    public int Position { get; }

    /// <summary>What is wrong, without the position.</summary>
    public string Reason { get; }
}
