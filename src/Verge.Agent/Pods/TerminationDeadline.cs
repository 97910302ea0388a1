namespace Verge.Agent.Pods;

/// <summary>
/// When a stopping pod's containers must be gone: the grace period counted from the start of the termination. A
/// shorter grace period arriving later (a second delete, a force delete) moves it earlier, never later, as the
/// kubelet's pod workers only ever lower a termination's grace period; whatever waits on it (a stop, a preStop hook)
/// sees <see cref="Snapshot"/>'s token cancelled and starts again with what is left. Thread-safe; disposed once the
/// termination has ended, after which it no longer moves.
/// </summary>
internal sealed class TerminationDeadline : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private DateTimeOffset _at;
    private CancellationTokenSource _moved = new();
    private bool _disposed;

    private TerminationDeadline(DateTimeOffset at, TimeProvider time)
    {
        _at = at;
        _time = time;
    }

    /// <summary>A deadline <paramref name="gracePeriod"/> from now (a negative period counts as none).</summary>
    public static TerminationDeadline After(TimeSpan gracePeriod, TimeProvider time) =>
        new(time.GetUtcNow() + NotNegative(gracePeriod), time);

    /// <summary>The deadline as it stands.</summary>
    public DateTimeOffset At
    {
        get
        {
            lock (_lock)
            {
                return _at;
            }
        }
    }

    /// <summary>
    /// What is left until the deadline, at least <paramref name="floor"/>, and a token cancelled when the deadline moves
    /// earlier than it is now.
    /// </summary>
    public (TimeSpan Left, CancellationToken Moved) Snapshot(TimeSpan floor)
    {
        lock (_lock)
        {
            var left = _at - _time.GetUtcNow();
            return (left < floor ? floor : left, _disposed ? CancellationToken.None : _moved.Token);
        }
    }

    /// <summary>
    /// A shorter grace period from now: the deadline moves to now + <paramref name="gracePeriod"/> when that is earlier.
    /// Returns whether it moved.
    /// </summary>
    public bool Shorten(TimeSpan gracePeriod)
    {
        CancellationTokenSource moved;
        lock (_lock)
        {
            var at = _time.GetUtcNow() + NotNegative(gracePeriod);
            if (_disposed || at >= _at)
            {
                return false;
            }

            _at = at;
            moved = _moved;
            _moved = new CancellationTokenSource();
        }

        moved.Cancel();
        return true;
    }

    /// <summary>Completes once the deadline has passed, following it as it moves.</summary>
    public async Task WhenPassedAsync(CancellationToken ct)
    {
        while (true)
        {
            var (left, moved) = Snapshot(TimeSpan.Zero);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, moved);
            try
            {
                await Task.Delay(left, _time, wait.Token);
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Moved earlier: look again.
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _moved.Dispose();
        }
    }

    private static TimeSpan NotNegative(TimeSpan period) => period < TimeSpan.Zero ? TimeSpan.Zero : period;
}
