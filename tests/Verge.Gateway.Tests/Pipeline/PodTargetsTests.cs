using Verge.Core.Edge;
using Verge.Core.Selectors;
using Verge.Gateway.Pipeline;

namespace Verge.Gateway.Tests.Pipeline;

public sealed class PodTargetsTests
{
    private static readonly HttpAction ToSinks = new()
    {
        PodSelector = new LabelSelector { MatchLabels = new() { ["app"] = "sink" } },
        Port = 8080,
        Path = "/ingest",
    };

    private sealed class Pods(params LocalPod[] pods) : ILocalPods
    {
        public List<LocalPod> Current { get; } = [.. pods];

        public IReadOnlyList<LocalPod> ListReadyPods() => Current;
    }

    private static LocalPod Pod(string name, string ip, string app = "sink", string ns = "default") =>
        new(ns, name, new Dictionary<string, string> { ["app"] = app }, ip);

    [Fact]
    public void Resolve_SeveralMatches_TakesThemInTurn()
    {
        var targets = new PodTargets(new Pods(Pod("sink-b", "10.0.0.12"), Pod("sink-a", "10.0.0.11"), Pod("other", "10.0.0.13", app: "web")));

        var urls = Enumerable.Range(0, 4).Select(_ => targets.Resolve("default", "r#0", ToSinks)!.ToString()).ToList();

        Assert.Equal(["http://10.0.0.11:8080/ingest", "http://10.0.0.12:8080/ingest", "http://10.0.0.11:8080/ingest", "http://10.0.0.12:8080/ingest"], urls);
    }

    [Fact]
    public void Resolve_OnlyPodsOfTheRulesNamespace()
    {
        var targets = new PodTargets(new Pods(Pod("sink-a", "10.0.0.11", ns: "other")));

        Assert.Null(targets.Resolve("default", "r#0", ToSinks));
        Assert.Equal("http://10.0.0.11:8080/ingest", targets.Resolve("other", "r#0", ToSinks)!.ToString());
    }

    [Fact]
    public void Resolve_NoMatchOrNoPodsOrNoAddress_IsNull()
    {
        Assert.Null(new PodTargets(new Pods(Pod("web", "10.0.0.11", app: "web"))).Resolve("default", "r#0", ToSinks));
        Assert.Null(new PodTargets(new Pods(Pod("sink", ""))).Resolve("default", "r#0", ToSinks));
        Assert.Null(new PodTargets(null).Resolve("default", "r#0", ToSinks));
    }

    [Fact]
    public void Resolve_FollowsPodsComingAndGoing()
    {
        var pods = new Pods();
        var targets = new PodTargets(pods);
        Assert.Null(targets.Resolve("default", "r#0", ToSinks));

        pods.Current.Add(Pod("sink-a", "10.0.0.11"));

        Assert.Equal("http://10.0.0.11:8080/ingest", targets.Resolve("default", "r#0", ToSinks)!.ToString());
    }

    [Fact]
    public void Resolve_WithBadSelectorOperator_MatchesNothingAndDoesNotThrow()
    {
        var action = new HttpAction
        {
            PodSelector = new LabelSelector { MatchExpressions = [new LabelSelectorRequirement { Key = "app", Operator = "Near", Values = ["x"] }] },
            Port = 8080,
        };

        Assert.Null(new PodTargets(new Pods(Pod("sink-a", "10.0.0.11"))).Resolve("default", "r#0", action));
    }

    [Fact]
    public void Resolve_DefaultPathAndIpv6Address()
    {
        var action = new HttpAction { PodSelector = new LabelSelector { MatchLabels = new() { ["app"] = "sink" } }, Port = 80 };

        Assert.Equal("http://[fd00::5]/", new PodTargets(new Pods(Pod("sink-a", "fd00::5"))).Resolve("default", "r#0", action)!.ToString());
    }
}
