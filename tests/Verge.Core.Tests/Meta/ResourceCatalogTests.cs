using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Core.Tests.Meta;

public sealed class ResourceCatalogTests
{
    [Theory]
    [InlineData("", "v1", "pods", "Pod", "po")]
    [InlineData("", "v1", "nodes", "Node", "no")]
    [InlineData("", "v1", "namespaces", "Namespace", "ns")]
    [InlineData("", "v1", "configmaps", "ConfigMap", "cm")]
    [InlineData("", "v1", "events", "Event", "ev")]
    [InlineData("apps", "v1", "deployments", "Deployment", "deploy")]
    [InlineData("apps", "v1", "replicasets", "ReplicaSet", "rs")]
    [InlineData("apps", "v1", "daemonsets", "DaemonSet", "ds")]
    [InlineData("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", "pdb")]
    [InlineData("edge.verge.dev", "v1", "devices", "Device", "dev")]
    [InlineData("edge.verge.dev", "v1", "datarules", "DataRule", "dr")]
    public void Find_ByPlural_ReturnsTheKindWithItsShortName(string group, string version, string plural, string kind, string shortName)
    {
        var type = ResourceCatalog.Find(group, version, plural);
        Assert.NotNull(type);
        Assert.Equal(kind, type.Kind);
        Assert.Contains(shortName, type.ShortNames);
        Assert.Same(type, ResourceCatalog.FindByKind(type.ApiVersion, kind));
        Assert.Equal(type.TypeInfo.Type.Name, kind);
    }

    [Fact]
    public void All_HasSixteenKinds_AndTheAllCategoryOnWorkloads()
    {
        Assert.Equal(16, ResourceCatalog.All.Count);
        Assert.Equal(["DaemonSet", "Deployment", "Pod", "ReplicaSet"], ResourceCatalog.All.Where(t => t.Categories.Contains("all")).Select(t => t.Kind).Order(StringComparer.Ordinal));
        Assert.NotNull(ResourceCatalog.For<Deployment>().Scale);
        Assert.NotNull(ResourceCatalog.For<ReplicaSet>().Scale);
        Assert.False(ResourceCatalog.For<ConfigMap>().HasStatus);
        Assert.True(ResourceCatalog.For<Pod>().HasStatus);
    }

    [Fact]
    public void PodColumns_ShowReadyStatusAndRestarts()
    {
        var pod = new Pod
        {
            Spec = new() { Containers = [new() { Name = "a" }, new() { Name = "b" }] },
            Status = new()
            {
                Phase = "Running",
                ContainerStatuses =
                [
                    new() { Name = "a", Ready = true, RestartCount = 1, State = new() { Running = new() } },
                    new() { Name = "b", RestartCount = 4, State = new() { Waiting = new() { Reason = "CrashLoopBackOff" } } },
                ],
            },
        };
        var cells = ResourceCatalog.For<Pod>().Columns.Take(3).Select(c => c.Cell(pod)).ToList();
        Assert.Equal(["1/2", "CrashLoopBackOff", "5"], cells);
        pod.Metadata.DeletionTimestamp = DateTimeOffset.UnixEpoch;
        Assert.Equal("Terminating", Tables.PodStatus(pod));
    }

    [Fact]
    public void PodColumns_ShowSchedulingGatedAndTheReadinessGatesMet()
    {
        var pod = new Pod
        {
            Spec = new() { ReadinessGates = [new() { ConditionType = "example.com/lb" }, new() { ConditionType = "example.com/dns" }] },
            Status = new()
            {
                Phase = "Pending",
                Conditions =
                [
                    new() { Type = "PodScheduled", Status = "False", Reason = "SchedulingGated" },
                    new() { Type = "example.com/lb", Status = "True" },
                    new() { Type = "example.com/dns", Status = "False" },
                ],
            },
        };
        var gates = ResourceCatalog.For<Pod>().Columns.Single(c => c.Name == "Readiness Gates");

        Assert.Equal("SchedulingGated", Tables.PodStatus(pod));
        Assert.Equal("1/2", gates.Cell(pod));
        Assert.Equal("<none>", gates.Cell(new Pod()));
    }

    [Fact]
    public void PodColumns_OfASidecarPod_AsKubectlShowsThem()
    {
        static ContainerStatus Terminated(string name, int exitCode, string reason, int restarts = 0) =>
            new() { Name = name, RestartCount = restarts, State = new() { Terminated = new() { ExitCode = exitCode, Reason = reason } } };
        var pod = new Pod
        {
            Spec = new()
            {
                InitContainers = [new() { Name = "setup" }, new() { Name = "proxy", RestartPolicy = "Always" }],
                Containers = [new() { Name = "app" }],
            },
            Status = new()
            {
                Phase = "Running",
                Conditions = [new() { Type = "Initialized", Status = "True" }, new() { Type = "Ready", Status = "True" }],
                InitContainerStatuses =
                [
                    Terminated("setup", 0, "Completed", restarts: 4),
                    new() { Name = "proxy", Started = true, Ready = true, RestartCount = 2, State = new() { Running = new() } },
                ],
                ContainerStatuses = [new() { Name = "app", Ready = true, RestartCount = 1, State = new() { Running = new() } }],
            },
        };

        Assert.Equal(("2/2", "Running", "3"), (Tables.PodReady(pod), Tables.PodStatus(pod), Tables.PodRestarts(pod)));

        // Completed: the sidecar was stopped (143) after the app; the pod is initialized, so the app's state shows.
        pod.Status.Phase = "Succeeded";
        pod.Status.InitContainerStatuses[1] = Terminated("proxy", 143, "Error", restarts: 2);
        pod.Status.ContainerStatuses = [Terminated("app", 0, "Completed", restarts: 1)];
        Assert.Equal(("0/2", "Completed"), (Tables.PodReady(pod), Tables.PodStatus(pod)));

        // Still initializing: the sidecar is not started yet.
        pod.Status = new()
        {
            Phase = "Pending",
            InitContainerStatuses =
            [
                Terminated("setup", 0, "Completed", restarts: 4),
                new() { Name = "proxy", Started = false, RestartCount = 1, State = new() { Running = new() } },
            ],
            ContainerStatuses = [new() { Name = "app", State = new() { Waiting = new() { Reason = "PodInitializing" } } }],
        };
        Assert.Equal(("Init:1/2", "5"), (Tables.PodStatus(pod), Tables.PodRestarts(pod)));
    }

    [Fact]
    public void NodeStatus_ShowsReadinessAndCordon()
    {
        var node = new Node { Spec = new() { Unschedulable = true }, Status = new() { Conditions = [new() { Type = "Ready", Status = "True" }] } };
        Assert.Equal("Ready,SchedulingDisabled", Tables.NodeStatus(node));
        node.Status.Conditions[0].Status = "Unknown";
        node.Spec.Unschedulable = null;
        Assert.Equal("NotReady", Tables.NodeStatus(node));
    }

    [Fact]
    public void DeploymentScale_ReadsSelectorAsString()
    {
        var deployment = new Deployment { Spec = new() { Replicas = 3, Selector = new() { MatchLabels = new() { ["app"] = "web" } } } };
        var scale = ResourceCatalog.For<Deployment>().Scale!;
        Assert.Equal(3, scale.GetSpecReplicas(deployment));
        Assert.Equal("app=web", scale.GetSelector(deployment));
        scale.SetSpecReplicas(deployment, 5);
        Assert.Equal(5, deployment.Spec.Replicas);
    }

    [Fact]
    public void PodSelectableFields_IncludeNodeNameAndPhase()
    {
        var pod = new Pod { Spec = new() { NodeName = "edge-1" }, Status = new() { Phase = "Running" } };
        var fields = ResourceCatalog.For<Pod>().SelectableFields(pod).ToDictionary();
        Assert.Equal("edge-1", fields["spec.nodeName"]);
        Assert.Equal("Running", fields["status.phase"]);
    }
}
