using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;

namespace Verge.Agent.Tests.Channel;

/// <summary><c>POST /verge/v1/nodes/{name}/images</c>: an archive streamed through the API into a node's image cache.</summary>
public sealed class ImageImportTests : IAsyncLifetime
{
    private const string Tar = "application/x-tar";
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-image-import-").FullName;
    private ChannelHarness _harness = null!;
    private ImageStore _images = null!;

    public async Task InitializeAsync()
    {
        _harness = await ChannelHarness.StartAsync();
        _images = new ImageStore(new ImageStoreOptions { Root = Path.Combine(_dir, "images") }, NullLogger<ImageStore>.Instance);
    }

    public async Task DisposeAsync()
    {
        _images.Dispose();
        await _harness.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Import_StreamsTheArchiveToTheAgent_WhichImportsIt_AndTheAnswerNamesTheImages()
    {
        var archive = Path.Combine(_dir, "busybox.tar");
        await TestImages.WriteBusyboxArchiveAsync(archive, "example.com/tools/busybox:v1");
        Assert.True(new FileInfo(archive).Length > 256 * 1024, "the archive should travel in several chunks");
        await using var running = await ConnectAsync("n1");

        var (code, body) = await PostAsync("n1", archive, Tar);

        Assert.True(code == 200, body);
        var answer = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("n1", answer["node"]!.GetValue<string>());
        var reference = Assert.Single(answer["references"]!.AsArray())!.GetValue<string>();
        Assert.Equal("example.com/tools/busybox:v1", reference);
        Assert.NotNull(_images.Find(reference));
    }

    [Fact]
    public async Task Import_OfSomethingThatIsNotAnArchive_Is400WithTheAgentsReason_AndTheSessionStaysUp()
    {
        var junk = Path.Combine(_dir, "junk.tar");
        await File.WriteAllTextAsync(junk, string.Concat(Enumerable.Repeat("not a tar archive at all\n", 40_000)));
        await using var running = await ConnectAsync("n1");
        var sessions = running.Client.Sessions;

        var (code, body) = await PostAsync("n1", junk, Tar);

        Assert.True(code == 400, body);
        var status = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("BadRequest", status["reason"]!.GetValue<string>());
        Assert.Contains("node \"n1\" could not import the archive", status["message"]!.GetValue<string>());
        Assert.Empty(_images.List());
        Assert.True(running.Client.Connected);
        Assert.Equal(sessions, running.Client.Sessions);
    }

    [Fact]
    public async Task Import_ToAnUnknownNode_Is404_AndToANodeWithoutASession_Is503()
    {
        var archive = Path.Combine(_dir, "small.tar");
        await File.WriteAllBytesAsync(archive, new byte[4096]);
        await _harness.CreateAsync("/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"offline"}}""");

        var (missingCode, missing) = await PostAsync("nowhere", archive, Tar);
        var (offlineCode, offline) = await PostAsync("offline", archive, Tar);

        Assert.True(missingCode == 404, missing);
        Assert.Equal("nodes \"nowhere\" not found", JsonNode.Parse(missing)!["message"]!.GetValue<string>());
        Assert.True(offlineCode == 503, offline);
        Assert.StartsWith("node \"offline\" is not connected to the control plane", JsonNode.Parse(offline)!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Import_WithAnotherContentType_Is415_AndFromANode_Is403()
    {
        var archive = Path.Combine(_dir, "small.tar");
        await File.WriteAllBytesAsync(archive, new byte[4096]);
        await using var running = await ConnectAsync("n1");

        var (typeCode, typeBody) = await PostAsync("n1", archive, "application/json");
        var nodeClient = _harness.Client(_harness.Identity("n1").ClientCertificate);
        await using var file = File.OpenRead(archive);
        using var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue(Tar);
        using var forbidden = await nodeClient.PostAsync("/verge/v1/nodes/n1/images", content);

        Assert.True(typeCode == 415, typeBody);
        Assert.Equal(403, (int)forbidden.StatusCode);
    }

    private async Task<RunningClient> ConnectAsync(string node)
    {
        var running = new RunningClient(_harness.NewClient(_harness.Identity(node), new InMemoryDesiredState(), images: _images));
        await running.SyncedAsync();

        // The Node object appears with the agent's first report.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await _harness.GetAsync($"/api/v1/nodes/{node}") is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"node {node} was never reported");
            await Task.Delay(50);
        }

        return running;
    }

    private async Task<(int Code, string Body)> PostAsync(string node, string path, string mediaType)
    {
        await using var file = File.OpenRead(path);
        using var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await _harness.Admin.PostAsync($"/verge/v1/nodes/{node}/images", content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
