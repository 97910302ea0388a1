using System.Text;
using System.Text.Json;

namespace Verge.Core.Rules;

/// <summary>
/// Reads only the referenced field paths out of a UTF-8 JSON payload in one forward pass with
/// <see cref="Utf8JsonReader"/>, skipping every other subtree. The whole payload is still checked to be one valid
/// JSON value. Numbers cost no allocation; strings, objects and arrays that are referenced are copied.
/// </summary>
internal sealed class FieldExtractor
{
    private const int MaxDepth = 64;
    private readonly PathNode _root = new();

    /// <summary>Registers a path and returns its slot; the same path gets the same slot.</summary>
    public int Add(IReadOnlyList<PathSegment> path, int nextSlot)
    {
        var node = _root;
        foreach (var segment in path)
        {
            node = node.Child(segment);
        }

        if (node.Slot < 0)
        {
            node.Slot = nextSlot;
        }

        return node.Slot;
    }

    /// <summary>Fills <paramref name="fields"/> (all reset to missing first); false when the payload is not JSON.</summary>
    public bool TryExtract(ReadOnlySpan<byte> payload, RuleValue[] fields)
    {
        Array.Clear(fields);
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read())
            {
                return false;
            }

            ReadValue(ref reader, payload, _root, fields);
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void ReadValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> payload, PathNode node, RuleValue[] fields)
    {
        var token = reader.TokenType;
        if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            var start = (int)reader.TokenStartIndex;
            if (token == JsonTokenType.StartObject && node.Names.Count > 0)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var child = node.Find(ref reader);
                    reader.Read();
                    if (child is null)
                    {
                        reader.Skip();
                    }
                    else
                    {
                        ReadValue(ref reader, payload, child, fields);
                    }
                }
            }
            else if (token == JsonTokenType.StartArray && node.Indexes.Count > 0)
            {
                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var child = node.Find(index++);
                    if (child is null)
                    {
                        reader.Skip();
                    }
                    else
                    {
                        ReadValue(ref reader, payload, child, fields);
                    }
                }
            }
            else
            {
                reader.Skip();
            }

            if (node.Slot >= 0)
            {
                fields[node.Slot] = RuleValue.FromJson(payload[start..(int)reader.BytesConsumed].ToArray());
            }

            return;
        }

        if (node.Slot < 0)
        {
            return;
        }

        fields[node.Slot] = token switch
        {
            JsonTokenType.Number => reader.TryGetDouble(out var number) && double.IsFinite(number)
                ? RuleValue.FromNumber(number)
                : RuleValue.FromJson(reader.ValueSpan.ToArray()),
            JsonTokenType.String => RuleValue.FromString(reader.GetString()!),
            JsonTokenType.True => RuleValue.True,
            JsonTokenType.False => RuleValue.False,
            _ => RuleValue.Null,
        };
    }

    private sealed class PathNode
    {
        public int Slot { get; set; } = -1;

        public List<(byte[] Name, PathNode Node)> Names { get; } = [];

        public List<(int Index, PathNode Node)> Indexes { get; } = [];

        public PathNode Child(PathSegment segment)
        {
            if (segment.Name is { } name)
            {
                var utf8 = Encoding.UTF8.GetBytes(name);
                foreach (var (existing, node) in Names)
                {
                    if (existing.AsSpan().SequenceEqual(utf8))
                    {
                        return node;
                    }
                }

                var added = new PathNode();
                Names.Add((utf8, added));
                return added;
            }

            foreach (var (index, node) in Indexes)
            {
                if (index == segment.Index)
                {
                    return node;
                }
            }

            var child = new PathNode();
            Indexes.Add((segment.Index, child));
            return child;
        }

        public PathNode? Find(ref Utf8JsonReader reader)
        {
            foreach (var (name, node) in Names)
            {
                if (reader.ValueTextEquals(name))
                {
                    return node;
                }
            }

            return null;
        }

        public PathNode? Find(int index)
        {
            foreach (var (i, node) in Indexes)
            {
                if (i == index)
                {
                    return node;
                }
            }

            return null;
        }
    }
}
