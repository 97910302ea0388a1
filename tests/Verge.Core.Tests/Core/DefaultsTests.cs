using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Core.Tests.Core;

public sealed class DefaultsTests
{
    [Fact]
    public void Pod_GetsKubernetesDefaults()
    {
        var pod = new Pod
        {
            Spec = new()
            {
                Containers =
                [
                    new()
                    {
                        Name = "a", Image = "nginx", Ports = [new() { Port = 80 }],
                        Resources = new() { Limits = new() { ["cpu"] = Quantity.Parse("1"), ["memory"] = Quantity.Parse("1Gi") }, Requests = new() { ["cpu"] = Quantity.Parse("500m") } },
                        LivenessProbe = new() { HttpGet = new() { Port = 80 } },
                    },
                ],
            },
        };
        CoreDefaults.Pod(pod);
        Assert.Equal("Always", pod.Spec.RestartPolicy);
        Assert.Equal(30, pod.Spec.TerminationGracePeriodSeconds);
        Assert.Equal("ClusterFirst", pod.Spec.DnsPolicy);
        Assert.Equal("default-scheduler", pod.Spec.SchedulerName);
        var container = pod.Spec.Containers[0];
        Assert.Equal("Always", container.ImagePullPolicy);
        Assert.Equal("/dev/termination-log", container.TerminationMessagePath);
        Assert.Equal("File", container.TerminationMessagePolicy);
        Assert.Equal("TCP", container.Ports![0].Protocol);
        Assert.Equal("500m", container.Resources!.Requests!["cpu"].ToString());
        Assert.Equal("1Gi", container.Resources.Requests["memory"].ToString());
        var probe = container.LivenessProbe!;
        Assert.Equal((10, 1, 1, 3), (probe.PeriodSeconds, probe.TimeoutSeconds, probe.SuccessThreshold, probe.FailureThreshold));
        Assert.Equal(("/", "HTTP"), (probe.HttpGet!.Path, probe.HttpGet.Scheme));
    }

    [Theory]
    [InlineData("nginx", "Always")]
    [InlineData("nginx:latest", "Always")]
    [InlineData("nginx:1.27", "IfNotPresent")]
    [InlineData("registry:5000/app", "Always")]
    [InlineData("registry:5000/app:v1", "IfNotPresent")]
    [InlineData("app@sha256:abc", "IfNotPresent")]
    public void Container_PullPolicyFollowsTheTag(string image, string policy)
    {
        var container = new Container { Name = "a", Image = image };
        CoreDefaults.Container(container);
        Assert.Equal(policy, container.ImagePullPolicy);
    }

    [Fact]
    public void Deployment_GetsKubernetesDefaults()
    {
        var deployment = new Deployment();
        AppsDefaults.Deployment(deployment);
        Assert.Equal(1, deployment.Spec.Replicas);
        Assert.Equal("RollingUpdate", deployment.Spec.Strategy!.Type);
        Assert.Equal("25%", deployment.Spec.Strategy.RollingUpdate!.MaxSurge!.Value.StringValue);
        Assert.Equal("25%", deployment.Spec.Strategy.RollingUpdate.MaxUnavailable!.Value.StringValue);
        Assert.Equal(10, deployment.Spec.RevisionHistoryLimit);
        Assert.Equal(600, deployment.Spec.ProgressDeadlineSeconds);
        Assert.Equal("Always", deployment.Spec.Template.Spec!.RestartPolicy);
    }

    [Fact]
    public void ReplicaSetAndDaemonSet_GetKubernetesDefaults()
    {
        var rs = new ReplicaSet();
        AppsDefaults.ReplicaSet(rs);
        Assert.Equal(1, rs.Spec.Replicas);

        var ds = new DaemonSet();
        AppsDefaults.DaemonSet(ds);
        Assert.Equal("RollingUpdate", ds.Spec.UpdateStrategy!.Type);
        Assert.Equal(new IntOrString(1), ds.Spec.UpdateStrategy.RollingUpdate!.MaxUnavailable);
        Assert.Equal(new IntOrString(0), ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge);
        Assert.Equal(10, ds.Spec.RevisionHistoryLimit);
    }

    [Fact]
    public void Secret_DefaultsToOpaque_AndMergesStringData()
    {
        var secret = new Secret { StringData = new() { ["k"] = "v" } };
        CoreDefaults.Secret(secret);
        Assert.Equal("Opaque", secret.Type);
        Assert.Equal("v"u8.ToArray(), secret.Data!["k"]);
        Assert.Null(secret.StringData);
    }
}
