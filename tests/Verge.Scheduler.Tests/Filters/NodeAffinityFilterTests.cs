using Verge.Core.Core;
using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Filters;

public sealed class NodeAffinityFilterTests
{
    private static ClusterSnapshot Nodes() => ClusterSnapshot.From(
    [
        Node("a", labels: Labels("verge.dev/site=north", "cores=4")),
        Node("b", labels: Labels("verge.dev/site=south", "cores=16", "gpu=yes")),
        Node("c"),
    ], []);

    private static string? Place(Pod pod)
    {
        var plan = Scheduler.Schedule(Nodes(), [pod], new SchedulerOptions { EnablePreemption = false, Seed = 3 });
        return plan.Bindings.Count == 1 ? plan.Bindings[0].NodeName : null;
    }

    [Fact]
    public void NodeSelector_PicksMatchingNode()
    {
        var pod = Pod("p");
        pod.Spec.NodeSelector = Labels("verge.dev/site=south");

        Assert.Equal("b", Place(pod));
    }

    [Fact]
    public void NodeNameField_FiltersOnlyTheNamedNodes_AndExplainsTheOthersAsAffinity()
    {
        // A daemon pod names its node with matchFields on metadata.name; the scheduler looks at that node alone.
        var pod = Pod("daemon", cpu: "2");
        pod.Spec.Affinity = new Affinity
        {
            NodeAffinity = new NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new NodeSelector
                {
                    NodeSelectorTerms = [new NodeSelectorTerm { MatchFields = [new NodeSelectorRequirement { Key = "metadata.name", Operator = "In", Values = ["b"] }] }],
                },
            },
        };
        Assert.Equal("b", Place(pod));

        var full = ClusterSnapshot.From([Node("a"), Node("b", cpu: "1"), Node("c")], []);
        var plan = Scheduler.Schedule(full, [pod], new SchedulerOptions { EnablePreemption = false });
        Assert.Equal("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].", Message(plan));
    }

    [Fact]
    public void NodeSelector_NoMatch_ReportsAffinityReason()
    {
        var pod = Pod("p");
        pod.Spec.NodeSelector = Labels("verge.dev/site=east");

        var plan = Scheduler.Schedule(Nodes(), [pod], new SchedulerOptions { EnablePreemption = false });

        Assert.Equal("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", Message(plan));
    }

    [Theory]
    [InlineData("In", "verge.dev/site", "north", "a")]
    [InlineData("NotIn", "verge.dev/site", "north,south", "c")]
    [InlineData("Exists", "gpu", "", "b")]
    [InlineData("Gt", "cores", "8", "b")]
    [InlineData("Lt", "cores", "8", "a")]
    public void RequiredAffinity_Operators(string op, string key, string values, string expected)
    {
        var pod = Pod("p").WithRequiredAffinity(new NodeSelectorTerm { MatchExpressions = [Req(key, op, values.Split(',', StringSplitOptions.RemoveEmptyEntries))] });

        Assert.Equal(expected, Place(pod));
    }

    [Fact]
    public void RequiredAffinity_DoesNotExist_ExcludesLabelledNodes()
    {
        var pod = Pod("p").WithRequiredAffinity(new NodeSelectorTerm { MatchExpressions = [Req("verge.dev/site", "DoesNotExist")] });

        Assert.Equal("c", Place(pod));
    }

    [Fact]
    public void RequiredAffinity_TermsAreOred_RequirementsAnded()
    {
        var impossible = new NodeSelectorTerm { MatchExpressions = [Req("verge.dev/site", "In", "north"), Req("gpu", "Exists")] };
        var south = new NodeSelectorTerm { MatchExpressions = [Req("verge.dev/site", "In", "south")] };

        Assert.Null(Place(Pod("p").WithRequiredAffinity(impossible)));
        Assert.Equal("b", Place(Pod("p").WithRequiredAffinity(impossible, south)));
    }

    [Fact]
    public void RequiredAffinity_MatchFieldsMetadataName()
    {
        var pod = Pod("p").WithRequiredAffinity(new NodeSelectorTerm { MatchFields = [Req("metadata.name", "In", "c")] });

        Assert.Equal("c", Place(pod));
    }

    [Fact]
    public void RequiredAffinity_EmptyTerm_MatchesNothing()
    {
        Assert.Null(Place(Pod("p").WithRequiredAffinity(new NodeSelectorTerm())));
    }

    [Fact]
    public void PreferredAffinity_HeaviestMatchingTermWins()
    {
        var pod = Pod("p")
            .WithPreferredAffinity(10, new NodeSelectorTerm { MatchExpressions = [Req("verge.dev/site", "In", "north")] })
            .WithPreferredAffinity(80, new NodeSelectorTerm { MatchExpressions = [Req("gpu", "Exists")] });

        Assert.Equal("b", Place(pod));
    }
}
