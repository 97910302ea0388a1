namespace Verge.Core.Edge;

/// <summary>
/// A sender's room on a stream of the node channel (log, exec): at most the window's chunks ahead of what the
/// receiver has taken, more as it grants them. A window of 0 never waits (a peer from before windows).
/// </summary>
public sealed class SendWindow(int chunks) : IDisposable
{
    private readonly SemaphoreSlim? _room = chunks > 0 ? new SemaphoreSlim(chunks) : null;

    /// <summary>The receiver has taken that many chunks: the sender may send that many more.</summary>
    public void Grant(int taken)
    {
        if (_room is not null && taken > 0)
        {
            try
            {
                _room.Release(taken);
            }
            catch (ObjectDisposedException)
            {
                // The stream ended meanwhile.
            }
            catch (SemaphoreFullException)
            {
                // More room than a count holds: as good as no window.
            }
        }
    }

    /// <summary>Takes room for one chunk if there is some (always, without a window).</summary>
    public bool TryTake() => _room is null || _room.Wait(0, CancellationToken.None);

    /// <summary>Waits for room for one chunk.</summary>
    public Task TakeAsync(CancellationToken ct) => _room?.WaitAsync(ct) ?? Task.CompletedTask;

    public void Dispose() => _room?.Dispose();
}
