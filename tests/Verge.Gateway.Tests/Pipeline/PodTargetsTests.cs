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

    /// <summary>Labels that count how often they are read (each read is a pod matched against a selector).</summary>
    private sealed class CountingLabels(Dictionary<string, string> labels) : IReadOnlyDictionary<string, string>
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public int Count => Read().Count;

        public IEnumerable<string> Keys => Read().Keys;

        public IEnumerable<string> Values => Read().Values;

        public string this[string key] => Read()[key];

        public bool ContainsKey(string key) => Read().ContainsKey(key);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value) => Read().TryGetValue(key, out value);

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => Read().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private Dictionary<string, string> Read()
        {
            Interlocked.Increment(ref _reads);
            return labels;
        }
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
    public void Resolve_WhenAPodChangesAddressOrLabels_FollowsIt()
    {
        var pods = new Pods(Pod("sink-a", "10.0.0.11"));
        var targets = new PodTargets(pods);
        Assert.Equal("http://10.0.0.11:8080/ingest", targets.Resolve("default", "r#0", ToSinks)!.ToString());

        pods.Current[0] = Pod("sink-a", "10.0.0.21");
        var moved = targets.Resolve("default", "r#0", ToSinks)!.ToString();
        pods.Current[0] = Pod("sink-a", "10.0.0.21", app: "web");

        Assert.Equal("http://10.0.0.21:8080/ingest", moved);
        Assert.Null(targets.Resolve("default", "r#0", ToSinks));
    }

    [Fact]
    public void Resolve_WhilePodsStayTheSame_DoesNotMatchThemAgain()
    {
        var labels = new CountingLabels(new Dictionary<string, string> { ["app"] = "sink" });
        var pods = new Pods(new LocalPod("default", "sink-b", labels, "10.0.0.12"), new LocalPod("default", "sink-a", labels, "10.0.0.11"));
        var targets = new PodTargets(pods);
        var first = targets.Resolve("default", "r#0", ToSinks)!.ToString();
        var readsAfterFirst = labels.Reads;

        var next = Enumerable.Range(0, 3).Select(_ => targets.Resolve("default", "r#0", ToSinks)!.ToString()).ToList();

        Assert.True(readsAfterFirst > 0);
        Assert.Equal(readsAfterFirst, labels.Reads);
        Assert.Equal(["http://10.0.0.11:8080/ingest", "http://10.0.0.12:8080/ingest", "http://10.0.0.11:8080/ingest", "http://10.0.0.12:8080/ingest"], [first, .. next]);
    }

    [Fact]
    public void Resolve_AfterClear_UsesTheReloadedSelector()
    {
        var targets = new PodTargets(new Pods(Pod("sink-a", "10.0.0.11"), Pod("web-a", "10.0.0.12", app: "web")));
        Assert.Equal("http://10.0.0.11:8080/ingest", targets.Resolve("default", "r#0", ToSinks)!.ToString());
        var toWeb = new HttpAction { PodSelector = new LabelSelector { MatchLabels = new() { ["app"] = "web" } }, Port = 8080, Path = "/ingest" };

        targets.Clear();

        Assert.Equal("http://10.0.0.12:8080/ingest", targets.Resolve("default", "r#0", toWeb)!.ToString());
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
