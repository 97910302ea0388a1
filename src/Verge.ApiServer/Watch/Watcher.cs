using System.Threading.Channels;
using Verge.Core.Meta;

namespace Verge.ApiServer.Watch;

/// <summary>
/// One client's watch: a bounded queue of the events that pass its filter, already translated to the type the
/// client sees (an update that makes an object stop matching a selector is a DELETED for this watcher). A watcher
/// that falls more than its buffer behind is closed, and its client resumes from its last revision, as with
/// Kubernetes.
/// </summary>
internal sealed class Watcher : IDisposable
{
    private readonly WatchCache _cache;
    private readonly Channel<(WatchFrameType Type, CachedEvent? Event, long Revision)> _queue;
    private readonly WatchFilter _filter;
    private readonly bool _allowBookmarks;

    internal Watcher(WatchCache cache, IReadOnlyList<ResourceType> types, WatchFilter filter, int bufferSize, bool allowBookmarks)
    {
        _cache = cache;
        Type = types[0];
        Types = new HashSet<ResourceType>(types);
        _filter = filter;
        _allowBookmarks = allowBookmarks;
        _queue = Channel.CreateBounded<(WatchFrameType, CachedEvent?, long)>(new BoundedChannelOptions(bufferSize)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The kind watched (the first, for a watcher of several kinds).</summary>
    public ResourceType Type { get; }

    /// <summary>Every kind watched.</summary>
    public IReadOnlySet<ResourceType> Types { get; }

    /// <summary>The events for this watcher; an item with a null event is a bookmark marker.</summary>
    public ChannelReader<(WatchFrameType Type, CachedEvent? Event, long Revision)> Events => _queue.Reader;

    /// <summary>
    /// Queues a bookmark at <paramref name="revision"/> when the watcher asked for bookmarks and is idle (it never
    /// closes the watcher). The cache calls this under its lock, so every event up to that revision is already queued.
    /// </summary>
    internal void OfferBookmark(long revision)
    {
        if (_allowBookmarks && _queue.Reader.Count == 0)
        {
            _queue.Writer.TryWrite((WatchFrameType.Bookmark, null, revision));
        }
    }

    /// <summary>Offers an event; returns false when the watcher is closed and should be dropped.</summary>
    internal bool Offer(CachedEvent e)
    {
        if (!_filter.MatchesKey(e.Namespace, e.Name))
        {
            return true;
        }

        WatchFrameType? frame;
        if (!_filter.NeedsObject)
        {
            frame = e.Kind switch
            {
                Store.WatchEventType.Created => WatchFrameType.Added,
                Store.WatchEventType.Modified => WatchFrameType.Modified,
                _ => WatchFrameType.Deleted,
            };
        }
        else
        {
            var now = e.Kind != Store.WatchEventType.Deleted && _filter.Matches(e.Type, e.Current);
            var before = e.Kind switch
            {
                Store.WatchEventType.Created => false,
                Store.WatchEventType.Deleted => _filter.Matches(e.Type, e.Current),
                _ => e.Previous is { } previous && _filter.Matches(e.Type, previous),
            };
            frame = (before, now) switch
            {
                (false, true) => WatchFrameType.Added,
                (true, true) => WatchFrameType.Modified,
                (true, false) => WatchFrameType.Deleted,
                _ => null,
            };
        }

        if (frame is null)
        {
            return true;
        }

        if (_queue.Writer.TryWrite((frame.Value, e, e.Revision)))
        {
            return true;
        }

        _queue.Writer.TryComplete();
        return false;
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _cache.Unsubscribe(this);
    }
}
