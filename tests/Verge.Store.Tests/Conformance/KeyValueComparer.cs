namespace Verge.Store.Tests.Conformance;

/// <summary>Compares key-values by content (the record's own equality compares the memory's identity).</summary>
internal sealed class KeyValueComparer : IEqualityComparer<KeyValue?>
{
    public static KeyValueComparer Instance { get; } = new();

    public bool Equals(KeyValue? x, KeyValue? y) =>
        x is null || y is null
            ? x is null && y is null
            : x.Key == y.Key && x.CreateRevision == y.CreateRevision && x.ModRevision == y.ModRevision &&
              x.Value.Span.SequenceEqual(y.Value.Span);

    public int GetHashCode(KeyValue? obj) => obj is null ? 0 : HashCode.Combine(obj.Key, obj.ModRevision);
}
