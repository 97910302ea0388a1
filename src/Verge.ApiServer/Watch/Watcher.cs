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
    private readonly Channel<(WatchFrameType Type, CachedEvent Event)> _queue;
    private readonly WatchFilter _filter;

    internal Watcher(WatchCache cache, ResourceType type, WatchFilter filter, int bufferSize)
    {
        _cache = cache;
        Type = type;
        _filter = filter;
        _queue = Channel.CreateBounded<(WatchFrameType, CachedEvent)>(new BoundedChannelOptions(bufferSize)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public ResourceType Type { get; }

    /// <summary>Set when the watcher was closed because it fell behind.</summary>
    public bool Overflowed { get; private set; }

    public ChannelReader<(WatchFrameType Type, CachedEvent Event)> Events => _queue.Reader;

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

        if (_queue.Writer.TryWrite((frame.Value, e)))
        {
            return true;
        }

        Overflowed = true;
        _queue.Writer.TryComplete();
        return false;
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _cache.Unsubscribe(this);
    }
}
