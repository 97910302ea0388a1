using System.Diagnostics;
using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization.Protobuf;
using Verge.Core.Meta;

namespace Verge.ApiServer.Tests.Protobuf;

/// <summary>
/// Runs kubectl v1.32's create commands against <see cref="CaptureServer"/>, checks that they send protobuf, and
/// that the body decodes to exactly the JSON the same command prints with <c>--dry-run=client -o json</c>. The
/// server answers in JSON, so the commands succeeding also shows that kubectl accepts a JSON answer to a protobuf
/// request.
/// </summary>
public sealed class KubectlLiveTests : IDisposable
{
    private readonly CaptureServer _server = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("verge-protobuf-").FullName;
    private readonly string _kubeconfig;

    public KubectlLiveTests()
    {
        _kubeconfig = _server.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
    }

    public void Dispose()
    {
        _server.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string[]> Commands =>
    [
        ["create", "namespace", "demo"],
        ["create", "configmap", "settings", "--from-literal=a=b", "--from-literal=mode=edge"],
        ["create", "secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=password=s3cr3t!"],
        ["create", "secret", "generic", "typed", "--type=example.com/token", "--from-literal=token=abc"],
        ["create", "deployment", "web", "--image=busybox"],
        ["create", "deployment", "web", "--image=busybox", "--replicas", "0", "--port", "8080", "--", "sleep", "3600"],
        ["create", "deployment", "multi", "--image=nginx", "--image=redis", "--replicas", "3"],
        ["-n", "edge", "create", "deployment", "args", "--image=busybox", "--", "/bin/sh", "-c", "echo hi"],
        ["create", "priorityclass", "batch", "--value=10", "--preemption-policy=Never", "--description=batch work", "--global-default"],
        ["create", "priorityclass", "plain", "--value=0"],
        ["create", "pdb", "web", "--selector=app=web", "--min-available=1"],
        ["-n", "edge", "create", "poddisruptionbudget", "half", "--selector=app in (a,b),!canary", "--max-unavailable=50%"],
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task KubectlCreate_SendsProtobuf_ThatDecodesToItsOwnJson(string[] command)
    {
        var expected = JsonNode.Parse(await RunAsync([.. Before(command), "--dry-run=client", "-o", "json", .. After(command)]))!;
        RemoveNulls(expected);

        var output = await RunAsync(command);

        Assert.True(_server.Posts.TryDequeue(out var post), "kubectl sent no POST");
        Assert.Equal(KubernetesProtobuf.MediaType, post.ContentType);
        Assert.StartsWith(KubernetesProtobuf.MediaType, post.Accept);
        var type = ResourceCatalog.FindByKind(expected["apiVersion"]!.GetValue<string>(), expected["kind"]!.GetValue<string>())!;
        var ignored = new List<string>();
        var decoded = KubernetesProtobuf.Decode(post.Body, type, ignored);
        Assert.True(JsonNode.DeepEquals(expected, decoded), $"kubectl's JSON: {expected.ToJsonString()}\ndecoded:       {decoded.ToJsonString()}");
        Assert.Empty(ignored);

        // The server answered with the decoded object as JSON and kubectl read its name from it.
        var name = expected["metadata"]!["name"]!.GetValue<string>();
        Assert.Contains($"/{name} created", output);
    }

    [Fact]
    public async Task BinaryFiles_GoToBinaryDataAndBase64()
    {
        var binary = Path.Combine(_dir, "bin.dat");
        await File.WriteAllBytesAsync(binary, [0x00, 0x01, 0xff, 0xfe]);
        var text = Path.Combine(_dir, "txt.dat");
        await File.WriteAllTextAsync(text, "hello\n");

        await RunAsync("create", "configmap", "blobs", $"--from-file={binary}", $"--from-file={text}");
        await RunAsync("create", "secret", "generic", "blob", $"--from-file={binary}");

        Assert.True(_server.Posts.TryDequeue(out var configMap));
        Assert.True(_server.Posts.TryDequeue(out var secret));
        var cm = KubernetesProtobuf.Decode(configMap.Body, ResourceCatalog.FindByKind("v1", "ConfigMap")!);
        Assert.Equal("hello\n", cm["data"]!["txt.dat"]!.GetValue<string>());
        Assert.Equal("AAH//g==", cm["binaryData"]!["bin.dat"]!.GetValue<string>());
        var s = KubernetesProtobuf.Decode(secret.Body, ResourceCatalog.FindByKind("v1", "Secret")!);
        Assert.Equal("AAH//g==", s["data"]!["bin.dat"]!.GetValue<string>());
    }

    private static IEnumerable<string> Before(string[] command) => command.TakeWhile(a => a != "--");

    private static IEnumerable<string> After(string[] command) => command.SkipWhile(a => a != "--");

    /// <summary>kubectl writes Go's zero times as <c>null</c>; the decoder leaves them out.</summary>
    private static void RemoveNulls(JsonNode node)
    {
        if (node is JsonObject obj)
        {
            foreach (var key in obj.Where(p => p.Value is null).Select(p => p.Key).ToList())
            {
                obj.Remove(key);
            }

            foreach (var (_, child) in obj)
            {
                RemoveNulls(child!);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array)
            {
                RemoveNulls(child!);
            }
        }
    }

    private async Task<string> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["--kubeconfig", _kubeconfig, "--cache-dir", Path.Combine(_dir, "cache"), .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
        return await stdout;
    }
}
