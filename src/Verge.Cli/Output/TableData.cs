using System.Globalization;
using System.Text.Json.Nodes;

namespace Verge.Cli.Output;

/// <summary>A column of a meta.k8s.io/v1 Table.</summary>
internal sealed record TableColumn(string Name, int Priority);

/// <summary>A row of a Table: its cells as text and the namespace of its object (from the row's metadata).</summary>
internal sealed record TableRow(IReadOnlyList<string> Cells, string? Namespace);

/// <summary>A meta.k8s.io/v1 Table as the server returns it, with cells turned into text.</summary>
internal sealed record TableData(IReadOnlyList<TableColumn> Columns, IReadOnlyList<TableRow> Rows)
{
    public static TableData Parse(JsonNode table)
    {
        var columns = (table["columnDefinitions"] as JsonArray ?? [])
            .Select(c => new TableColumn(
                c?["name"]?.GetValue<string>() ?? "",
                c?["priority"] is JsonValue p && p.TryGetValue<int>(out var priority) ? priority : 0))
            .ToList();
        var rows = (table["rows"] as JsonArray ?? [])
            .Select(r => new TableRow(
                (r?["cells"] as JsonArray ?? []).Select(CellText).ToList(),
                r?["object"]?["metadata"]?["namespace"]?.GetValue<string>()))
            .ToList();
        return new TableData(columns, rows);
    }

    private static string CellText(JsonNode? cell) => cell switch
    {
        null => "<none>",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        JsonValue v when v.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString(CultureInfo.InvariantCulture),
        JsonArray a => string.Join(",", a.Select(CellText)),
        _ => cell.ToJsonString(),
    };
}
