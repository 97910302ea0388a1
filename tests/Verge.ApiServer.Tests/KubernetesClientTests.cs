using k8s;
using k8s.Models;

namespace Verge.ApiServer.Tests;

/// <summary>The official Kubernetes client library, used as any operator's tool would use it.</summary>
public sealed class KubernetesClientTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private Kubernetes Client() => new(KubernetesClientConfiguration.BuildConfigFromConfigFile(server.KubeconfigPath));

    private static V1Deployment SeedDeployment(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1DeploymentSpec
        {
            Replicas = 2,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = name + "-container", Image = "edge-service-image:latest", Ports = [new V1ContainerPort { ContainerPort = 8080 }] }],
                },
            },
        },
    };

    [Fact]
    public async Task Client_CreatesListsAndReadsDeployments()
    {
        using var client = Client();
        var created = await client.AppsV1.CreateNamespacedDeploymentAsync(SeedDeployment("kc-create"), "default");
        Assert.Equal(1, created.Metadata.Generation);
        Assert.Equal("RollingUpdate", created.Spec.Strategy.Type);

        var list = await client.AppsV1.ListNamespacedDeploymentAsync("default");
        Assert.Contains(list.Items, d => d.Metadata.Name == "kc-create");
        var namespaces = await client.CoreV1.ListNamespaceAsync();
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "kube-node-lease");
    }

    [Fact]
    public async Task Client_PatchesWithMergeStrategicAndJsonPatch()
    {
        using var client = Client();
        await client.AppsV1.CreateNamespacedDeploymentAsync(SeedDeployment("kc-patch"), "default");

        await client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("""{"metadata":{"labels":{"site":"s1"}}}""", V1Patch.PatchType.MergePatch), "kc-patch", "default");
        var strategic = """{"spec":{"template":{"spec":{"containers":[{"name":"kc-patch-container","image":"edge-service-image:v2"}]}}}}""";
        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(strategic, V1Patch.PatchType.StrategicMergePatch), "kc-patch", "default");
        var jsonPatch = """[{"op":"replace","path":"/spec/replicas","value":4}]""";
        var patched = await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(jsonPatch, V1Patch.PatchType.JsonPatch), "kc-patch", "default");

        Assert.Equal("s1", patched.Metadata.Labels["site"]);
        var container = Assert.Single(patched.Spec.Template.Spec.Containers);
        Assert.Equal("edge-service-image:v2", container.Image);
        Assert.Equal(8080, Assert.Single(container.Ports).ContainerPort);
        Assert.Equal(4, patched.Spec.Replicas);
    }

    [Fact]
    public async Task Client_WatchesDeploymentChanges()
    {
        using var client = Client();
        var list = await client.AppsV1.ListNamespacedDeploymentAsync("default");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = client.AppsV1.WatchListNamespacedDeploymentAsync(
            "default", resourceVersion: list.Metadata.ResourceVersion, timeoutSeconds: 30, cancellationToken: timeout.Token);
        var seen = new List<WatchEventType>();
        var consumer = Task.Run(async () =>
        {
            await foreach (var (type, item) in events)
            {
                if (item.Metadata.Name == "kc-watch")
                {
                    seen.Add(type);
                    if (seen.Count == 2)
                    {
                        return;
                    }
                }
            }
        });

        // The watch request is sent when enumeration starts; give it a live watcher to receive before writing.
        await WaitForWatchersAsync(1);
        await client.AppsV1.CreateNamespacedDeploymentAsync(SeedDeployment("kc-watch"), "default");
        await client.AppsV1.DeleteNamespacedDeploymentAsync("kc-watch", "default");
        await consumer.WaitAsync(timeout.Token);
        Assert.Equal([WatchEventType.Added, WatchEventType.Deleted], seen);
    }

    private async Task WaitForWatchersAsync(int count)
    {
        var cache = (Watch.WatchCache)server.Host.Services.GetService(typeof(Watch.WatchCache))!;
        while (cache.WatcherCount < count)
        {
            await Task.Yield();
        }
    }

    [Fact]
    public async Task Client_ServerSideApply_CreatesThenUpdates()
    {
        using var client = Client();
        // The client serializes apply patches as JSON, which is also YAML.
        var yaml = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kc-apply"},"data":{"mode":"edge"}}""";
        var first = await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(yaml, V1Patch.PatchType.ApplyPatch), "kc-apply", "default", fieldManager: "tests");
        Assert.Equal("edge", first.Data["mode"]);
        var second = await client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch(yaml.Replace("edge", "cloud", StringComparison.Ordinal), V1Patch.PatchType.ApplyPatch), "kc-apply", "default", fieldManager: "tests");
        Assert.Equal("cloud", second.Data["mode"]);
        Assert.Contains(second.Metadata.ManagedFields, m => m.Manager == "tests" && m.Operation == "Apply");
    }
}
