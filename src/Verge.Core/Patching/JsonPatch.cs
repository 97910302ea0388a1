using System.Globalization;
using System.Text.Json.Nodes;

namespace Verge.Core.Patching;

/// <summary>
/// JSON patch (RFC 6902, <c>application/json-patch+json</c>): an array of <c>add</c>, <c>remove</c>,
/// <c>replace</c>, <c>move</c>, <c>copy</c> and <c>test</c> operations addressed by JSON pointers. Operations apply
/// in order and all or nothing. Errors name the operation by its zero-based index, for example
/// <c>json patch operation 2 ("replace" /spec/foo): path not found</c>.
/// </summary>
public static class JsonPatch
{
    /// <summary>Returns <paramref name="target"/> with <paramref name="operations"/> applied; neither input is changed.</summary>
    /// <exception cref="PatchException">
    /// An operation is malformed (<see cref="PatchErrorKind.Malformed"/>), cannot be applied
    /// (<see cref="PatchErrorKind.CannotApply"/>) or is a <c>test</c> that failed (<see cref="PatchErrorKind.TestFailed"/>).
    /// </exception>
    public static JsonObject Apply(JsonObject target, JsonArray operations)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(operations);
        var decoded = new List<Operation>(operations.Count);
        for (var i = 0; i < operations.Count; i++)
        {
            decoded.Add(Decode(i, operations[i]));
        }

        var document = new Document(target.DeepClone());
        foreach (var operation in decoded)
        {
            document.Apply(operation);
        }

        if (document.Root is not JsonObject result)
        {
            throw new PatchException(
                $"json patch: the patched document must be an object, not {PatchNodes.Describe(document.Root)}",
                PatchErrorKind.CannotApply);
        }

        return result;
    }

    private static Operation Decode(int index, JsonNode? node)
    {
        if (node is not JsonObject op)
        {
            throw Malformed(index, "must be an object");
        }

        var name = ReadString(index, op, "op");
        var path = ReadString(index, op, "path");
        var operation = new Operation(index, name, path, Pointer(index, name, path, path));
        switch (name)
        {
            case "add" or "replace" or "test":
                if (!op.TryGetPropertyValue("value", out var value))
                {
                    throw Malformed(index, $"(\"{name}\" {path}) is missing \"value\"");
                }

                return operation with { Value = value };
            case "remove":
                return operation;
            case "move" or "copy":
                var from = ReadString(index, op, "from");
                return operation with { From = from, FromTokens = Pointer(index, name, path, from) };
            default:
                throw Malformed(index, $"has unknown op \"{name}\"");
        }
    }

    private static string ReadString(int index, JsonObject op, string field)
    {
        if (!op.TryGetPropertyValue(field, out var node) || node is not JsonValue value || !value.TryGetValue(out string? text))
        {
            throw Malformed(index, $"is missing the string field \"{field}\"");
        }

        return text;
    }

    private static string[] Pointer(int index, string name, string path, string pointer) =>
        JsonPointer.TryParse(pointer, out var tokens)
            ? tokens
            : throw new PatchException(
                $"json patch operation {index} (\"{name}\" {path}): \"{pointer}\" is not a JSON pointer",
                PatchErrorKind.Malformed);

    private static PatchException Malformed(int index, string problem) =>
        new($"json patch operation {index} {problem}", PatchErrorKind.Malformed);

    private sealed record Operation(int Index, string Name, string Path, string[] Tokens)
    {
        public JsonNode? Value { get; init; }

        public string From { get; init; } = "";

        public string[] FromTokens { get; init; } = [];

        public PatchException Fail(string problem, PatchErrorKind kind = PatchErrorKind.CannotApply) =>
            new($"json patch operation {Index} (\"{Name}\" {Path}): {problem}", kind);
    }

    /// <summary>The document being patched, held so that the root itself can be replaced.</summary>
    private sealed class Document(JsonNode? root)
    {
        public JsonNode? Root { get; private set; } = root;

        public void Apply(Operation op)
        {
            switch (op.Name)
            {
                case "add":
                    Add(op, op.Tokens, op.Value?.DeepClone());
                    break;
                case "remove":
                    Remove(op, op.Tokens);
                    break;
                case "replace":
                    Remove(op, op.Tokens);
                    Add(op, op.Tokens, op.Value?.DeepClone());
                    break;
                case "move":
                    if (IsProperPrefix(op.FromTokens, op.Tokens))
                    {
                        throw op.Fail($"cannot move \"{op.From}\" into its own child");
                    }

                    var moved = Remove(op, op.FromTokens, "from");
                    Add(op, op.Tokens, moved);
                    break;
                case "copy":
                    Add(op, op.Tokens, Get(op, op.FromTokens, "from")?.DeepClone());
                    break;
                case "test":
                    var actual = Get(op, op.Tokens, "path");
                    if (!JsonNode.DeepEquals(actual, op.Value))
                    {
                        throw op.Fail(
                            $"test failed: value is {PatchNodes.ToJson(actual)}, expected {PatchNodes.ToJson(op.Value)}",
                            PatchErrorKind.TestFailed);
                    }

                    break;
            }
        }

        private static bool IsProperPrefix(string[] prefix, string[] path) =>
            prefix.Length < path.Length && prefix.AsSpan().SequenceEqual(path.AsSpan(0, prefix.Length));

        private JsonNode? Get(Operation op, string[] tokens, string which)
        {
            if (tokens.Length == 0)
            {
                return Root;
            }

            var parent = Parent(op, tokens, which);
            var last = tokens[^1];
            switch (parent)
            {
                case JsonObject obj when obj.TryGetPropertyValue(last, out var value):
                    return value;
                case JsonArray array:
                    return array[Index(op, array, last, which, forInsert: false)];
                default:
                    throw op.Fail(which == "from" ? $"from path \"{op.From}\" not found" : "path not found");
            }
        }

        private void Add(Operation op, string[] tokens, JsonNode? value)
        {
            if (tokens.Length == 0)
            {
                Root = value;
                return;
            }

            var parent = Parent(op, tokens, "path");
            var last = tokens[^1];
            switch (parent)
            {
                case JsonObject obj:
                    obj[last] = value;
                    break;
                case JsonArray array:
                    var index = Index(op, array, last, "path", forInsert: true);
                    array.Insert(index, value);
                    break;
                default:
                    throw op.Fail("path not found");
            }
        }

        private JsonNode? Remove(Operation op, string[] tokens, string which = "path")
        {
            if (tokens.Length == 0)
            {
                if (op.Name == "replace")
                {
                    var old = Root;
                    Root = null;
                    return old;
                }

                throw op.Fail("cannot remove the whole document");
            }

            var notFound = which == "from" ? $"from path \"{op.From}\" not found" : "path not found";
            var parent = Parent(op, tokens, which);
            var last = tokens[^1];
            switch (parent)
            {
                case JsonObject obj when obj.TryGetPropertyValue(last, out var value):
                    obj.Remove(last);
                    return value;
                case JsonArray array:
                    var index = Index(op, array, last, which, forInsert: false);
                    var item = array[index];
                    array.RemoveAt(index);
                    return item;
                default:
                    throw op.Fail(notFound);
            }
        }

        /// <summary>The container holding the last token, or an error naming the missing path.</summary>
        private JsonNode Parent(Operation op, string[] tokens, string which)
        {
            var current = Root;
            for (var i = 0; i < tokens.Length - 1; i++)
            {
                current = current switch
                {
                    JsonObject obj when obj.TryGetPropertyValue(tokens[i], out var child) => child,
                    JsonArray array => array[Index(op, array, tokens[i], which, forInsert: false)],
                    _ => null,
                };
                if (current is null)
                {
                    break;
                }
            }

            return current is JsonObject or JsonArray
                ? current
                : throw op.Fail(which == "from" ? $"from path \"{op.From}\" not found" : "path not found");
        }

        private static int Index(Operation op, JsonArray array, string token, string which, bool forInsert)
        {
            if (token == "-" && forInsert)
            {
                return array.Count;
            }

            var valid = token.Length > 0 && token.All(char.IsAsciiDigit) && (token.Length == 1 || token[0] != '0');
            if (!valid || !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                throw op.Fail($"\"{token}\" is not a valid array index in {which}");
            }

            var limit = forInsert ? array.Count : array.Count - 1;
            if (index > limit)
            {
                throw op.Fail($"array index {index} is out of bounds (length {array.Count}) in {which}");
            }

            return index;
        }
    }
}
