namespace Verge.Controllers.Runtime;

/// <summary>
/// The per-item exponential backoff of client-go's <c>ItemExponentialFailureRateLimiter</c>: the n-th consecutive
/// failure of an item waits <c>baseDelay * 2^n</c>, capped at <c>maxDelay</c>, until the item is forgotten.
/// </summary>
internal sealed class ItemBackoff<T>(TimeSpan baseDelay, TimeSpan maxDelay)
    where T : notnull
{
    private readonly Dictionary<T, int> _failures = [];
    private readonly Lock _lock = new();

    /// <summary>client-go's controller defaults: 5 ms doubling up to 1000 s.</summary>
    public static ItemBackoff<T> Default() => new(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000));

    /// <summary>The delay before the item's next retry, counting this failure.</summary>
    public TimeSpan When(T item)
    {
        int exponent;
        lock (_lock)
        {
            exponent = _failures.GetValueOrDefault(item);
            _failures[item] = exponent + 1;
        }

        // 2^exponent overflows long before the cap matters; stop doubling once past it.
        var delay = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(exponent, 62));
        return delay >= maxDelay.TotalMilliseconds ? maxDelay : TimeSpan.FromMilliseconds(delay);
    }

    public int NumRequeues(T item)
    {
        lock (_lock)
        {
            return _failures.GetValueOrDefault(item);
        }
    }

    public void Forget(T item)
    {
        lock (_lock)
        {
            _failures.Remove(item);
        }
    }
}

/// <summary>
/// A rate-limited work queue with client-go's semantics: an item is queued at most once however often it is
/// added; an item being processed is not handed to a second worker, and if it is added meanwhile it is queued again
/// when the first worker calls <see cref="Done"/>. Delayed adds (<see cref="AddAfter"/>, <see cref="AddRateLimited"/>)
/// run on <see cref="TimeProvider"/> timers, so tests drive them with a fake clock. Items the queue's urgency test
/// picks when they are queued are handed out before all others, first in first out among themselves.
/// </summary>
internal sealed class WorkQueue<T> : IDisposable
    where T : notnull
{
    private readonly Lock _lock = new();
    private readonly Queue<T> _queue = new();
    private readonly Queue<T> _urgent = new();
    private readonly Func<T, bool>? _isUrgent;
    private readonly HashSet<T> _dirty = [];
    private readonly HashSet<T> _processing = [];
    private readonly Dictionary<T, (DateTimeOffset ReadyAt, ITimer Timer)> _waiting = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TimeProvider _time;
    private readonly ItemBackoff<T> _backoff;

    /// <param name="time">The clock of delayed adds.</param>
    /// <param name="backoff">The per-item backoff of <see cref="AddRateLimited"/>.</param>
    /// <param name="isUrgent">
    /// Whether an item goes ahead of the others; asked each time the item is queued (not when it is already waiting),
    /// outside the queue's lock.
    /// </param>
    public WorkQueue(TimeProvider time, ItemBackoff<T>? backoff = null, Func<T, bool>? isUrgent = null)
    {
        _time = time;
        _backoff = backoff ?? ItemBackoff<T>.Default();
        _isUrgent = isUrgent;
    }

    /// <summary>How many items wait to be handed out (delayed items not counted).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count + _urgent.Count;
            }
        }
    }

    /// <summary>How many items are queued or being processed (delayed items not counted).</summary>
    public int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count + _urgent.Count + _processing.Count;
            }
        }
    }

    /// <summary>How many items wait for their delay to pass.</summary>
    public int DelayedCount
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    public bool IsShutDown => _shutdown.IsCancellationRequested;

    public void Add(T item)
    {
        if (_isUrgent is not null)
        {
            lock (_lock)
            {
                if (_dirty.Contains(item))
                {
                    // Queued already: no need to ask (the common case of a key added again and again).
                    return;
                }
            }
        }

        var urgent = IsUrgent(item);
        lock (_lock)
        {
            if (_shutdown.IsCancellationRequested || !_dirty.Add(item))
            {
                return;
            }

            if (_processing.Contains(item))
            {
                // Queued again once the worker holding it is done.
                return;
            }

            (urgent ? _urgent : _queue).Enqueue(item);
        }

        _available.Release();
    }

    /// <summary>Adds the item once <paramref name="delay"/> has passed; of several pending delays the earliest wins.</summary>
    public void AddAfter(T item, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(item);
            return;
        }

        lock (_lock)
        {
            if (_shutdown.IsCancellationRequested)
            {
                return;
            }

            var readyAt = _time.GetUtcNow() + delay;
            if (_waiting.TryGetValue(item, out var pending))
            {
                if (pending.ReadyAt <= readyAt)
                {
                    return;
                }

                pending.Timer.Dispose();
            }

            var timer = _time.CreateTimer(_ => Fire(item), null, delay, Timeout.InfiniteTimeSpan);
            _waiting[item] = (readyAt, timer);
        }
    }

    /// <summary>Adds the item after its backoff: 5 ms, 10 ms, 20 ms, ... up to 1000 s, until <see cref="Forget"/>.</summary>
    public void AddRateLimited(T item) => AddAfter(item, _backoff.When(item));

    /// <summary>Resets the item's backoff (after a successful reconcile).</summary>
    public void Forget(T item) => _backoff.Forget(item);

    public int NumRequeues(T item) => _backoff.NumRequeues(item);

    /// <summary>Waits for an item; returns <c>(default, false)</c> once the queue is shut down.</summary>
    public async Task<(T Item, bool Ok)> GetAsync(CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _shutdown.Token);
        try
        {
            await _available.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            return (default!, false);
        }

        lock (_lock)
        {
            var item = _urgent.Count > 0 ? _urgent.Dequeue() : _queue.Dequeue();
            _dirty.Remove(item);
            _processing.Add(item);
            return (item, true);
        }
    }

    /// <summary>Marks the item processed; if it was added meanwhile, it is queued again.</summary>
    public void Done(T item)
    {
        lock (_lock)
        {
            if (!_dirty.Contains(item) || _shutdown.IsCancellationRequested)
            {
                _processing.Remove(item);
                return;
            }
        }

        var urgent = IsUrgent(item);
        lock (_lock)
        {
            _processing.Remove(item);
            if (!_dirty.Contains(item) || _shutdown.IsCancellationRequested)
            {
                return;
            }

            (urgent ? _urgent : _queue).Enqueue(item);
        }

        _available.Release();
    }

    /// <summary>Stops handing out items; waiting workers get <c>Ok == false</c>.</summary>
    public void ShutDown()
    {
        lock (_lock)
        {
            foreach (var (_, timer) in _waiting.Values)
            {
                timer.Dispose();
            }

            _waiting.Clear();
        }

        _shutdown.Cancel();
    }

    public void Dispose()
    {
        ShutDown();
        _shutdown.Dispose();
        _available.Dispose();
    }

    /// <summary>The urgency test; one that throws counts as not urgent, so the queue's state never depends on it.</summary>
    private bool IsUrgent(T item)
    {
        try
        {
            return _isUrgent?.Invoke(item) == true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    private void Fire(T item)
    {
        lock (_lock)
        {
            if (!_waiting.Remove(item, out var pending))
            {
                return;
            }

            pending.Timer.Dispose();
        }

        Add(item);
    }
}
