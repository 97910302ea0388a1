namespace Verge.Controllers.Runtime;

/// <summary>
/// A bounded map of string keys that forgets the least recently used entry when full. Not thread-safe: callers hold
/// their own lock.
/// </summary>
internal sealed class LruCache<TValue>(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, TValue Value)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, TValue Value)> _recent = new();

    /// <summary>The value under <paramref name="key"/>, which becomes the most recently used.</summary>
    public bool TryGet(string key, out TValue value)
    {
        if (!_entries.TryGetValue(key, out var node))
        {
            value = default!;
            return false;
        }

        _recent.Remove(node);
        _recent.AddFirst(node);
        value = node.Value.Value;
        return true;
    }

    /// <summary>Sets the value under <paramref name="key"/> as the most recently used, forgetting the oldest when full.</summary>
    public void Set(string key, TValue value)
    {
        if (_entries.Remove(key, out var stale))
        {
            _recent.Remove(stale);
        }

        _entries[key] = _recent.AddFirst((key, value));
        if (_entries.Count > capacity)
        {
            _entries.Remove(_recent.Last!.Value.Key);
            _recent.RemoveLast();
        }
    }
}
