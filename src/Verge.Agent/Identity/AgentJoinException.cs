namespace Verge.Agent.Identity;

/// <summary>Why an agent could not load or obtain its identity.</summary>
internal enum JoinFailure
{
    /// <summary>The options are incomplete: no token, no CA pin, no server.</summary>
    Configuration,

    /// <summary>The token is not <c>ID.SECRET</c> or <c>K10HASH::ID.SECRET</c>.</summary>
    InvalidToken,

    /// <summary>The server's CA is not the one the token (or --ca-cert-hash) pins.</summary>
    CaMismatch,

    /// <summary>The server refused the token (401).</summary>
    Unauthorized,

    /// <summary>The server refused the request for another reason (its Status says why).</summary>
    Refused,

    /// <summary>No server could be reached.</summary>
    Unreachable,

    /// <summary>The identity on disk is incomplete, unreadable, or for another node.</summary>
    BadIdentity,
}

/// <summary>A join or identity load that failed, with a message meant for the operator.</summary>
internal sealed class AgentJoinException : Exception
{
    public AgentJoinException(JoinFailure failure, string message, Exception? inner = null)
        : base(message, inner)
    {
        Failure = failure;
    }

    public AgentJoinException()
    {
    }

    public AgentJoinException(string message)
        : base(message)
    {
    }

    public AgentJoinException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public JoinFailure Failure { get; }
}
