using Verge.Agent.Pods;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class PodAdmissionTests
{
    [Fact]
    public void Check_AdmitsPodsOfTheNodesOSAndPodsThatNameNone()
    {
        Assert.Null(PodAdmission.Check(PodTestHost.MakePod("plain"), "linux"));
        var linux = PodTestHost.MakePod("linux");
        linux.Spec.OS = new PodOS { Name = "linux" };
        linux.Metadata.Labels = new() { ["kubernetes.io/os"] = "linux" };
        Assert.Null(PodAdmission.Check(linux, "linux"));
    }

    [Fact]
    public void Check_RefusesAPodForAnotherOS_AsTheKubeletDoes()
    {
        var windows = PodTestHost.MakePod("win");
        windows.Spec.OS = new PodOS { Name = "windows" };
        Assert.Equal(new PodRejection("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS"), PodAdmission.Check(windows, "linux"));

        var labelled = PodTestHost.MakePod("labelled");
        labelled.Metadata.Labels = new() { ["kubernetes.io/os"] = "windows" };
        Assert.Equal("PodOSSelectorNodeLabelDoesNotMatch", PodAdmission.Check(labelled, "linux")!.Reason);
    }

    [Fact]
    public async Task WindowsPod_FailsWithPodOSNotSupported_AndNeverStarts()
    {
        await using var host = new PodTestHost();
        await host.StartAsync();
        var pod = PodTestHost.MakePod("win");
        pod.Spec.OS = new PodOS { Name = "windows" };

        await host.ApplyAsync(pod);

        await PodTestHost.Eventually(() => host.Status(pod)?.Phase == "Failed", "failed");
        var status = host.Status(pod)!;
        Assert.Equal("PodOSNotSupported", status.Reason);
        Assert.Equal("Pod was rejected: Failed to admit pod as the OS field doesn't match node OS", status.Message);
        Assert.Contains(host.Publisher.Events, e => e.Type == "Warning" && e.Reason == "PodOSNotSupported");
        Assert.Empty(host.Driver.Started);

        // Another sync of the same pod neither starts it nor fails it again.
        var events = host.Publisher.Events.Count;
        await host.ApplyAsync(new ConfigMap { Metadata = new() { Name = "poke", Namespace = "default" } });
        await host.Manager.SyncAsync(null, CancellationToken.None);
        Assert.Equal(events, host.Publisher.Events.Count);
        Assert.Single(host.Publisher.Statuses(pod.Metadata.Uid!));
        Assert.Empty(host.Driver.Started);
    }
}
