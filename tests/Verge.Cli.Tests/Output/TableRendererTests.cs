using System.Text.Json.Nodes;
using Verge.Cli.Output;

namespace Verge.Cli.Tests.Output;

public sealed class TableRendererTests
{
    private static readonly TableData Table = TableData.Parse(JsonNode.Parse("""
        {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7"},
         "columnDefinitions":[
           {"name":"Name","type":"string","priority":0},
           {"name":"Ready","type":"string","priority":0},
           {"name":"Containers","type":"string","priority":1},
           {"name":"Age","type":"string","priority":0}],
         "rows":[
           {"cells":["edge-microservice","2/2","edge-microservice-container","5m"],
            "object":{"kind":"PartialObjectMetadata","metadata":{"name":"edge-microservice","namespace":"default"}}},
           {"cells":["db",true,null,"10d"],
            "object":{"kind":"PartialObjectMetadata","metadata":{"name":"db","namespace":"kube-system"}}}]}
        """)!);

    [Fact]
    public void Render_WhenNarrow_ShowsPriorityZeroColumnsAligned()
    {
        var lines = new TableRenderer(Table.Columns, new TableOptions(Wide: false, AllNamespaces: false)).Render(Table.Rows);

        Assert.Equal(
            [
                "NAME                READY   AGE",
                "edge-microservice   2/2     5m",
                "db                  true    10d",
            ],
            lines);
    }

    [Fact]
    public void Render_WhenWide_AddsPriorityOneColumns()
    {
        var lines = new TableRenderer(Table.Columns, new TableOptions(Wide: true, AllNamespaces: false)).Render(Table.Rows);

        Assert.Equal(
            [
                "NAME                READY   CONTAINERS                    AGE",
                "edge-microservice   2/2     edge-microservice-container   5m",
                "db                  true    <none>                        10d",
            ],
            lines);
    }

    [Fact]
    public void Render_WhenAllNamespaces_PutsNamespaceColumnFirst()
    {
        var lines = new TableRenderer(Table.Columns, new TableOptions(Wide: false, AllNamespaces: true)).Render(Table.Rows);

        Assert.Equal(
            [
                "NAMESPACE     NAME                READY   AGE",
                "default       edge-microservice   2/2     5m",
                "kube-system   db                  true    10d",
            ],
            lines);
    }

    [Fact]
    public void Render_WhenNoHeaders_OmitsHeaderAndSizesToCells()
    {
        var lines = new TableRenderer(Table.Columns, new TableOptions(false, false, NoHeaders: true)).Render(Table.Rows);

        Assert.Equal(["edge-microservice   2/2    5m", "db                  true   10d"], lines);
    }

    [Fact]
    public void Line_WhenLaterRowIsNarrower_KeepsEarlierColumnWidths()
    {
        var renderer = new TableRenderer(Table.Columns, new TableOptions(false, false));
        renderer.Render(Table.Rows);

        var line = renderer.Line(renderer.Cells(new TableRow(["x", "0/1", "c", "1s"], null)));

        Assert.Equal("x                   0/1     1s", line);
    }

    [Fact]
    public void NoResources_WhenNamespaced_NamesTheNamespace()
    {
        Assert.Equal("No resources found in default namespace.", TableRenderer.NoResources("default"));
        Assert.Equal("No resources found", TableRenderer.NoResources(null));
    }
}
