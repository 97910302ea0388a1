using System.Text;

namespace Verge.Core.Rules;

/// <summary>
/// An MQTT topic filter: levels separated by '/', '+' matching exactly one level and '#' (last, alone in its level)
/// matching the rest, including nothing. As MQTT requires, a filter starting with a wildcard does not match topics
/// that start with '$'.
/// </summary>
public sealed class TopicFilter
{
    private readonly string[] _levels;

    private TopicFilter(string text, string[] levels)
    {
        Text = text;
        _levels = levels;
    }

    public string Text { get; }

    /// <summary>The number of levels, counting a trailing '#'.</summary>
    public int Levels => _levels.Length;

    /// <summary>Whether the filter ends with '#', so matched topics may have any number of levels from <see cref="Levels"/> - 1.</summary>
    public bool HasMultiLevelWildcard => _levels[^1] == "#";

    /// <summary>Parses and validates a filter; on failure returns null and says why.</summary>
    public static TopicFilter? TryParse(string text, out string? error, out int errorOffset)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = null;
        errorOffset = 0;
        if (text.Length == 0)
        {
            error = "topic filter must not be empty";
            return null;
        }

        if (Encoding.UTF8.GetByteCount(text) > 65535)
        {
            error = "topic filter is longer than 65535 bytes";
            return null;
        }

        var nul = text.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            error = "topic filter must not contain U+0000";
            errorOffset = nul;
            return null;
        }

        var levels = text.Split('/');
        var offset = 0;
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            var plus = level.IndexOf('+', StringComparison.Ordinal);
            if (plus >= 0 && level.Length != 1)
            {
                error = "'+' must occupy a whole level of the topic filter";
                errorOffset = offset + plus;
                return null;
            }

            var hash = level.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0 && (level.Length != 1 || i != levels.Length - 1))
            {
                error = "'#' must be the last level of the topic filter, alone";
                errorOffset = offset + hash;
                return null;
            }

            offset += level.Length + 1;
        }

        return new TopicFilter(text, levels);
    }

    /// <summary>Parses a filter or throws <see cref="FormatException"/>.</summary>
    public static TopicFilter Parse(string text) =>
        TryParse(text, out var error, out _) ?? throw new FormatException($"invalid topic filter '{text}': {error}");

    /// <summary>Whether <paramref name="topic"/> matches; allocation-free.</summary>
    public bool Matches(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (topic.Length > 0 && topic[0] == '$' && _levels[0] is "+" or "#")
        {
            return false;
        }

        var position = 0;
        for (var i = 0; i < _levels.Length; i++)
        {
            var level = _levels[i];
            if (level == "#")
            {
                return true;
            }

            if (position > topic.Length)
            {
                return false;
            }

            var end = topic.IndexOf('/', position);
            if (end < 0)
            {
                end = topic.Length;
            }

            if (level != "+" && !topic.AsSpan(position, end - position).SequenceEqual(level))
            {
                return false;
            }

            position = end + 1;
        }

        return position == topic.Length + 1;
    }

    /// <summary>The 1-based <paramref name="level"/> of <paramref name="topic"/>, or false if it has fewer levels.</summary>
    public static bool TryGetLevel(string topic, int level, out ReadOnlyMemory<char> segment)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var start = 0;
        for (var i = 1; i < level; i++)
        {
            var slash = topic.IndexOf('/', start);
            if (slash < 0)
            {
                segment = default;
                return false;
            }

            start = slash + 1;
        }

        var end = topic.IndexOf('/', start);
        segment = topic.AsMemory(start, (end < 0 ? topic.Length : end) - start);
        return true;
    }

    public override string ToString() => Text;
}
