using System.Text;
using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>
/// A path to one field in an object, as server-side apply tracks ownership: a sequence of elements in Kubernetes'
/// FieldsV1 spelling, <c>f:name</c> for a field, <c>k:{"name":"a"}</c> for a list item found by its merge key and
/// <c>v:"x"</c> for an item of a set.
/// </summary>
internal sealed class FieldPath : IEquatable<FieldPath>
{
    private readonly string[] _elements;
    private readonly int _hash;

    public FieldPath(IEnumerable<string> elements)
        : this(elements.ToArray())
    {
    }

    private FieldPath(string[] elements)
    {
        _elements = elements;
        var hash = new HashCode();
        foreach (var element in elements)
        {
            hash.Add(element, StringComparer.Ordinal);
        }

        _hash = hash.ToHashCode();
    }

    public static FieldPath Root { get; } = new([]);

    public IReadOnlyList<string> Elements => _elements;

    public int Length => _elements.Length;

    public FieldPath? Parent => _elements.Length == 0 ? null : new FieldPath(_elements[..^1]);

    public FieldPath Field(string name) => Append("f:" + name);

    public FieldPath Key(string key, JsonNode value) => Append("k:" + PatchNodes.ToJson(new JsonObject { [key] = value.DeepClone() }));

    public FieldPath Value(JsonNode? value) => Append("v:" + PatchNodes.ToJson(value));

    public FieldPath Append(string element) => new([.. _elements, element]);

    public bool StartsWith(FieldPath prefix) =>
        prefix._elements.Length <= _elements.Length
        && _elements.AsSpan(0, prefix._elements.Length).SequenceEqual(prefix._elements);

    /// <summary>Every proper and improper prefix of this path except the root, shortest first.</summary>
    public IEnumerable<FieldPath> Prefixes()
    {
        for (var i = 1; i <= _elements.Length; i++)
        {
            yield return new FieldPath(_elements[..i]);
        }
    }

    public bool Equals(FieldPath? other) =>
        other is not null && _hash == other._hash && _elements.AsSpan().SequenceEqual(other._elements);

    public override bool Equals(object? obj) => obj is FieldPath other && Equals(other);

    public override int GetHashCode() => _hash;

    /// <summary>The path as Kubernetes prints it in conflicts: <c>.spec.template.spec.containers[name="a"].image</c>.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder();
        foreach (var element in _elements)
        {
            var body = element.Length > 2 ? element[2..] : "";
            switch (element[..Math.Min(2, element.Length)])
            {
                case "f:":
                    builder.Append('.').Append(body);
                    break;
                case "k:" when JsonNode.Parse(body) is JsonObject key:
                    builder.Append('[')
                        .AppendJoin(',', key.Select(pair => $"{pair.Key}={PatchNodes.ToJson(pair.Value)}"))
                        .Append(']');
                    break;
                case "v:":
                    builder.Append("[=").Append(body).Append(']');
                    break;
                case "i:":
                    builder.Append('[').Append(body).Append(']');
                    break;
                default:
                    builder.Append('[').Append(element).Append(']');
                    break;
            }
        }

        return builder.ToString();
    }

    /// <summary>Encodes a set of paths as a FieldsV1 object: each path a nested key, <c>"."</c> marking a member with children.</summary>
    public static JsonObject ToFieldsV1(IEnumerable<FieldPath> paths)
    {
        var root = new Node();
        foreach (var path in paths)
        {
            var node = root;
            foreach (var element in path._elements)
            {
                node = node.Child(element);
            }

            node.Member = true;
        }

        return root.Encode();
    }

    /// <summary>Decodes a FieldsV1 object into its member paths.</summary>
    public static HashSet<FieldPath> FromFieldsV1(JsonObject? fields)
    {
        var set = new HashSet<FieldPath>();
        if (fields is not null)
        {
            Decode(fields, Root, set);
        }

        return set;
    }

    private static void Decode(JsonObject fields, FieldPath at, HashSet<FieldPath> set)
    {
        foreach (var (key, value) in fields)
        {
            if (key == ".")
            {
                if (at.Length > 0)
                {
                    set.Add(at);
                }

                continue;
            }

            var child = at.Append(key);
            if (value is JsonObject { Count: > 0 } children)
            {
                Decode(children, child, set);
            }
            else
            {
                set.Add(child);
            }
        }
    }

    private sealed class Node
    {
        private readonly SortedDictionary<string, Node> _children = new(StringComparer.Ordinal);

        public bool Member { get; set; }

        public Node Child(string element)
        {
            if (!_children.TryGetValue(element, out var child))
            {
                child = new Node();
                _children[element] = child;
            }

            return child;
        }

        public JsonObject Encode()
        {
            var result = new JsonObject();
            if (Member && _children.Count > 0)
            {
                result["."] = new JsonObject();
            }

            foreach (var (element, child) in _children)
            {
                result[element] = child.Encode();
            }

            return result;
        }
    }
}
