namespace Verge.Store;

/// <summary>
/// Key ordering shared by every backend: keys compare as their UTF-8 bytes do (what etcd and SQLite's BINARY
/// collation do), which for valid strings is Unicode code point order.
/// </summary>
public static class KeyOrder
{
    /// <summary>Compares strings in UTF-8 byte order (code point order), not UTF-16 code unit order.</summary>
    public static IComparer<string> Comparer { get; } = new Utf8OrderComparer();

    /// <summary>Compares two keys in UTF-8 byte order.</summary>
    public static int Compare(string? x, string? y) => Comparer.Compare(x, y);

    /// <summary>Whether <paramref name="key"/> lies under <paramref name="prefix"/>.</summary>
    public static bool HasPrefix(string key, string prefix)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>
    /// The smallest key greater than every key that starts with <paramref name="prefix"/>, so that
    /// <c>prefix &lt;= key &lt; end</c> selects the prefix as a range; null when there is no upper bound.
    /// </summary>
    public static string? PrefixEnd(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var end = prefix;
        while (end.Length > 0)
        {
            int last = end.Length - 1;
            char c = end[last];
            if (char.IsLowSurrogate(c) && last > 0 && char.IsHighSurrogate(end[last - 1]))
            {
                int codePoint = char.ConvertToUtf32(end[last - 1], c);
                if (codePoint < 0x10FFFF)
                {
                    return string.Concat(end.AsSpan(0, last - 1), char.ConvertFromUtf32(codePoint + 1));
                }

                end = end[..(last - 1)];
                continue;
            }

            if (c == '\uFFFF')
            {
                return string.Concat(end.AsSpan(0, last), char.ConvertFromUtf32(0x10000));
            }

            char next = c == '\uD7FF' ? '\uE000' : (char)(c + 1);
            return string.Concat(end.AsSpan(0, last), new ReadOnlySpan<char>(in next));
        }

        return null;
    }

    private sealed class Utf8OrderComparer : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null)
            {
                return -1;
            }

            if (y is null)
            {
                return 1;
            }

            int length = Math.Min(x.Length, y.Length);
            for (int i = 0; i < length; i++)
            {
                char a = x[i];
                char b = y[i];
                if (a != b)
                {
                    return Weight(a).CompareTo(Weight(b));
                }
            }

            return x.Length.CompareTo(y.Length);
        }

        // Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF in code point order; shift them up.
        private static int Weight(char c) => char.IsSurrogate(c) ? c + 0x10000 : c;
    }
}
