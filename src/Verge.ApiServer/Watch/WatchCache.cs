using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.Core.Meta;
using Verge.Store;

namespace Verge.ApiServer.Watch;

/// <summary>
/// Sits between the store and every watcher: one store watch over <c>/registry/</c> feeds a ring of recent events,
/// and each event is decoded and encoded once, then handed to the watchers of its kind whose filters match. A watch
/// that starts at a revision still in the ring is served from memory; older ones get 410 Gone, as from Kubernetes'
/// watch cache. At start the ring is filled from the history the store still keeps, so clients that reconnect after
/// a server restart resume instead of relisting. Thousands of watchers cost one store watch and one encoding per
/// change.
/// </summary>
internal sealed partial class WatchCache(
    IKeyValueStore store,
    ILogger<WatchCache> logger,
    int capacity = 100_000,
    TimeSpan? bookmarkInterval = null,
    TimeProvider? time = null) : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly CachedEvent?[] _ring = new CachedEvent?[capacity];
    private readonly Dictionary<ResourceType, HashSet<Watcher>> _watchers = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _next;
    private int _count;
    private long _revision;

    /// <summary>Every event after this revision is in the ring (or yet to come).</summary>
    private long _floor;
    private long _readyAt;

    /// <summary>The revision of the newest event dispatched (or the store's revision when the cache started).</summary>
    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>The number of live watchers (for metrics and tests).</summary>
    public int WatcherCount
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Values.SelectMany(l => l).Distinct().Count();
            }
        }
    }

    /// <summary>Completes once the cache follows the store.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Waits until the cache has dispatched every event up to <paramref name="revision"/>.</summary>
    public async Task WaitForRevisionAsync(long revision, CancellationToken ct)
    {
        await Ready.WaitAsync(ct);
        while (Revision < revision)
        {
            TaskCompletionSource waiter;
            lock (_lock)
            {
                if (_revision >= revision)
                {
                    return;
                }

                waiter = _revisionWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            await waiter.Task.WaitAsync(ct);
        }
    }

    private TaskCompletionSource? _revisionWaiter;

    /// <summary>
    /// Registers a watcher of <paramref name="type"/> for events after <paramref name="afterRevision"/>. Throws
    /// <see cref="RevisionCompactedException"/> when that revision is older than the ring holds.
    /// </summary>
    public Watcher Subscribe(ResourceType type, WatchFilter filter, long afterRevision, int bufferSize = 1000, bool allowBookmarks = false) =>
        Subscribe([type], filter, afterRevision, bufferSize, allowBookmarks);

    /// <summary>
    /// Registers one watcher of several kinds: it sees their events in revision order, as one stream (the node
    /// channel follows pods, ConfigMaps, Secrets and the gateway kinds together this way).
    /// </summary>
    public Watcher Subscribe(IReadOnlyList<ResourceType> types, WatchFilter filter, long afterRevision, int bufferSize = 1000, bool allowBookmarks = false)
    {
        lock (_lock)
        {
            if (afterRevision < _floor)
            {
                throw new RevisionCompactedException(afterRevision, _floor);
            }

            var watcher = new Watcher(this, types, filter, bufferSize, allowBookmarks);
            for (var i = FirstAfter(afterRevision); i < _count; i++)
            {
                var e = At(i);
                if (watcher.Types.Contains(e.Type) && !watcher.Offer(e))
                {
                    // More history than the watcher's buffer: it is closed at once and the client relists.
                    return watcher;
                }
            }

            foreach (var type in watcher.Types)
            {
                if (!_watchers.TryGetValue(type, out var list))
                {
                    _watchers[type] = list = [];
                }

                list.Add(watcher);
            }

            return watcher;
        }
    }

    /// <summary>The ring's event at logical position <paramref name="index"/> (0 is the oldest).</summary>
    private CachedEvent At(int index) => _ring[(_next - _count + index + _ring.Length) % _ring.Length]!;

    /// <summary>The logical position of the first event newer than <paramref name="revision"/> (binary search; the ring is in revision order).</summary>
    private int FirstAfter(long revision)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (At(mid).Revision <= revision)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    internal void Unsubscribe(Watcher watcher)
    {
        lock (_lock)
        {
            foreach (var type in watcher.Types)
            {
                if (_watchers.TryGetValue(type, out var list))
                {
                    list.Remove(watcher);
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var bookmarks = (time ?? TimeProvider.System).CreateTimer(
            _ => OfferBookmarks(), null, bookmarkInterval ?? TimeSpan.FromSeconds(10), bookmarkInterval ?? TimeSpan.FromSeconds(10));
        // Start from the oldest history the store keeps, so that watches from any revision it still has are
        // served; the cache is ready once it has caught up with the revision the store had at start.
        var current = await store.GetCurrentRevisionAsync(stoppingToken);
        var from = await store.GetCompactedRevisionAsync(stoppingToken);
        lock (_lock)
        {
            _floor = from;
            _readyAt = current;
            Interlocked.Exchange(ref _revision, from);
        }

        if (from >= current)
        {
            _ready.TrySetResult();
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in store.WatchAsync("/registry/", Revision, stoppingToken))
                {
                    Dispatch(e);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreException e)
            {
                // The store ended our watch (for example a full buffer); resume from the last revision dispatched.
                LogWatchRestart(logger, Revision, e.Message);
            }
        }
    }

    private void Dispatch(WatchEvent e)
    {
        var parsed = ParseKey(e.Current.Key);
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (parsed is { } p)
            {
                var cached = new CachedEvent(p.Type, p.Namespace, p.Name, e);
                if (_ring[_next] is { } evicted)
                {
                    _floor = evicted.Revision;
                }

                _ring[_next] = cached;
                _next = (_next + 1) % _ring.Length;
                _count = Math.Min(_count + 1, _ring.Length);
                if (_watchers.TryGetValue(p.Type, out var set))
                {
                    List<Watcher>? closed = null;
                    foreach (var watcher in set)
                    {
                        if (!watcher.Offer(cached))
                        {
                            (closed ??= []).Add(watcher);
                        }
                    }

                    closed?.ForEach(w =>
                    {
                        foreach (var type in w.Types)
                        {
                            _watchers.GetValueOrDefault(type)?.Remove(w);
                        }
                    });
                }
            }

            Interlocked.Exchange(ref _revision, e.Revision);
            waiter = _revisionWaiter;
            _revisionWaiter = null;
        }

        waiter?.TrySetResult();
        if (e.Revision >= _readyAt)
        {
            _ready.TrySetResult();
        }
    }

    /// <summary>Gives every watcher that allows bookmarks a bookmark marker; one timer serves them all.</summary>
    private void OfferBookmarks()
    {
        lock (_lock)
        {
            foreach (var set in _watchers.Values)
            {
                foreach (var watcher in set)
                {
                    watcher.OfferBookmark(_revision);
                }
            }
        }
    }

    /// <summary>Splits <c>/registry/{plural.group}/[{namespace}/]{name}</c> into its kind, namespace and name.</summary>
    internal static (ResourceType Type, string? Namespace, string Name)? ParseKey(string key)
    {
        var parts = key.Split('/');
        if (parts.Length < 4 || parts[1] != "registry")
        {
            return null;
        }

        var type = FindByGroupResource(parts[2]);
        if (type is null)
        {
            return null;
        }

        return type.Namespaced && parts.Length == 5 ? (type, parts[3], parts[4])
            : !type.Namespaced && parts.Length == 4 ? (type, null, parts[3])
            : null;
    }

    private static readonly Dictionary<string, ResourceType> ByGroupResource =
        ResourceCatalog.All.ToDictionary(t => t.GroupResource, StringComparer.Ordinal);

    private static ResourceType? FindByGroupResource(string groupResource) => ByGroupResource.GetValueOrDefault(groupResource);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Watch cache resumes from revision {Revision}: {Reason}")]
    private static partial void LogWatchRestart(ILogger logger, long revision, string reason);
}
