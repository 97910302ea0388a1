using Verge.Cli.Output;

namespace Verge.Cli.Tests.Output;

public sealed class TerminalTests
{
    [Fact]
    public void WriteTable_WhenTerminal_RendersHeadersAndCellsInColumnOrder()
    {
        using var stdout = new StringWriter();
        var context = new CliContext { Out = stdout, Error = TextWriter.Null, OutIsTerminal = true };
        var columns = new[] { new TableColumn("Name", 0), new TableColumn("Status", 0) };
        var renderer = new TableRenderer(columns, new TableOptions(false, false));

        Terminal.WriteTable(context, renderer, [new TableRow(["factory", "Active"], null), new TableRow(["default", "Active"], null)]);

        var plain = System.Text.RegularExpressions.Regex.Replace(stdout.ToString(), "\u001b\\[[0-9;]*m", "");
        var lines = plain.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Contains("\u001b[1mNAME", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(3, lines.Count);
        Assert.Matches(@"NAME\s+STATUS", lines[0]);
        Assert.Matches(@"factory\s+Active", lines[1]);
        Assert.Matches(@"default\s+Active", lines[2]);
    }

    [Fact]
    public void WriteError_WhenRedirected_WritesThePlainLine()
    {
        using var stderr = new StringWriter();
        var context = new CliContext { Out = TextWriter.Null, Error = stderr };

        Terminal.WriteError(context, "error: [not markup]");

        Assert.Equal("error: [not markup]\n", stderr.ToString().Replace("\r\n", "\n"));
    }
}
