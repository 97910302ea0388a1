using Spectre.Console;
using Spectre.Console.Rendering;
using SpectreColumn = Spectre.Console.TableColumn;
using SpectreTable = Spectre.Console.Table;

namespace Verge.Cli.Output;

/// <summary>
/// Writes what the user sees: Spectre.Console tables and colour when the stream is a terminal, plain aligned text
/// when it is redirected (scripts, pipes, tests).
/// </summary>
internal static class Terminal
{
    public static void WriteTable(CliContext context, TableRenderer renderer, IReadOnlyList<TableRow> rows)
    {
        if (!context.OutIsTerminal)
        {
            foreach (var line in renderer.Render(rows))
            {
                context.Out.WriteLine(line);
            }

            return;
        }

        var table = new SpectreTable().NoBorder();
        table.ShowHeaders = !renderer.Options.NoHeaders;
        for (var i = 0; i < renderer.Headers.Count; i++)
        {
            var column = new SpectreColumn(new Markup($"[bold]{Markup.Escape(renderer.Headers[i])}[/]")).NoWrap();
            column.Padding = new Padding(0, 0, i == renderer.Headers.Count - 1 ? 0 : TableRenderer.Gap, 0);
            table.AddColumn(column);
        }

        foreach (var row in rows)
        {
            table.AddRow(renderer.Cells(row).Select(c => (IRenderable)new Text(c)).ToArray());
        }

        renderer.Measure(rows.Select(renderer.Cells));
        Console(context.Out).Write(table);
    }

    /// <summary>An error line on stderr, red on a terminal.</summary>
    public static void WriteError(CliContext context, string line)
    {
        if (context.ErrorIsTerminal)
        {
            Console(context.Error).MarkupLine($"[red]{Markup.Escape(line)}[/]");
            return;
        }

        context.Error.WriteLine(line);
    }

    /// <summary>A line of emphasis (a banner title) on stdout, bold on a terminal.</summary>
    public static void WriteTitle(CliContext context, string line)
    {
        if (context.OutIsTerminal)
        {
            Console(context.Out).MarkupLine($"[bold green]{Markup.Escape(line)}[/]");
            return;
        }

        context.Out.WriteLine(line);
    }

    private static IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = AnsiSupport.Detect,
        ColorSystem = ColorSystemSupport.Detect,
    });
}
