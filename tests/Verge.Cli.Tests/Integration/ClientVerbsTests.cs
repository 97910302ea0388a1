using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization;

namespace Verge.Cli.Tests.Integration;

/// <summary>The client verbs against a real API server, run through the CLI's entry point in-process.</summary>
public sealed class ClientVerbsTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private static readonly string SeedManifest = Path.Combine(CliHarness.RepositoryRoot(), "examples", "edge-microservice.yaml");

    private readonly CliHarness _cli = new();

    private Task<CliResult> RunAsync(params string[] args) => _cli.RunAsync([.. args, "--kubeconfig", server.KubeconfigPath]);

    private async Task<string> NewNamespaceAsync()
    {
        var ns = server.UniqueNamespace("cli");
        var file = _cli.WriteFile($"{ns}.yaml", $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
        var result = await RunAsync("apply", "-f", file);
        Assert.Equal($"namespace/{ns} created\n", result.Out);
        return ns;
    }

    [Fact]
    public async Task Apply_WhenSeedManifestAppliedTwiceThenChanged_ReportsCreatedUnchangedConfigured()
    {
        var ns = await NewNamespaceAsync();

        var created = await RunAsync("apply", "-f", SeedManifest, "-n", ns);
        var unchanged = await RunAsync("apply", "-f", SeedManifest, "-n", ns);
        var changed = _cli.WriteFile("changed.yaml", File.ReadAllText(SeedManifest).Replace("replicas: 2", "replicas: 3", StringComparison.Ordinal));
        var configured = await RunAsync("apply", "-f", changed, "-n", ns);

        Assert.Equal((0, "deployment.apps/edge-microservice created\n", ""), (created.ExitCode, created.Out, created.Error));
        Assert.Equal((0, "deployment.apps/edge-microservice unchanged\n", ""), (unchanged.ExitCode, unchanged.Out, unchanged.Error));
        Assert.Equal((0, "deployment.apps/edge-microservice configured\n", ""), (configured.ExitCode, configured.Out, configured.Error));
        var yaml = await RunAsync("get", "deployment", "edge-microservice", "-n", ns, "-o", "yaml");
        Assert.Equal(3, YamlReader.ReadSingle(yaml.Out)!["spec"]!["replicas"]!.GetValue<long>());
    }

    [Fact]
    public async Task Get_WhenSeedApplied_PrintsTableYamlJsonAndNames()
    {
        var ns = await NewNamespaceAsync();
        await RunAsync("apply", "-f", SeedManifest, "-n", ns);

        var table = await RunAsync("get", "deployments", "-n", ns);
        var wide = await RunAsync("get", "deploy", "-n", ns, "-o", "wide");
        var yaml = await RunAsync("get", "deployment.apps", "edge-microservice", "-n", ns, "-o", "yaml");
        var json = await RunAsync("get", "Deployment", "-n", ns, "-o", "json");
        var names = await RunAsync("get", "deploy", "-n", ns, "-o", "name");

        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$", table.OutLines[0]);
        Assert.StartsWith("edge-microservice   ", table.OutLines[1], StringComparison.Ordinal);
        Assert.Equal(2, table.OutLines.Length);
        Assert.Matches(@"^edge-microservice\s+\d+/2\s", table.OutLines[1]);
        Assert.Equal(SecondColumnStart(table.OutLines[0]), SecondColumnStart(table.OutLines[1]));
        Assert.Contains("IMAGES", wide.OutLines[0], StringComparison.Ordinal);
        Assert.Contains("edge-service-image:latest", wide.OutLines[1], StringComparison.Ordinal);
        var obj = YamlReader.ReadSingle(yaml.Out)!;
        Assert.Equal(("apps/v1", "Deployment", ns), (obj["apiVersion"]!.GetValue<string>(), obj["kind"]!.GetValue<string>(), obj["metadata"]!["namespace"]!.GetValue<string>()));
        var list = JsonNode.Parse(json.Out)!;
        Assert.Equal("List", list["kind"]!.GetValue<string>());
        Assert.Equal("Deployment", list["items"]![0]!["kind"]!.GetValue<string>());
        Assert.Equal("deployment.apps/edge-microservice\n", names.Out);
    }

    [Fact]
    public async Task Get_WhenAllNamespacesAndSelector_ShowsNamespaceColumnAndFilters()
    {
        var ns = await NewNamespaceAsync();
        await RunAsync("apply", "-f", SeedManifest, "-n", ns);
        var other = _cli.WriteFile("other.yaml", """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: other, labels: {team: b}}
            data: {k: v}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: mine, labels: {team: a}}
            data: {k: v}
            """);
        Assert.Equal(0, (await RunAsync("apply", "-f", other, "-n", ns)).ExitCode);

        var all = await RunAsync("get", "deploy", "-A");
        var selected = await RunAsync("get", "cm", "-n", ns, "-l", "team=a");

        Assert.Matches(@"^NAMESPACE\s+NAME\s+READY", all.OutLines[0]);
        Assert.Contains(all.OutLines, l => l.StartsWith(ns + " ", StringComparison.Ordinal) && l.Contains("edge-microservice", StringComparison.Ordinal));
        Assert.Equal(2, selected.OutLines.Length);
        Assert.StartsWith("mine ", selected.OutLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_WhenNamespaceEmpty_SaysNoResourcesAndSucceeds()
    {
        var ns = await NewNamespaceAsync();

        var result = await RunAsync("get", "deployments", "-n", ns);

        Assert.Equal((0, "", $"No resources found in {ns} namespace.\n"), (result.ExitCode, result.Out, result.Error));
    }

    [Fact]
    public async Task Describe_WhenDeploymentExists_ShowsSectionsAndEvents()
    {
        var ns = await NewNamespaceAsync();
        await RunAsync("apply", "-f", SeedManifest, "-n", ns);

        var result = await RunAsync("describe", "deploy", "edge-microservice", "-n", ns);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Name:               edge-microservice", result.OutLines[0]);
        Assert.Equal($"Namespace:          {ns}", result.OutLines[1]);
        Assert.Contains("Spec:", result.OutLines);
        Assert.Contains("  replicas: 2", result.OutLines);
        Assert.Contains("      - name: edge-microservice-container", result.OutLines);
        Assert.StartsWith("Events:", result.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_WhenNamesGiven_DeletesAndReportsMissingOnes()
    {
        var ns = await NewNamespaceAsync();
        await RunAsync("apply", "-f", SeedManifest, "-n", ns);

        var result = await RunAsync("delete", "deployment", "edge-microservice", "ghost", "-n", ns);
        var after = await RunAsync("get", "deployment", "edge-microservice", "-n", ns);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("deployment.apps \"edge-microservice\" deleted\n", result.Out);
        Assert.Equal("Error from server (NotFound): deployments.apps \"ghost\" not found\n", result.Error);
        Assert.Equal((1, "Error from server (NotFound): deployments.apps \"edge-microservice\" not found\n"), (after.ExitCode, after.Error));
    }

    [Fact]
    public async Task Delete_OfABoundPod_LeavesItTerminatingWithTheGracePeriod_AndForceRemovesIt()
    {
        var ns = await NewNamespaceAsync();
        var file = _cli.WriteFile("bound.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bound}\nspec:\n  nodeName: edge-gone\n  containers: [{name: c, image: busybox}]\n");
        await RunAsync("apply", "-f", file, "-n", ns);

        var graceful = await RunAsync("delete", "pod", "bound", "--grace-period=5", "-n", ns);
        var terminating = await RunAsync("get", "pod", "bound", "-n", ns);
        var marked = YamlReader.ReadSingle((await RunAsync("get", "pod", "bound", "-n", ns, "-o", "yaml")).Out)!;
        var zeroWithoutForce = await RunAsync("delete", "pod", "bound", "--grace-period=0", "-n", ns);
        var afterZero = YamlReader.ReadSingle((await RunAsync("get", "pod", "bound", "-n", ns, "-o", "yaml")).Out)!;
        var forced = await RunAsync("delete", "pod", "bound", "--force", "-n", ns);
        var gone = await RunAsync("get", "pod", "bound", "-n", ns);

        Assert.Equal((0, "pod \"bound\" deleted\n"), (graceful.ExitCode, graceful.Out));
        Assert.Contains("Terminating", terminating.OutLines[1], StringComparison.Ordinal);
        Assert.Equal(5, marked["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        Assert.Equal(0, zeroWithoutForce.ExitCode);
        Assert.Equal(1, afterZero["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        Assert.Equal((0, "pod \"bound\" force deleted\n"), (forced.ExitCode, forced.Out));
        Assert.StartsWith("Warning: Immediate deletion does not wait for confirmation", forced.Error, StringComparison.Ordinal);
        Assert.Equal((1, $"Error from server (NotFound): pods \"bound\" not found\n"), (gone.ExitCode, gone.Error));
    }

    [Fact]
    public async Task Delete_WhenManifestGiven_DeletesItsObjects()
    {
        var ns = await NewNamespaceAsync();
        await RunAsync("apply", "-f", SeedManifest, "-n", ns);

        var result = await RunAsync("delete", "-f", SeedManifest, "-n", ns);

        Assert.Equal((0, "deployment.apps \"edge-microservice\" deleted\n"), (result.ExitCode, result.Out));
    }

    [Fact]
    public async Task Apply_WhenDirectoryAndStdin_AppliesEveryObject()
    {
        var ns = await NewNamespaceAsync();
        _cli.WriteFile("dir/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
        _cli.WriteFile("dir/b.json", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}""");
        _cli.Stdin = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";

        var fromDir = await RunAsync("apply", "-f", "dir", "-n", ns);
        var fromStdin = await RunAsync("apply", "-f", "-", "-n", ns);

        Assert.Equal("configmap/a created\nconfigmap/b created\n", fromDir.Out);
        Assert.Equal("configmap/c created\n", fromStdin.Out);
    }

    [Fact]
    public async Task Get_WhenWatchingAsYaml_PrintsEachObjectAsItsOwnDocument()
    {
        var ns = await NewNamespaceAsync();
        var first = _cli.WriteFile($"{ns}-w1.yaml", $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  namespace: {ns}\n");
        Assert.Equal(0, (await RunAsync("apply", "-f", first)).ExitCode);
        using var output = new LineWaiter();
        using var stop = new CancellationTokenSource();
        var watching = Cli.RunAsync(
            ["get", "configmaps", "-n", ns, "-w", "-o", "yaml", "--kubeconfig", server.KubeconfigPath],
            _cli.Context(output, TextWriter.Null),
            stop.Token);
        await output.WaitForAsync("name: first");

        var second = _cli.WriteFile($"{ns}-w2.yaml", $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  namespace: {ns}\n");
        Assert.Equal(0, (await RunAsync("apply", "-f", second)).ExitCode);
        await output.WaitForAsync("name: second");
        await stop.CancelAsync();

        Assert.Equal(0, await watching);
        var documents = output.Text.Split("---\n");
        Assert.Equal(2, documents.Length);
        Assert.DoesNotContain("kind: List", output.Text, StringComparison.Ordinal);
        Assert.Contains("name: first", documents[0], StringComparison.Ordinal);
        Assert.Contains("name: second", documents[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_WhenWatching_PrintsTableThenARowPerChangeUntilCancelled()
    {
        var ns = await NewNamespaceAsync();
        await RunAsync("apply", "-f", SeedManifest, "-n", ns);
        using var output = new LineWaiter();
        using var stop = new CancellationTokenSource();
        var watching = Cli.RunAsync(
            ["get", "deploy", "-n", ns, "-w", "--kubeconfig", server.KubeconfigPath],
            _cli.Context(output, TextWriter.Null),
            stop.Token);
        await output.WaitForAsync("/2 ");

        var changed = _cli.WriteFile("w.yaml", File.ReadAllText(SeedManifest).Replace("replicas: 2", "replicas: 5", StringComparison.Ordinal));
        Assert.Equal(0, (await RunAsync("apply", "-f", changed, "-n", ns)).ExitCode);
        await output.WaitForAsync("/5 ");
        await stop.CancelAsync();

        Assert.Equal(0, await watching);
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+READY", lines[0]);
        var row = lines.First(l => l.Contains("/5 ", StringComparison.Ordinal));
        Assert.Matches(@"^edge-microservice\s+\d+/5\s", row);
        Assert.Equal(SecondColumnStart(lines[0]), SecondColumnStart(row));
    }

    [Fact]
    public async Task Version_WhenServerUp_PrintsClientAndServerVersions()
    {
        var result = await RunAsync("version");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("Client Version: 0.1.0", result.OutLines[0], StringComparison.Ordinal);
        Assert.Equal("Server Version: v1.32.0-verge.0.1.0", result.OutLines[1]);
    }

    [Fact]
    public async Task VersionFlag_PrintsTheSameVersionAsTheVersionCommand()
    {
        var result = await _cli.RunAsync("--version");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Verge.ApiServer.Hosting.VersionInfo.Verge + "\n", result.Out);
    }

    [Fact]
    public async Task GetAndDescribe_RefuseWhatKubectlRefuses_AndDescribeGoesOnPastAMissingName()
    {
        var ns = await NewNamespaceAsync();
        var file = _cli.WriteFile($"{ns}-cm.yaml", $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: here\n  namespace: {ns}\n");
        Assert.Equal(0, (await RunAsync("apply", "-f", file)).ExitCode);

        var slash = await RunAsync("get", "configmaps/");
        Assert.Equal((1, "error: arguments in resource/name form must have a single resource and name\n"), (slash.ExitCode, slash.Error));
        var across = await RunAsync("get", "configmap", "here", "-A");
        Assert.Equal((1, "error: a resource cannot be retrieved by name across all namespaces\n"), (across.ExitCode, across.Error));

        var described = await RunAsync("describe", "configmap", "gone-1", "here", "gone-2", "-n", ns);
        Assert.Equal(1, described.ExitCode);
        Assert.Contains("Name:", described.Out, StringComparison.Ordinal);
        Assert.Contains("here", described.Out, StringComparison.Ordinal);
        Assert.Equal(
            "Error from server (NotFound): configmaps \"gone-1\" not found\nError from server (NotFound): configmaps \"gone-2\" not found\n",
            described.Error);
    }

    [Fact]
    public async Task Get_WhenKubeconfigInLocalVergeDirectory_FindsItWithoutFlags()
    {
        _cli.WriteFile(".verge/admin.kubeconfig", File.ReadAllText(server.KubeconfigPath));

        var result = await _cli.RunAsync("get", "namespaces");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(result.OutLines, l => l.StartsWith("default ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Get_WhenKindUnknown_PrintsErrorAndExitsNonZero()
    {
        var result = await RunAsync("get", "foo");

        Assert.Equal((1, "", "error: the server doesn't have a resource type \"foo\"\n"), (result.ExitCode, result.Out, result.Error));
    }

    [Fact]
    public async Task Apply_WhenFileMissing_PrintsErrorAndExitsNonZero()
    {
        var result = await RunAsync("apply", "-f", "missing.yaml");

        Assert.Equal((1, "error: the path \"missing.yaml\" does not exist\n"), (result.ExitCode, result.Error));
    }

    [Fact]
    public async Task Apply_WhenYamlMalformed_PrintsParseErrorAndExitsNonZero()
    {
        var file = _cli.WriteFile("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: name: x\n");

        var result = await RunAsync("apply", "-f", file);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: error parsing {file}: yaml: line 3", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
    }

    [Fact]
    public async Task Apply_WhenKindNotServed_ReportsNoMatchesAndAppliesTheRest()
    {
        var ns = await NewNamespaceAsync();
        var file = _cli.WriteFile("mixed.yaml", """
            apiVersion: example.com/v9
            kind: Widget
            metadata: {name: w}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kept}
            """);

        var result = await RunAsync("apply", "-f", file, "-n", ns);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("configmap/kept created\n", result.Out);
        Assert.Equal(
        [
            $"error: resource mapping not found for name: \"w\" namespace: \"\" from \"{file}\": no matches for kind \"Widget\" in version \"example.com/v9\"",
            "ensure CRDs are installed first",
        ], result.ErrorLines);
    }

    [Fact]
    public async Task Delete_WhenKindNotServed_ReportsItAsApplyDoes_AndDeletesTheRest()
    {
        var ns = await NewNamespaceAsync();
        var kept = _cli.WriteFile("doomed.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: doomed}\n");
        Assert.Equal(0, (await RunAsync("apply", "-f", kept, "-n", ns)).ExitCode);
        var file = _cli.WriteFile("mixed-delete.yaml", $$"""
            apiVersion: example.com/v1
            kind: Foo
            metadata: {name: x}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: doomed, namespace: {{ns}}}
            """);

        var result = await RunAsync("delete", "-f", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("configmap \"doomed\" deleted\n", result.Out);
        Assert.Equal(
        [
            $"error: resource mapping not found for name: \"x\" namespace: \"\" from \"{file}\": no matches for kind \"Foo\" in version \"example.com/v1\"",
            "ensure CRDs are installed first",
        ], result.ErrorLines);
        Assert.Equal(1, (await RunAsync("get", "configmap", "doomed", "-n", ns)).ExitCode);
    }

    [Fact]
    public async Task Get_WhenServerUnreachable_NamesTheAddressAndExitsNonZero()
    {
        var port = FreePort();
        var kubeconfig = WithServer(File.ReadAllText(server.KubeconfigPath), $"https://127.0.0.1:{port}");
        var path = _cli.WriteFile("down.kubeconfig", kubeconfig);

        var result = await _cli.RunAsync("get", "pods", "--kubeconfig", path);
        var version = await _cli.RunAsync("version", "--kubeconfig", path);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: the connection to the server 127.0.0.1:{port} was refused", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        Assert.Equal(1, version.ExitCode);
        Assert.StartsWith("Client Version:", version.Out, StringComparison.Ordinal);
        Assert.StartsWith("error: the connection to the server", version.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_WhenServerCertificateNotFromKubeconfigCa_RefusesTheServer()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=other-ca", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var config = YamlReader.ReadSingle(File.ReadAllText(server.KubeconfigPath))!;
        config["clusters"]![0]!["cluster"]!["certificate-authority-data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(otherCa.ExportCertificatePem()));
        var path = _cli.WriteFile("other-ca.kubeconfig", config.ToJsonString());

        var result = await _cli.RunAsync("get", "namespaces", "--kubeconfig", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the TLS handshake failed", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_WhenTokenUserUnknownToServer_ReportsUnauthorized()
    {
        var config = YamlReader.ReadSingle(File.ReadAllText(server.KubeconfigPath))!;
        config["users"]![0]!["user"] = new JsonObject { ["token"] = "not-a-real-token" };
        var path = _cli.WriteFile("token.kubeconfig", config.ToJsonString());

        var result = await _cli.RunAsync("get", "namespaces", "--kubeconfig", path);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Error from server (Unauthorized):", result.Error, StringComparison.Ordinal);
    }

    private static int SecondColumnStart(string line) => System.Text.RegularExpressions.Regex.Match(line, @"^\S+\s+").Length;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string WithServer(string kubeconfig, string address)
    {
        var config = YamlReader.ReadSingle(kubeconfig)!;
        config["clusters"]![0]!["cluster"]!["server"] = address;
        return config.ToJsonString();
    }

    public void Dispose() => _cli.Dispose();
}
