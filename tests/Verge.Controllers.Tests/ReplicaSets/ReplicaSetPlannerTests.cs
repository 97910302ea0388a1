using Verge.Controllers.ReplicaSets;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.ReplicaSets;

public class ReplicaSetPlannerTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static Pod NewPod(string name, string? node = null, string phase = "Running", bool ready = false, int ageSeconds = 60,
        int readyForSeconds = 30, int restarts = 0, string? cost = null) => new()
        {
            Metadata = new ObjectMeta
            {
                Name = name,
                CreationTimestamp = Now.AddSeconds(-ageSeconds),
                Annotations = cost is null ? null : new() { [ReplicaSetPlanner.DeletionCostAnnotation] = cost },
            },
            Spec = new PodSpec { NodeName = node },
            Status = new PodStatus
            {
                Phase = phase,
                Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = Now.AddSeconds(-readyForSeconds) }],
                ContainerStatuses = [new ContainerStatus { Name = "c", RestartCount = restarts }],
            },
        };

    private static ReplicaSet NewReplicaSet(int replicas, int minReadySeconds = 0) => new()
    {
        Metadata = new ObjectMeta { Name = "web", Namespace = "default", Uid = "u1", Generation = 4 },
        Spec = new ReplicaSetSpec
        {
            Replicas = replicas,
            MinReadySeconds = minReadySeconds,
            Template = new PodTemplateSpec { Metadata = new ObjectMeta { Labels = new() { ["app"] = "web", ["tier"] = "front" } } },
        },
    };

    [Theory]
    [InlineData(1, 3, 2, 0)]
    [InlineData(5, 3, 0, 2)]
    [InlineData(3, 3, 0, 0)]
    [InlineData(0, 900, 500, 0)]
    public void Plan_CreatesOrDeletesTheDifferenceUpToTheBurst(int owned, int desired, int create, int delete)
    {
        var pods = Enumerable.Range(0, owned).Select(i => NewPod($"p{i}", "n1")).ToList();

        var plan = ReplicaSetPlanner.Plan(NewReplicaSet(desired), pods, burst: 500, Now);

        Assert.Equal(create, plan.Create);
        Assert.Equal(delete, plan.Delete.Count);
    }

    [Fact]
    public void PodsToDelete_PrefersUnscheduledThenPendingThenNotReadyThenNewest()
    {
        var pods = new List<Pod>
        {
            NewPod("ready-old", "n1", ready: true, ageSeconds: 500, readyForSeconds: 400),
            NewPod("ready-new", "n2", ready: true, ageSeconds: 100, readyForSeconds: 50),
            NewPod("not-ready", "n3", ready: false),
            NewPod("pending", "n4", phase: "Pending"),
            NewPod("unscheduled", null, phase: "Pending"),
        };

        var order = ReplicaSetPlanner.PodsToDelete(pods, pods, 5, Now).Select(p => p.Metadata.Name).ToList();

        Assert.Equal(["unscheduled", "pending", "not-ready", "ready-new", "ready-old"], order);
    }

    [Fact]
    public void PodsToDelete_AmongEqualPods_PrefersLowerDeletionCostThenDoubledUpThenRestarts()
    {
        var pods = new List<Pod>
        {
            NewPod("costly", "n1", ready: true, cost: "100"),
            NewPod("cheap", "n2", ready: true, cost: "-5"),
            NewPod("alone", "n3", ready: true),
            NewPod("crowded-a", "n4", ready: true),
            NewPod("crowded-b", "n4", ready: true, restarts: 3),
        };

        var order = ReplicaSetPlanner.PodsToDelete(pods, pods, 5, Now).Select(p => p.Metadata.Name).ToList();

        Assert.Equal(["cheap", "crowded-b", "crowded-a", "alone", "costly"], order);
    }

    [Fact]
    public void PodsToDelete_CountsThePodsOfTheOtherRevisionsOnTheNode()
    {
        // Equal but for the node: alone, "a" would go first (by name, the last tie-break).
        var pods = new List<Pod> { NewPod("a", "n1", ready: true), NewPod("b", "n2", ready: true) };
        Assert.Equal("a", ReplicaSetPlanner.PodsToDelete(pods, pods, 1, Now)[0].Metadata.Name);

        // A pod of the Deployment's old ReplicaSet shares n2: "b" is the doubled-up one.
        List<Pod> related = [.. pods, NewPod("old-revision", "n2", ready: true)];
        Assert.Equal("b", ReplicaSetPlanner.PodsToDelete(pods, related, 1, Now)[0].Metadata.Name);

        var rs = NewReplicaSet(1);
        Assert.Equal("b", Assert.Single(ReplicaSetPlanner.Plan(rs, pods, burst: 500, Now, () => related).Delete).Metadata.Name);
    }

    [Fact]
    public void Status_CountsReadyAvailableAndFullyLabeledPods()
    {
        var rs = NewReplicaSet(3, minReadySeconds: 10);
        var full = NewPod("full", "n1", ready: true, readyForSeconds: 30);
        full.Metadata.Labels = new() { ["app"] = "web", ["tier"] = "front" };
        var recent = NewPod("recent", "n1", ready: true, readyForSeconds: 5);
        recent.Metadata.Labels = new() { ["app"] = "web" };
        var starting = NewPod("starting", "n1", ready: false);

        var status = ReplicaSetPlanner.Status(rs, [full, recent, starting], Now, null, null);

        Assert.Equal(3, status.Replicas);
        Assert.Equal(1, status.FullyLabeledReplicas);
        Assert.Equal(2, status.ReadyReplicas);
        Assert.Equal(1, status.AvailableReplicas);
        Assert.Equal(4, status.ObservedGeneration);
        Assert.Equal(Now.AddSeconds(5), PodState.AvailableAt(recent, 10, Now));
    }

    [Fact]
    public void Status_WhenManagingFailed_SetsReplicaFailureUntilItSucceeds()
    {
        var rs = NewReplicaSet(1);

        var failed = ReplicaSetPlanner.Status(rs, [], Now, "FailedCreate", "pods \"web-x\" is forbidden");
        var condition = Assert.Single(failed.Conditions!);
        Assert.Equal(("ReplicaFailure", "True", "FailedCreate"), (condition.Type, condition.Status, condition.Reason));

        rs.Status = failed;
        Assert.Null(ReplicaSetPlanner.Status(rs, [], Now, null, null).Conditions);
    }

    [Fact]
    public void PodFromTemplate_SetsGenerateNameLabelsAndControllerReference()
    {
        var rs = NewReplicaSet(1);

        var pod = ReplicaSetPlanner.PodFromTemplate(rs, ReplicaSetPlanner.EncodeTemplate(rs));

        Assert.Equal("web-", pod.Metadata.GenerateName);
        Assert.Equal("front", pod.Metadata.Labels!["tier"]);
        var owner = Assert.Single(pod.Metadata.OwnerReferences!);
        Assert.True(owner is { Kind: "ReplicaSet", ApiVersion: "apps/v1", Name: "web", Uid: "u1", Controller: true, BlockOwnerDeletion: true });
        Assert.NotSame(rs.Spec.Template.Metadata!.Labels, pod.Metadata.Labels);
    }

    [Fact]
    public void PodFromTemplate_OfOneEncodedTemplate_GivesEveryPodItsOwnCopy()
    {
        var rs = NewReplicaSet(2);
        rs.Spec.Template.Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "img:1" }] };
        var template = ReplicaSetPlanner.EncodeTemplate(rs);

        var first = ReplicaSetPlanner.PodFromTemplate(rs, template);
        var second = ReplicaSetPlanner.PodFromTemplate(rs, template);
        first.Metadata.Labels!["tier"] = "changed";
        first.Spec.Containers[0].Image = "changed";

        Assert.Equal("front", second.Metadata.Labels!["tier"]);
        Assert.Equal("img:1", second.Spec.Containers[0].Image);
        Assert.Equal("img:1", rs.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal("front", rs.Spec.Template.Metadata!.Labels!["tier"]);
    }
}
