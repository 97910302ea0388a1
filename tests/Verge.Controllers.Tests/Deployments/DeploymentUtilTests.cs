using System.Text;
using Verge.Controllers.Deployments;
using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;

namespace Verge.Controllers.Tests.Deployments;

public class DeploymentUtilTests
{
    private static PodTemplateSpec Template(string image) => new()
    {
        Metadata = new ObjectMeta { Labels = new() { ["app"] = "web" } },
        Spec = new PodSpec { Containers = [new Container { Name = "web", Image = image }] },
    };

    private static Deployment NewDeployment(int replicas, string surge = "25%", string unavailable = "25%") => new()
    {
        Metadata = new ObjectMeta { Name = "web", Namespace = "default" },
        Spec = new DeploymentSpec
        {
            Replicas = replicas,
            Template = Template("web:1"),
            Strategy = new DeploymentStrategy
            {
                Type = "RollingUpdate",
                RollingUpdate = new RollingUpdateDeployment { MaxSurge = Parse(surge), MaxUnavailable = Parse(unavailable) },
            },
        },
    };

    private static IntOrString Parse(string s) => s.EndsWith('%') ? new IntOrString(s) : new IntOrString(int.Parse(s));

    private static ReplicaSet NewReplicaSet(string name, int replicas, string? maxReplicas = null, int ageSeconds = 0) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = name,
            CreationTimestamp = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(-ageSeconds),
            Annotations = maxReplicas is null ? null : new() { [DeploymentUtil.MaxReplicasAnnotation] = maxReplicas },
        },
        Spec = new ReplicaSetSpec { Replicas = replicas, Template = Template("web:1") },
    };

    [Theory]
    [InlineData("25%", "25%", 10, 3, 2)]
    [InlineData("25%", "25%", 1, 1, 0)]
    [InlineData("0", "0", 5, 0, 1)]
    [InlineData("1", "0", 3, 1, 0)]
    [InlineData("50%", "33%", 3, 2, 0)]
    public void ResolveFenceposts_RoundsSurgeUpAndUnavailableDown(string surge, string unavailable, int desired, int expectedSurge, int expectedUnavailable)
    {
        Assert.Equal((expectedSurge, expectedUnavailable), DeploymentUtil.ResolveFenceposts(Parse(surge), Parse(unavailable), desired));
    }

    [Fact]
    public void Fnv32a_MatchesTheReferenceVectors()
    {
        Assert.Equal(0x811c9dc5u, PodTemplateHash.Fnv32a([], 2166136261));
        Assert.Equal(0xe40c292cu, PodTemplateHash.Fnv32a(Encoding.ASCII.GetBytes("a"), 2166136261));
        Assert.Equal(0xbf9cf968u, PodTemplateHash.Fnv32a(Encoding.ASCII.GetBytes("foobar"), 2166136261));
    }

    [Fact]
    public void SafeEncode_MapsDigitsAsKubernetesDoes()
    {
        Assert.Equal("456789bcdf", PodTemplateHash.SafeEncode("0123456789"));
    }

    [Fact]
    public void Compute_IsStableForATemplateAndMovesWithTheTemplateAndCollisionCount()
    {
        var hash = PodTemplateHash.Compute(Template("web:1"), null);

        Assert.Equal(hash, PodTemplateHash.Compute(Template("web:1"), null));
        Assert.NotEqual(hash, PodTemplateHash.Compute(Template("web:2"), null));
        Assert.NotEqual(hash, PodTemplateHash.Compute(Template("web:1"), 1));
        Assert.Matches("^[bcdfghjklmnpqrstvwxz2456789]{1,10}$", hash);
    }

    [Fact]
    public void EqualIgnoreHash_IgnoresOnlyThePodTemplateHashLabel()
    {
        var withHash = Template("web:1");
        withHash.Metadata!.Labels![PodTemplateHash.Label] = "abc";

        Assert.True(DeploymentUtil.EqualIgnoreHash(Template("web:1"), withHash));
        Assert.False(DeploymentUtil.EqualIgnoreHash(Template("web:2"), withHash));
    }

    [Fact]
    public void NewReplicaSetReplicas_GrowsTheNewReplicaSetWithinMaxSurge()
    {
        var d = NewDeployment(4, surge: "1", unavailable: "0");
        var old = NewReplicaSet("old", 4);
        var fresh = NewReplicaSet("new", 0);

        Assert.Equal(1, DeploymentUtil.NewReplicaSetReplicas(d, [old, fresh], fresh));
        old.Spec.Replicas = 2;
        fresh.Spec.Replicas = 1;
        Assert.Equal(3, DeploymentUtil.NewReplicaSetReplicas(d, [old, fresh], fresh));
    }

    [Fact]
    public void Proportion_SplitsAScaleUpByEachReplicaSetsShare()
    {
        // 10 replicas with maxSurge 3 (at most 13) mid-rollout, scaled to 20 (at most 23): 10 more to place,
        // each ReplicaSet growing to its share of 23 (8/13 of it is 14.2, 5/13 is 8.8, rounded).
        var d = NewDeployment(20, surge: "3", unavailable: "2");
        var big = NewReplicaSet("big", 8, maxReplicas: "13");
        var small = NewReplicaSet("small", 5, maxReplicas: "13");

        var first = DeploymentUtil.Proportion(big, d, 10, 0);
        var second = DeploymentUtil.Proportion(small, d, 10, first);

        Assert.Equal(6, first);
        Assert.Equal(4, second);
    }

    [Fact]
    public void SetNewReplicaSetAnnotations_WhenAnOldReplicaSetIsReused_KeepsItsRevisionInHistory()
    {
        var d = NewDeployment(2);
        d.Metadata.Annotations = new() { ["kubernetes.io/change-cause"] = "rollback", [DeploymentUtil.RevisionAnnotation] = "2" };
        var rs = NewReplicaSet("old", 0);
        rs.Metadata.Annotations = new() { [DeploymentUtil.RevisionAnnotation] = "1" };

        Assert.True(DeploymentUtil.SetNewReplicaSetAnnotations(d, rs, 3, exists: true));

        Assert.Equal("3", rs.Metadata.Annotations[DeploymentUtil.RevisionAnnotation]);
        Assert.Equal("1", rs.Metadata.Annotations[DeploymentUtil.RevisionHistoryAnnotation]);
        Assert.Equal("rollback", rs.Metadata.Annotations["kubernetes.io/change-cause"]);
        Assert.False(DeploymentUtil.SetNewReplicaSetAnnotations(d, rs, 3, exists: true));
    }

    [Fact]
    public void CalculateStatus_ReportsAvailabilityAgainstMaxUnavailable()
    {
        var d = NewDeployment(4);
        var rs = NewReplicaSet("web", 4);
        rs.Status = new ReplicaSetStatus { Replicas = 4, ReadyReplicas = 3, AvailableReplicas = 3 };
        var now = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var status = DeploymentUtil.CalculateStatus([rs], rs, d, now);

        Assert.Equal((4, 4, 3, 3, 1), (status.Replicas, status.UpdatedReplicas, status.ReadyReplicas, status.AvailableReplicas, status.UnavailableReplicas));
        var available = DeploymentUtil.Condition(status, "Available")!;
        Assert.Equal(("True", "MinimumReplicasAvailable", "Deployment has minimum availability."), (available.Status, available.Reason, available.Message));

        rs.Status.AvailableReplicas = 2;
        var short_ = DeploymentUtil.CalculateStatus([rs], rs, d, now);
        Assert.Equal("MinimumReplicasUnavailable", DeploymentUtil.Condition(short_, "Available")!.Reason);
    }

    [Fact]
    public void FindActiveOrLatest_WhenSeveralAreActive_ReturnsNull()
    {
        var a = NewReplicaSet("a", 1, ageSeconds: 10);
        var b = NewReplicaSet("b", 0, ageSeconds: 5);
        var c = NewReplicaSet("c", 2);

        Assert.Same(a, DeploymentUtil.FindActiveOrLatest(b, [a]));
        Assert.Null(DeploymentUtil.FindActiveOrLatest(c, [a]));
        Assert.Same(b, DeploymentUtil.FindActiveOrLatest(b, [NewReplicaSet("z", 0, ageSeconds: 20)]));
    }
}
