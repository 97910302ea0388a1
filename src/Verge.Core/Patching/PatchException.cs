namespace Verge.Core.Patching;

/// <summary>Why a patch was refused, so the API server can pick the status code Kubernetes would answer.</summary>
public enum PatchErrorKind
{
    /// <summary>The patch document itself is not well formed (Kubernetes answers 400 Bad Request).</summary>
    Malformed,

    /// <summary>The patch is well formed but cannot be applied to this object (Kubernetes answers 422).</summary>
    CannotApply,

    /// <summary>A JSON patch <c>test</c> operation did not match (Kubernetes answers 422).</summary>
    TestFailed,
}

/// <summary>
/// A patch that is malformed or cannot be applied. The message says what is wrong and where, for example
/// <c>json patch operation 2 ("replace" /spec/foo): path not found</c>.
/// </summary>
public class PatchException : Exception
{
    public PatchException()
        : this("invalid patch")
    {
    }

    public PatchException(string message)
        : this(message, PatchErrorKind.Malformed)
    {
    }

    public PatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PatchException(string message, PatchErrorKind kind)
        : base(message)
    {
        Kind = kind;
    }

    public PatchErrorKind Kind { get; }
}
