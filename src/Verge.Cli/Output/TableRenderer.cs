using System.Globalization;
using System.Text;

namespace Verge.Cli.Output;

/// <summary>How <c>verge get</c> shows a Table.</summary>
internal sealed record TableOptions(bool Wide, bool AllNamespaces, bool NoHeaders = false);

/// <summary>
/// Lays a Table out as kubectl does: upper-case headers, priority-1 columns only when wide, a NAMESPACE column first
/// for all namespaces, and columns padded to their widest cell with three spaces between them.
/// </summary>
internal sealed class TableRenderer
{
    public const int Gap = 3;

    private readonly List<int> _visible = [];
    private readonly int[] _widths;

    public TableRenderer(IReadOnlyList<TableColumn> columns, TableOptions options)
    {
        Options = options;
        var headers = new List<string>();
        if (options.AllNamespaces)
        {
            headers.Add("NAMESPACE");
        }

        for (var i = 0; i < columns.Count; i++)
        {
            if (columns[i].Priority == 0 || options.Wide)
            {
                _visible.Add(i);
                headers.Add(columns[i].Name.ToUpperInvariant());
            }
        }

        Headers = headers;
        _widths = [.. headers.Select(h => options.NoHeaders ? 0 : h.Length)];
    }

    public TableOptions Options { get; }

    public IReadOnlyList<string> Headers { get; }

    /// <summary>The visible cells of a row, NAMESPACE first when showing all namespaces.</summary>
    public IReadOnlyList<string> Cells(TableRow row)
    {
        var cells = new List<string>(Headers.Count);
        if (Options.AllNamespaces)
        {
            cells.Add(row.Namespace ?? "");
        }

        foreach (var i in _visible)
        {
            cells.Add(i < row.Cells.Count ? row.Cells[i] : "");
        }

        return cells;
    }

    /// <summary>Widens the columns to fit <paramref name="rows"/>; later lines keep at least these widths.</summary>
    public void Measure(IEnumerable<IReadOnlyList<string>> rows)
    {
        foreach (var row in rows)
        {
            for (var i = 0; i < _widths.Length && i < row.Count; i++)
            {
                _widths[i] = Math.Max(_widths[i], row[i].Length);
            }
        }
    }

    /// <summary>One padded line; the last column is not padded.</summary>
    public string Line(IReadOnlyList<string> cells)
    {
        Measure([cells]);
        var line = new StringBuilder();
        for (var i = 0; i < cells.Count; i++)
        {
            if (i == cells.Count - 1)
            {
                line.Append(cells[i]);
            }
            else
            {
                line.Append(cells[i].PadRight(_widths[i] + Gap));
            }
        }

        return line.ToString().TrimEnd();
    }

    /// <summary>The whole table as lines: header (unless suppressed) then one line per row.</summary>
    public IReadOnlyList<string> Render(IReadOnlyList<TableRow> rows)
    {
        var cells = rows.Select(Cells).ToList();
        Measure(cells);
        var lines = new List<string>(cells.Count + 1);
        if (!Options.NoHeaders)
        {
            lines.Add(Line(Headers));
        }

        lines.AddRange(cells.Select(Line));
        return lines;
    }

    /// <summary>kubectl's message when a list is empty.</summary>
    public static string NoResources(string? ns) =>
        ns is null ? "No resources found" : string.Create(CultureInfo.InvariantCulture, $"No resources found in {ns} namespace.");
}
