using System.Threading.Channels;

namespace Verge.Store.Watch;

/// <summary>
/// Fans committed events out to in-process watchers. One publisher at a time calls <see cref="Publish"/> with the
/// events of each commit in revision order; every subscriber gets the events under its prefix in a bounded buffer.
/// A subscriber whose buffer is full is ended with <see cref="WatchOverflowException"/>, so the publisher never waits
/// and no event is ever dropped silently.
/// </summary>
internal sealed class WatchHub(int capacity)
{
    private readonly Lock _gate = new();
    private WatchSubscription[] _subscriptions = [];
    private Exception? _closedReason;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int SubscriberCount => Volatile.Read(ref _subscriptions).Length;

    public WatchSubscription Subscribe(string prefix)
    {
        var subscription = new WatchSubscription(this, prefix, Capacity);
        lock (_gate)
        {
            if (_closedReason is not null)
            {
                subscription.End(_closedReason);
                return subscription;
            }

            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    /// <summary>Delivers one commit's events, in revision order. Callers serialize calls.</summary>
    public void Publish(IReadOnlyList<WatchEvent> events)
    {
        var subscriptions = Volatile.Read(ref _subscriptions);
        foreach (var subscription in subscriptions)
        {
            foreach (var watchEvent in events)
            {
                if (KeyOrder.HasPrefix(watchEvent.Current.Key, subscription.Prefix) && !subscription.Offer(watchEvent))
                {
                    Remove(subscription);
                    break;
                }
            }
        }
    }

    /// <summary>Ends every watch with <paramref name="reason"/> and refuses new ones.</summary>
    public void Close(Exception reason)
    {
        WatchSubscription[] subscriptions;
        lock (_gate)
        {
            _closedReason ??= reason;
            subscriptions = _subscriptions;
            _subscriptions = [];
        }

        foreach (var subscription in subscriptions)
        {
            subscription.End(reason);
        }
    }

    internal void Remove(WatchSubscription subscription)
    {
        lock (_gate)
        {
            int index = Array.IndexOf(_subscriptions, subscription);
            if (index >= 0)
            {
                _subscriptions = [.. _subscriptions.AsSpan(0, index), .. _subscriptions.AsSpan(index + 1)];
            }
        }
    }
}

/// <summary>One watcher's bounded buffer of live events.</summary>
internal sealed class WatchSubscription : IDisposable
{
    private readonly WatchHub _hub;
    private readonly Channel<WatchEvent> _channel;
    private readonly int _capacity;
    private long _lastQueuedRevision;

    public WatchSubscription(WatchHub hub, string prefix, int capacity)
    {
        _hub = hub;
        _capacity = capacity;
        Prefix = prefix;
        _channel = Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Prefix { get; }

    public ChannelReader<WatchEvent> Reader => _channel.Reader;

    internal bool Offer(WatchEvent watchEvent)
    {
        if (_channel.Writer.TryWrite(watchEvent))
        {
            _lastQueuedRevision = watchEvent.Revision;
            return true;
        }

        End(new WatchOverflowException(Prefix, _lastQueuedRevision, _capacity));
        return false;
    }

    internal void End(Exception reason) => _channel.Writer.TryComplete(reason);

    public void Dispose()
    {
        _hub.Remove(this);
        _channel.Writer.TryComplete();
    }
}
