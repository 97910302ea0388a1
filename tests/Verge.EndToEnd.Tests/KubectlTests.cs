using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Verge.EndToEnd.Tests;

/// <summary>kubectl v1.32, unmodified, against a real <c>verge server</c> process: the foundation's promise to operators.</summary>
public sealed class KubectlTests : ServerTestBase
{
    [Fact]
    public async Task ApiResources_ListsBuiltInAndEdgeKinds()
    {
        var output = await Kubectl.OkAsync("api-resources");
        Assert.Matches(@"deployments\s+deploy\s+apps/v1\s+true\s+Deployment", output);
        Assert.Matches(@"pods\s+po\s+v1\s+true\s+Pod", output);
        Assert.Matches(@"nodes\s+no\s+v1\s+false\s+Node", output);
        Assert.Contains("edge.verge.dev/v1", output);
        Assert.Contains("DataRule", output);
    }

    [Fact]
    public async Task GetNodes_OnAnEmptyCluster_SaysNoResources()
    {
        var result = await Kubectl.RunAsync("get", "nodes");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No resources found", result.Stderr);
    }

    [Fact]
    public async Task SeedDeployment_FullOperatorSession()
    {
        // apply with client-side validation on (kubectl fetches the OpenAPI documents).
        Assert.Contains("deployment.apps/edge-microservice created", await Kubectl.OkAsync("apply", "-f", Manifest));

        var yaml = await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o", "yaml");
        Assert.Contains("image: edge-service-image:latest", yaml);
        Assert.Contains("containerPort: 8080", yaml);
        Assert.Contains("replicas: 2", yaml);

        Assert.Contains("deployment.apps/edge-microservice scaled", await Kubectl.OkAsync("scale", "deploy", "edge-microservice", "--replicas", "3"));
        Assert.Equal("3", await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o", "jsonpath={.spec.replicas}"));

        await Kubectl.OkAsync("patch", "deploy", "edge-microservice", "--type", "merge", "-p", """{"spec":{"minReadySeconds":5}}""");
        await Kubectl.OkAsync("patch", "deploy", "edge-microservice", "-p",
            """{"spec":{"template":{"spec":{"containers":[{"name":"edge-microservice-container","env":[{"name":"MODE","value":"edge"}]}]}}}}""");
        var afterPatch = JsonNode.Parse(await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o", "json"))!;
        Assert.Equal(5, afterPatch["spec"]!["minReadySeconds"]!.GetValue<int>());
        var container = afterPatch["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single()!;
        Assert.Equal("edge-service-image:latest", container["image"]!.GetValue<string>());
        Assert.Equal("MODE", container["env"]![0]!["name"]!.GetValue<string>());

        await Kubectl.OkAsync("label", "deploy", "edge-microservice", "site=s1");
        await Kubectl.OkAsync("annotate", "deploy", "edge-microservice", "owner=plant-7");
        Assert.Equal("s1 plant-7", await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o",
            "jsonpath={.metadata.labels.site} {.metadata.annotations.owner}"));

        // A second apply of a changed file patches the live object (strategic merge patch from kubectl).
        var changed = Path.Combine(Server.DataDir, "changed.yaml");
        await File.WriteAllTextAsync(changed, (await File.ReadAllTextAsync(Manifest)).Replace("edge-service-image:latest", "edge-service-image:v2", StringComparison.Ordinal));
        Assert.Contains("deployment.apps/edge-microservice configured", await Kubectl.OkAsync("apply", "-f", changed));
        Assert.Equal("edge-service-image:v2", await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o",
            "jsonpath={.spec.template.spec.containers[0].image}"));
        Assert.Equal("s1", await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o", "jsonpath={.metadata.labels.site}"));

        var table = await Kubectl.OkAsync("get", "deploy");
        Assert.Matches(@"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE", table);
        Assert.Contains("edge-microservice", table);

        Assert.Contains("deployment.apps \"edge-microservice\" deleted", await Kubectl.OkAsync("delete", "-f", Manifest));
        var gone = await Kubectl.RunAsync("get", "deploy", "edge-microservice");
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("NotFound", gone.Stderr);
    }

    [Fact]
    public async Task CreateSubcommands_WhichSendProtobuf_Work()
    {
        Assert.Contains("namespace/edge created", await Kubectl.OkAsync("create", "namespace", "edge"));
        Assert.Contains("configmap/settings created", await Kubectl.OkAsync("create", "configmap", "settings", "-n", "edge", "--from-literal=mode=offline"));
        Assert.Contains("secret/creds created", await Kubectl.OkAsync("create", "secret", "generic", "creds", "-n", "edge", "--from-literal=password=s3cret"));
        Assert.Contains("deployment.apps/web created", await Kubectl.OkAsync("create", "deployment", "web", "-n", "edge", "--image=busybox", "--replicas=2", "--port=8080"));
        Assert.Equal("offline", await Kubectl.OkAsync("get", "configmap", "settings", "-n", "edge", "-o", "jsonpath={.data.mode}"));
        Assert.Equal("czNjcmV0", await Kubectl.OkAsync("get", "secret", "creds", "-n", "edge", "-o", "jsonpath={.data.password}"));
        Assert.Equal("2 8080", await Kubectl.OkAsync("get", "deploy", "web", "-n", "edge", "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}"));
    }

    [Fact]
    public async Task Rollout_StatusHistoryUndoAndRestart_WorkWithTheControllers()
    {
        await using var nodes = await Simulator.StartAsync(Server, "rollout", count: 3, sites: 1);
        Assert.Contains("created", await Kubectl.OkAsync("apply", "-f", Manifest));
        var status = await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s");
        Assert.Contains("successfully rolled out", status);
        Assert.Equal("2 2", await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o", "jsonpath={.status.readyReplicas} {.status.availableReplicas}"));

        await Kubectl.OkAsync("set", "image", "deploy/edge-microservice", "edge-microservice-container=edge-service-image:v2");
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s"));
        var history = await Kubectl.OkAsync("rollout", "history", "deploy/edge-microservice");
        Assert.Matches(@"(?m)^1\s", history);
        Assert.Matches(@"(?m)^2\s", history);

        Assert.Contains("rolled back", await Kubectl.OkAsync("rollout", "undo", "deploy/edge-microservice"));
        Assert.Equal("edge-service-image:latest", await Kubectl.OkAsync("get", "deploy", "edge-microservice", "-o",
            "jsonpath={.spec.template.spec.containers[0].image}"));
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s"));

        Assert.Contains("restarted", await Kubectl.OkAsync("rollout", "restart", "deploy/edge-microservice"));
        Assert.Contains("successfully rolled out", await Kubectl.OkAsync("rollout", "status", "deploy/edge-microservice", "--timeout=60s"));
        var pods = await Kubectl.OkAsync("get", "pods", "-l", "app=edge-microservice", "-o", "name");
        Assert.Equal(2, pods.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Auth_CanIAndWhoAmI_AnswerForTheAdmin()
    {
        Assert.Equal("yes", (await Kubectl.OkAsync("auth", "can-i", "create", "deployments")).Trim());
        var whoami = await Kubectl.OkAsync("auth", "whoami");
        Assert.Contains("verge-admin", whoami);
        Assert.Contains("system:masters", whoami);
    }

    [Fact]
    public async Task Explain_DeploymentSpec_DescribesFields()
    {
        var output = await Kubectl.OkAsync("explain", "deployment.spec");
        Assert.Contains("KIND:", output);
        Assert.Contains("Deployment", output);
        Assert.Contains("replicas", output);
        Assert.Contains("template", output);
    }

    [Fact]
    public async Task GetPodsWatch_PrintsPodsAsTheyAppear()
    {
        using var watch = Process.Start(Kubectl.StartInfo("get", "pods", "-w"))!;
        watch.StandardInput.Close();
        try
        {
            // With no pods kubectl prints nothing until the first event; the header arrives with the first row.
            var pod = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: watched-pod
                spec:
                  containers:
                  - name: c
                    image: busybox
                """;
            var lines = new List<string?>();
            var applyTask = Kubectl.RunWithInputAsync(pod, "apply", "-f", "-");
            var result = await applyTask;
            Assert.True(result.ExitCode == 0, result.ToString());
            while (!lines.Any(l => l?.Contains("watched-pod", StringComparison.Ordinal) == true))
            {
                var line = await watch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.NotNull(line);
                lines.Add(line);
            }

            Assert.Contains(lines, l => l?.Contains("Pending", StringComparison.Ordinal) == true);
        }
        finally
        {
            watch.Kill();
        }
    }

    [Fact]
    public async Task Apply_InvalidManifest_FailsWithClearError()
    {
        var bad = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: Bad_Name
            spec:
              replicas: -1
              selector:
                matchLabels: {app: x}
              template:
                metadata:
                  labels: {app: other}
                spec:
                  containers:
                  - name: c
                    image: i
            """;
        var result = await Kubectl.RunWithInputAsync(bad, "apply", "-f", "-");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("is invalid", result.Stderr);
        Assert.Contains("spec.replicas", result.Stderr);

        var unknownField = bad.Replace("Bad_Name", "good", StringComparison.Ordinal).Replace("replicas: -1", "replicaz: 1", StringComparison.Ordinal)
            .Replace("{app: other}", "{app: x}", StringComparison.Ordinal);
        var strict = await Kubectl.RunWithInputAsync(unknownField, "apply", "-f", "-");
        Assert.NotEqual(0, strict.ExitCode);
        Assert.Contains("replicaz", strict.Stderr);
    }
}
