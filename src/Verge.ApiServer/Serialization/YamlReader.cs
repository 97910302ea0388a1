using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Verge.ApiServer.Serialization;

/// <summary>
/// Turns YAML (one or many documents) into JSON trees, as Kubernetes does with YAML request bodies and manifest
/// files. Scalars follow the YAML 1.2 core schema (plain <c>true</c>, <c>false</c>, <c>null</c>, <c>~</c>, numbers;
/// anything quoted is a string). Hostile input is refused with <see cref="YamlFormatException"/>: nesting deeper than
/// <see cref="MaxDepth"/>, and aliases that would expand past <see cref="MaxAliasExpansion"/> nodes (the
/// "billion laughs" bomb).
/// </summary>
public static partial class YamlReader
{
    public const int MaxDepth = 100;
    public const int MaxAliasExpansion = 10_000;

    /// <summary>Every non-empty document of the stream, in order.</summary>
    public static List<JsonNode> ReadDocuments(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var documents = new List<JsonNode>();
        try
        {
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                var state = new State();
                JsonNode? root = null;
                if (!parser.Accept<DocumentEnd>(out _))
                {
                    root = ReadNode(parser, state, 0);
                }

                parser.Consume<DocumentEnd>();
                if (root is not null)
                {
                    documents.Add(root);
                }
            }

            parser.Consume<StreamEnd>();
        }
        catch (YamlException e)
        {
            throw new YamlFormatException($"yaml: line {e.Start.Line}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // The parser reports some truncated documents (an unclosed flow collection at the end) this way.
            throw new YamlFormatException($"yaml: {e.Message}", e);
        }

        return documents;
    }

    /// <summary>The single document of <paramref name="yaml"/>; more than one is an error.</summary>
    public static JsonNode? ReadSingle(string yaml)
    {
        var documents = ReadDocuments(yaml);
        return documents.Count switch
        {
            0 => null,
            1 => documents[0],
            _ => throw new YamlFormatException("yaml: expected a single document, found " + documents.Count),
        };
    }

    private static JsonNode? ReadNode(IParser parser, State state, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new YamlFormatException($"yaml: exceeded max depth of {MaxDepth}");
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!state.Anchors.TryGetValue(alias.Value.Value, out var target))
            {
                throw new YamlFormatException($"yaml: line {alias.Start.Line}: unknown anchor '{alias.Value.Value}' referenced");
            }

            state.AliasBudget -= CountNodes(target);
            if (state.AliasBudget < 0)
            {
                throw new YamlFormatException("yaml: document contains excessive aliasing");
            }

            return target?.DeepClone();
        }

        JsonNode? node;
        AnchorName anchor;
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            anchor = scalar.Anchor;
            node = ConvertScalar(scalar);
        }
        else if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            anchor = sequenceStart.Anchor;
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                array.Add(ReadNode(parser, state, depth + 1));
            }

            node = array;
        }
        else if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            anchor = mappingStart.Anchor;
            var map = new JsonObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyStart = parser.Current?.Start ?? Mark.Empty;
                var key = ReadNode(parser, state, depth + 1);
                var keyText = key switch
                {
                    null => "null",
                    JsonValue v => v.ToString(),
                    _ => throw new YamlFormatException($"yaml: line {keyStart.Line}: mapping keys must be scalars"),
                };
                var value = ReadNode(parser, state, depth + 1);
                if (keyText == "<<" && value is JsonObject merge)
                {
                    foreach (var (k, v) in merge)
                    {
                        if (!map.ContainsKey(k))
                        {
                            map[k] = v?.DeepClone();
                        }
                    }

                    continue;
                }

                if (map.ContainsKey(keyText))
                {
                    throw new YamlFormatException($"yaml: line {keyStart.Line}: key \"{keyText}\" already set in map");
                }

                map[keyText] = value;
            }

            node = map;
        }
        else
        {
            var current = parser.Current;
            throw new YamlFormatException($"yaml: line {current?.Start.Line}: unexpected {current?.GetType().Name}");
        }

        if (!anchor.IsEmpty)
        {
            state.Anchors[anchor.Value] = node;
        }

        return node;
    }

    private static int CountNodes(JsonNode? node) => node switch
    {
        JsonObject o => 1 + o.Sum(p => CountNodes(p.Value)),
        JsonArray a => 1 + a.Sum(CountNodes),
        _ => 1,
    };

    private static JsonValue? ConvertScalar(Scalar scalar)
    {
        var text = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        if (scalar.Tag.IsEmpty is false && scalar.Tag.Value == "tag:yaml.org,2002:str")
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return JsonValue.Create(real);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    private sealed class State
    {
        public Dictionary<string, JsonNode?> Anchors { get; } = new(StringComparer.Ordinal);

        public int AliasBudget { get; set; } = MaxAliasExpansion;
    }
}

/// <summary>YAML that cannot be read, or that is refused as hostile.</summary>
public sealed class YamlFormatException(string message, Exception? inner = null) : FormatException(message, inner);
