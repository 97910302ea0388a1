using System.Text;
using Verge.ApiServer.Registry;
using Verge.Core.Meta;
using Verge.Store;

namespace Verge.ApiServer.Watch;

/// <summary>
/// One change as the watch cache keeps it: decoded once, encoded once. The object bytes carry their
/// resourceVersion; the typed objects (for selector filtering and Table rows) and the JSON watch frames are built
/// on first use and shared by every watcher.
/// </summary>
internal sealed class CachedEvent
{
    private readonly byte[] _current;
    private readonly ReadOnlyMemory<byte>? _previous;
    private readonly long _previousRevision;
    private KubeObject? _currentObject;
    private KubeObject? _previousObject;
    private byte[]?[]? _frames;

    public CachedEvent(ResourceType type, string? ns, string name, WatchEvent e)
    {
        Type = type;
        Namespace = ns;
        Name = name;
        Kind = e.Type;
        Revision = e.Revision;
        _current = ObjectCodec.WithResourceVersion(e.Current.Value.Span, e.Revision);
        if (e.Previous is { } previous)
        {
            // The store's bytes are never changed once written, so they are kept as they are, not copied.
            _previous = previous.Value;
            _previousRevision = previous.ModRevision;
        }
    }

    public ResourceType Type { get; }

    public string? Namespace { get; }

    public string Name { get; }

    public WatchEventType Kind { get; }

    public long Revision { get; }

    /// <summary>
    /// The object after the change (for a delete: its last state), with resourceVersion = the event's revision. The
    /// event owns these bytes and never changes them, so they may be kept.
    /// </summary>
    public ReadOnlyMemory<byte> CurrentJson => _current;

    public KubeObject Current => _currentObject ??= ObjectCodec.Decode(Type, _current, Revision);

    public KubeObject? Previous => _previous is not { } previous ? null : _previousObject ??= ObjectCodec.Decode(Type, previous.Span, _previousRevision);

    /// <summary>The watch frame <c>{"type":"...","object":{...}}\n</c> for this event, built once per type word.</summary>
    public byte[] Frame(WatchFrameType frameType)
    {
        var frames = _frames ??= new byte[]?[3];
        var index = (int)frameType;
        if (frames[index] is { } cached)
        {
            return cached;
        }

        var head = Encoding.UTF8.GetBytes($"{{\"type\":\"{frameType.ToWord()}\",\"object\":");
        var frame = new byte[head.Length + _current.Length + 2];
        head.CopyTo(frame, 0);
        _current.CopyTo(frame, head.Length);
        frame[^2] = (byte)'}';
        frame[^1] = (byte)'\n';
        frames[index] = frame;
        return frame;
    }
}

/// <summary>The event types a watch stream carries.</summary>
internal enum WatchFrameType
{
    Added,
    Modified,
    Deleted,

    /// <summary>A progress marker with only a resourceVersion (never cached per event).</summary>
    Bookmark,
}

internal static class WatchFrameTypeExtensions
{
    public static string ToWord(this WatchFrameType type) => type switch
    {
        WatchFrameType.Added => "ADDED",
        WatchFrameType.Modified => "MODIFIED",
        WatchFrameType.Bookmark => "BOOKMARK",
        _ => "DELETED",
    };
}
