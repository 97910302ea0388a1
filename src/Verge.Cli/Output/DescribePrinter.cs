using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Verge.Cli.Output;

/// <summary>
/// The text of <c>verge describe</c>: Name, Namespace, Labels, Annotations and the other metadata worth reading, then
/// each remaining top-level field (spec, status, data, ...) flattened as indented <c>key: value</c> lines, and the
/// object's Events.
/// </summary>
internal static class DescribePrinter
{
    private const int LabelWidth = 20;
    private static readonly string[] EventHeaders = ["Type", "Reason", "Age", "From", "Message"];
    private static readonly string[] EventRules = ["----", "------", "----", "----", "-------"];

    public static string Render(JsonObject obj, IReadOnlyList<JsonObject>? events, DateTimeOffset now)
    {
        var text = new StringBuilder();
        var metadata = obj["metadata"] as JsonObject ?? [];
        Field(text, "Name", Str(metadata["name"]) ?? "");
        if (Str(metadata["namespace"]) is { } ns)
        {
            Field(text, "Namespace", ns);
        }

        Pairs(text, "Labels", metadata["labels"] as JsonObject, "=");
        Pairs(text, "Annotations", metadata["annotations"] as JsonObject, ": ");
        Field(text, "API Version", Str(obj["apiVersion"]) ?? "");
        Field(text, "Kind", Str(obj["kind"]) ?? "");
        if (Str(metadata["creationTimestamp"]) is { } created)
        {
            Field(text, "CreationTimestamp", created);
        }

        if (Str(metadata["deletionTimestamp"]) is { } deleting)
        {
            Field(text, "DeletionTimestamp", deleting);
        }

        if (metadata["ownerReferences"] is JsonArray { Count: > 0 } owners)
        {
            var names = owners.Select(o => $"{Str(o?["kind"])}/{Str(o?["name"])}");
            Field(text, "Controlled By", string.Join(", ", names));
        }

        foreach (var (key, value) in obj)
        {
            if (key is "apiVersion" or "kind" or "metadata")
            {
                continue;
            }

            var title = char.ToUpperInvariant(key[0]) + key[1..];
            if (value is JsonObject or JsonArray)
            {
                text.Append(title).Append(":\n");
                Nested(text, value, 2, hideValues: key == "data" && Str(obj["kind"]) == "Secret");
            }
            else
            {
                Field(text, title, Scalar(value));
            }
        }

        EventsSection(text, events, now);
        return text.ToString();
    }

    private static void EventsSection(StringBuilder text, IReadOnlyList<JsonObject>? events, DateTimeOffset now)
    {
        if (events is null || events.Count == 0)
        {
            Field(text, "Events", "<none>");
            return;
        }

        text.Append("Events:\n");
        var rows = new List<IReadOnlyList<string>> { EventHeaders, EventRules };
        foreach (var e in events.OrderBy(LastSeen))
        {
            var last = LastSeen(e);
            var count = e["count"] is JsonValue c && c.TryGetValue<int>(out var n) ? n : 1;
            var age = last is { } seen ? Age(now - seen) : "<unknown>";
            if (count > 1 && Timestamp(e["firstTimestamp"]) is { } first)
            {
                age = $"{age} (x{count} over {Age(now - first)})";
            }

            var from = Str(e["source"]?["component"]) ?? Str(e["reportingController"]) ?? "";
            rows.Add([Str(e["type"]) ?? "", Str(e["reason"]) ?? "", age, from, (Str(e["message"]) ?? "").Trim()]);
        }

        var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
        {
            var line = new StringBuilder("  ");
            for (var i = 0; i < row.Count; i++)
            {
                line.Append(i == row.Count - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            text.Append(line.ToString().TrimEnd()).Append('\n');
        }
    }

    private static DateTimeOffset? LastSeen(JsonObject e) =>
        Timestamp(e["lastTimestamp"]) ?? Timestamp(e["eventTime"]) ?? Timestamp(e["firstTimestamp"]) ?? Timestamp(e["metadata"]?["creationTimestamp"]);

    private static DateTimeOffset? Timestamp(JsonNode? node) =>
        Str(node) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>A short age as kubectl shows it: 45s, 3m12s, 5h, 2d3h, 400d.</summary>
    internal static string Age(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        var seconds = (long)span.TotalSeconds;
        var minutes = (long)span.TotalMinutes;
        var hours = (long)span.TotalHours;
        var days = (long)span.TotalDays;
        return seconds < 120 ? $"{seconds}s"
            : minutes < 10 ? (seconds % 60 == 0 ? $"{minutes}m" : $"{minutes}m{seconds % 60}s")
            : hours < 3 ? $"{minutes}m"
            : hours < 8 ? (minutes % 60 == 0 ? $"{hours}h" : $"{hours}h{minutes % 60}m")
            : hours < 48 ? $"{hours}h"
            : days < 8 ? (hours % 24 == 0 ? $"{days}d" : $"{days}d{hours % 24}h")
            : days < 730 ? $"{days}d"
            : $"{days / 365}y{days % 365}d";
    }

    private static void Field(StringBuilder text, string label, string value) =>
        text.Append((label + ":").PadRight(LabelWidth)).Append(value).Append('\n');

    private static void Pairs(StringBuilder text, string label, JsonObject? pairs, string separator)
    {
        if (pairs is null || pairs.Count == 0)
        {
            Field(text, label, "<none>");
            return;
        }

        var first = true;
        foreach (var (key, value) in pairs.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var line = key + separator + Scalar(value);
            if (first)
            {
                Field(text, label, line);
                first = false;
            }
            else
            {
                text.Append(new string(' ', LabelWidth)).Append(line).Append('\n');
            }
        }
    }

    /// <summary>A Secret value's length in bytes, as kubectl shows it: of the decoded value, not of its base64 text.</summary>
    private static int SecretLength(string base64)
    {
        var buffer = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, buffer, out var written) ? written : base64.Length;
    }

    private static void Nested(StringBuilder text, JsonNode? node, int indent, bool hideValues = false)
    {
        var pad = new string(' ', indent);
        switch (node)
        {
            case JsonObject { Count: 0 }:
                text.Append(pad).Append("<none>\n");
                break;
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (value is JsonObject { Count: > 0 } or JsonArray { Count: > 0 })
                    {
                        text.Append(pad).Append(key).Append(":\n");
                        Nested(text, value, value is JsonArray ? indent : indent + 2);
                    }
                    else
                    {
                        var shown = hideValues ? $"{SecretLength(Scalar(value))} bytes" : Scalar(value);
                        text.Append(pad).Append(key).Append(": ").Append(shown).Append('\n');
                    }
                }

                break;
            case JsonArray { Count: 0 }:
                text.Append(pad).Append("<none>\n");
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is JsonObject { Count: > 0 } or JsonArray { Count: > 0 })
                    {
                        var start = text.Length;
                        Nested(text, item, indent + 2);
                        text[start + indent] = '-';
                    }
                    else
                    {
                        text.Append(pad).Append("- ").Append(Scalar(item)).Append('\n');
                    }
                }

                break;
            default:
                text.Append(pad).Append(Scalar(node)).Append('\n');
                break;
        }
    }

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "<nil>",
        JsonObject { Count: 0 } => "{}",
        JsonArray { Count: 0 } => "[]",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => node.ToJsonString(),
    };

    private static string? Str(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
