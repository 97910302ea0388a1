namespace Verge.Store.Sqlite;

internal enum WriteKind
{
    Create,
    Update,
    Delete,
    Compact,
}

/// <summary>One caller's pending write, queued for the writer loop.</summary>
internal sealed class WriteOperation(
    WriteKind kind,
    string key,
    byte[] value,
    long revision,
    CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<KeyValue?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WriteKind Kind { get; } = kind;

    public string Key { get; } = key;

    public byte[] Value { get; } = value;

    /// <summary>The expected revision of an update or delete, or the target of a compaction.</summary>
    public long Revision { get; } = revision;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>The outcome decided inside the current batch, delivered once the batch has committed.</summary>
    public KeyValue? Result { get; set; }

    public Exception? Error { get; set; }

    public Task<KeyValue?> Task => _completion.Task;

    public void Deliver()
    {
        if (Error is not null)
        {
            _completion.TrySetException(Error);
        }
        else
        {
            _completion.TrySetResult(Result);
        }
    }

    public void Fail(Exception error) => _completion.TrySetException(error);
}
