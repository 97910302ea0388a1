namespace Verge.Store.Sqlite;

/// <summary>
/// The newest value of keys the writer has written since the store opened, so that a read of a key written lately
/// (the read every update starts with) needs no SQLite statement. Only the writer fills it, after its batch has
/// committed and before the batch's events or results are handed out, so a read never sees a value older than a
/// write it could know of. A key it does not hold is read from SQLite. When it holds <c>capacity</c> keys it starts
/// empty again: keys written often come back with their next write, and a fleet's heartbeats, which write every Lease
/// in turn, keep their hits as long as the capacity exceeds the fleet (an eviction in write order would miss them all).
/// </summary>
internal sealed class LatestValues(int capacity)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, KeyValue> _values = new(StringComparer.Ordinal);

    public bool TryGet(string key, out KeyValue? value)
    {
        if (capacity == 0)
        {
            value = null;
            return false;
        }

        lock (_lock)
        {
            bool found = _values.TryGetValue(key, out var held);
            value = held;
            return found;
        }
    }

    /// <summary>Records a committed batch's outcomes, in commit order.</summary>
    public void Record(List<WatchEvent> events)
    {
        if (capacity == 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var change in events)
            {
                var kv = change.Current;
                if (change.Type == WatchEventType.Deleted)
                {
                    _values.Remove(kv.Key);
                    continue;
                }

                if (_values.Count >= capacity && !_values.ContainsKey(kv.Key))
                {
                    _values.Clear();
                }

                _values[kv.Key] = kv;
            }
        }
    }
}
