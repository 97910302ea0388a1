using Verge.Controllers.Nodes;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Controllers.Tests.Nodes;

public class SiteDisruptionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(10, 0, "Normal")]
    [InlineData(10, 5, "Normal")]
    [InlineData(10, 6, "PartialDisruption")]
    [InlineData(3, 2, "PartialDisruption")]
    [InlineData(2, 1, "Normal")]
    [InlineData(2, 2, "FullDisruption")]
    [InlineData(1, 1, "FullDisruption")]
    [InlineData(100, 55, "PartialDisruption")]
    [InlineData(100, 54, "Normal")]
    public void StateOf_FollowsTheUnhealthyShareOfSitesWithEnoughNodes(int total, int notReady, string expected) =>
        Assert.Equal(Enum.Parse<DisruptionState>(expected), SiteDisruption.StateOf(total, notReady, 0.55, 3));

    [Fact]
    public void SiteOf_UsesTheSiteLabelThenTheZoneLabel()
    {
        Assert.Equal("plant-a", SiteDisruption.SiteOf(NodeWith(("verge.dev/site", "plant-a"), ("topology.kubernetes.io/zone", "z1"))));
        Assert.Equal("z1", SiteDisruption.SiteOf(NodeWith(("topology.kubernetes.io/zone", "z1"))));
        Assert.Equal("", SiteDisruption.SiteOf(NodeWith()));
    }

    [Fact]
    public void Update_WhenAFewNodesOfASiteAreNotReady_ReleasesThemAtOnce()
    {
        var disruption = new SiteDisruption(new NodeLifecycleOptions());
        var nodes = Site("a", 10, notReady: 2);

        var changes = disruption.Update(nodes, T0);

        Assert.Empty(changes.Sites);
        Assert.Null(changes.ControlPlaneDisrupted);
        Assert.True(disruption.IsEvictable("a-0"));
        Assert.True(disruption.IsEvictable("a-1"));
        Assert.False(disruption.IsEvictable("a-2"));
    }

    [Fact]
    public void Update_WhenMostNodesOfASiteGoNotReady_ReleasesThemAtTheSecondaryRate()
    {
        var disruption = new SiteDisruption(new NodeLifecycleOptions { SecondaryEvictionRate = 0.01 });
        var nodes = Site("a", 4, notReady: 3).Concat(Site("b", 2, notReady: 0)).ToList();

        var changes = disruption.Update(nodes, T0);

        Assert.Equal([("a", DisruptionState.Normal, DisruptionState.PartialDisruption)], changes.Sites);
        Assert.Equal(DisruptionState.PartialDisruption, disruption.States["a"]);
        Assert.Equal(1, Evictable(disruption, nodes));

        disruption.Update(nodes, T0.AddSeconds(99));
        Assert.Equal(1, Evictable(disruption, nodes));
        disruption.Update(nodes, T0.AddSeconds(100));
        Assert.Equal(2, Evictable(disruption, nodes));
        disruption.Update(nodes, T0.AddSeconds(150));
        Assert.Equal(2, Evictable(disruption, nodes));
        disruption.Update(nodes, T0.AddSeconds(200));
        Assert.Equal(3, Evictable(disruption, nodes));
    }

    [Fact]
    public void Update_WhenTheSecondaryRateIsZero_ReleasesNothingInAPartiallyDisruptedSite()
    {
        var disruption = new SiteDisruption(new NodeLifecycleOptions { SecondaryEvictionRate = 0 });
        var nodes = Site("a", 3, notReady: 2).Concat(Site("b", 1, notReady: 0)).ToList();

        disruption.Update(nodes, T0);
        disruption.Update(nodes, T0.AddHours(1));

        Assert.Equal(0, Evictable(disruption, nodes));
    }

    [Fact]
    public void Update_WhenEveryNodeOfEverySiteIsNotReady_ReleasesNoneAndTakesBackEarlierOnes()
    {
        var disruption = new SiteDisruption(new NodeLifecycleOptions());
        var first = Site("a", 2, notReady: 1).Concat(Site("b", 1, notReady: 0)).ToList();
        disruption.Update(first, T0);
        Assert.True(disruption.IsEvictable("a-0"));

        var dark = Site("a", 2, notReady: 2).Concat(Site("b", 1, notReady: 1)).ToList();
        var changes = disruption.Update(dark, T0.AddSeconds(1));

        Assert.True(changes.ControlPlaneDisrupted);
        Assert.True(disruption.ControlPlaneDisrupted);
        Assert.Equal(0, Evictable(disruption, dark));

        // One node is back: the control plane is reachable, and the others are dead after all.
        var oneBack = Site("a", 2, notReady: 2).Concat(Site("b", 1, notReady: 0)).ToList();
        changes = disruption.Update(oneBack, T0.AddSeconds(2));
        Assert.False(changes.ControlPlaneDisrupted);
        Assert.False(disruption.ControlPlaneDisrupted);
        Assert.True(disruption.IsEvictable("a-0"));
        Assert.True(disruption.IsEvictable("a-1"));
        Assert.Equal(DisruptionState.FullDisruption, disruption.States["a"]);
    }

    [Fact]
    public void Update_WithAnEvictionRate_ReleasesOldestNotReadyFirstAtThatRate()
    {
        var disruption = new SiteDisruption(new NodeLifecycleOptions { EvictionRate = 0.5 });
        var nodes = Site("a", 10, notReady: 1);
        disruption.Update(nodes, T0);
        Assert.True(disruption.IsEvictable("a-0"));

        // a-2 goes NotReady before a-1: it is released first, one node per 2 s.
        List<NodeHealth> later = [.. nodes.Select(n => n.Name == "a-2" ? n with { NotReady = true } : n)];
        disruption.Update(later, T0.AddSeconds(1));
        List<NodeHealth> latest = [.. later.Select(n => n.Name == "a-1" ? n with { NotReady = true } : n)];
        disruption.Update(latest, T0.AddSeconds(1.5));
        Assert.False(disruption.IsEvictable("a-2"));
        disruption.Update(latest, T0.AddSeconds(2));
        Assert.True(disruption.IsEvictable("a-2"));
        Assert.False(disruption.IsEvictable("a-1"));
        disruption.Update(latest, T0.AddSeconds(4));
        Assert.True(disruption.IsEvictable("a-1"));
    }

    [Fact]
    public void Update_WhenANodeIsReadyAgainOrGone_TakesItBack()
    {
        var disruption = new SiteDisruption(new NodeLifecycleOptions());
        disruption.Update(Site("a", 5, notReady: 2), T0);
        Assert.True(disruption.IsEvictable("a-1"));

        disruption.Update([.. Site("a", 5, notReady: 1).Where(n => n.Name != "a-0")], T0.AddSeconds(1));

        Assert.False(disruption.IsEvictable("a-0"));
        Assert.False(disruption.IsEvictable("a-1"));
    }

    [Fact]
    public void Options_WithBadDisruptionSettings_AreRejected()
    {
        Assert.Throws<ArgumentException>(() => new NodeLifecycleOptions { EvictionRate = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new NodeLifecycleOptions { SecondaryEvictionRate = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new NodeLifecycleOptions { UnhealthySiteThreshold = 1.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new NodeLifecycleOptions { DisruptionMinimumNodes = 0 }.Validate());
    }

    private static List<NodeHealth> Site(string site, int count, int notReady) =>
        [.. Enumerable.Range(0, count).Select(i => new NodeHealth($"{site}-{i}", site, i < notReady))];

    private static int Evictable(SiteDisruption disruption, IEnumerable<NodeHealth> nodes) => nodes.Count(n => disruption.IsEvictable(n.Name));

    private static Node NodeWith(params (string Key, string Value)[] labels) => new()
    {
        Metadata = new ObjectMeta { Name = "n", Labels = labels.ToDictionary(l => l.Key, l => l.Value) },
    };
}
