using Verge.Agent.Gateway;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Gateway;

public sealed class LocalPodsTests
{
    private static PodStatus Status(string phase, string? ip, string ready) => new()
    {
        Phase = phase,
        PodIP = ip,
        Conditions = [new PodCondition { Type = "Ready", Status = ready }],
    };

    [Fact]
    public void ListReadyPods_OnlyRunningReadyPodsWithAnAddress()
    {
        var labels = new Dictionary<string, string> { ["app"] = "sink" };
        var pods = new LocalPods(() =>
        [
            ("default", "ready", labels, Status("Running", "10.0.0.2", "True")),
            ("default", "not-ready", labels, Status("Running", "10.0.0.3", "False")),
            ("default", "pending", labels, Status("Pending", null, "False")),
            ("default", "no-ip", labels, Status("Running", "", "True")),
            ("default", "no-status", labels, null),
            ("other", "no-labels", null, Status("Running", "10.0.0.4", "True")),
        ]);

        var ready = pods.ListReadyPods();

        Assert.Equal(["default/ready 10.0.0.2 app=sink", "other/no-labels 10.0.0.4 "], ready.Select(p => $"{p.Namespace}/{p.Name} {p.PodIp} {string.Join(',', p.Labels.Select(l => $"{l.Key}={l.Value}"))}"));
    }
}
