using Verge.Cli.Manifests;

namespace Verge.Cli.Tests.Manifests;

public sealed class ManifestLoaderTests : IDisposable
{
    private readonly CliHarness _harness = new();

    private const string TwoDocuments = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: factory
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: factory
        data:
          mode: fast
        """;

    [Fact]
    public void Parse_WhenSeveralDocumentsAndList_ReturnsEveryObject()
    {
        var objects = ManifestLoader.Parse(TwoDocuments + """

            ---
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
            """, "x.yaml");

        Assert.Equal(["factory", "settings", "a", "b"], objects.Select(o => o.Name));
        Assert.Equal("factory", objects[1].Namespace);
        Assert.Null(objects[0].Namespace);
    }

    [Fact]
    public async Task LoadAsync_WhenDirectory_ReadsYamlYmlAndJsonFilesInOrder()
    {
        _harness.WriteFile("m/b.yml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}");
        _harness.WriteFile("m/a.json", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}""");
        _harness.WriteFile("m/c.yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}");
        _harness.WriteFile("m/notes.txt", "not a manifest");

        var objects = await ManifestLoader.LoadAsync(["m"], _harness.Context(TextWriter.Null, TextWriter.Null), CancellationToken.None);

        Assert.Equal(["a", "b", "c"], objects.Select(o => o.Name));
    }

    [Fact]
    public async Task LoadAsync_WhenDash_ReadsStdin()
    {
        _harness.Stdin = TwoDocuments;

        var objects = await ManifestLoader.LoadAsync(["-"], _harness.Context(TextWriter.Null, TextWriter.Null), CancellationToken.None);

        Assert.Equal(2, objects.Count);
        Assert.Equal("STDIN", objects[0].Source);
    }

    [Fact]
    public async Task LoadAsync_WhenPathMissing_ThrowsPathDoesNotExist()
    {
        var e = await Assert.ThrowsAsync<CliException>(() =>
            ManifestLoader.LoadAsync(["nope.yaml"], _harness.Context(TextWriter.Null, TextWriter.Null), CancellationToken.None));

        Assert.Equal("error: the path \"nope.yaml\" does not exist", e.Message);
    }

    [Theory]
    [InlineData("kind: ConfigMap\nmetadata: {name: a}", "apiVersion not set")]
    [InlineData("apiVersion: v1\nmetadata: {name: a}", "kind not set")]
    [InlineData("apiVersion: v1\nkind: ConfigMap\nmetadata: {}", "has no metadata.name")]
    [InlineData("- just\n- a list", "must be a mapping")]
    [InlineData("a: [1, 2\nb: {", "error parsing bad.yaml: yaml: ")]
    [InlineData("a: b: c", "error parsing bad.yaml: yaml: line 1")]
    public void Parse_WhenObjectInvalid_ThrowsClearError(string yaml, string expected)
    {
        var e = Assert.Throws<CliException>(() => ManifestLoader.Parse(yaml, "bad.yaml"));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("error: ", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _harness.Dispose();
}
