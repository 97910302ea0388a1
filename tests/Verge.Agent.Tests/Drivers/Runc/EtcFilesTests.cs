using Verge.Agent.Drivers.Runc;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Drivers.Runc;

public sealed class EtcFilesTests
{
    private static readonly HostAlias[] Aliases =
    [
        new HostAlias { Ip = "127.0.0.1", Hostnames = ["foo.local", "bar.local"] },
        new HostAlias { Ip = "10.1.2.3", Hostnames = ["foo.remote"] },
    ];

    [Fact]
    public void PodHosts_AppendsHostAliasesAsTheKubeletDoes()
    {
        Assert.Equal(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.88.0.5\tweb\n"
            + "\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n",
            EtcFiles.PodHosts("web", "10.88.0.5", Aliases));
        Assert.Equal(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.88.0.5\tweb\n",
            EtcFiles.PodHosts("web", "10.88.0.5", []));
    }

    [Fact]
    public void HostNetworkHosts_IsTheNodesFileFollowedByTheAliases()
    {
        const string node = "127.0.0.1 localhost\n192.168.1.20 edge-1\n";
        Assert.Equal(node + "\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n", EtcFiles.HostNetworkHosts(node, Aliases));
        Assert.Equal(node, EtcFiles.HostNetworkHosts(node, null));
    }

    [Fact]
    public void ParseResolvConf_AccumulatesNameserversAndOptions_AndKeepsTheLastSearchLine()
    {
        var settings = EtcFiles.ParseResolvConf("""
            # generated
            ; by a resolver manager
            nameserver 10.0.0.2
            search old.example
            nameserver   10.0.0.3
            search corp.example. . lab.example
            options ndots:2 timeout:3
            options timeout:1 rotate
            domain ignored.example
            """);

        Assert.Equal(["10.0.0.2", "10.0.0.3"], settings.Nameservers);
        Assert.Equal(["corp.example", "lab.example"], settings.Searches);
        Assert.Equal(["ndots:2", "timeout:1", "rotate"], settings.Options);
    }

    [Theory]
    [InlineData("Default")]
    [InlineData("ClusterFirst")]
    [InlineData("ClusterFirstWithHostNet")]
    [InlineData(null)]
    public void PodResolver_WithoutClusterDns_StartsFromTheNodeForEveryPolicyButNone(string? policy)
    {
        var node = new ResolverSettings(["10.0.0.2"], ["corp.example"], ["ndots:2"]);
        Assert.Equal(
            "search corp.example\nnameserver 10.0.0.2\noptions ndots:2\n",
            EtcFiles.RenderResolvConf(EtcFiles.PodResolver(node, policy, null)));
    }

    [Fact]
    public void PodResolver_MergesTheDnsConfigIntoTheNodesSettings()
    {
        var node = new ResolverSettings(["10.0.0.2", "10.0.0.3"], ["corp.example"], ["ndots:2", "rotate", "timeout:1"]);
        var config = new PodDnsConfig
        {
            Nameservers = ["10.0.0.3", "1.1.1.1"],
            Searches = ["svc.example", "corp.example"],
            Options = [new PodDnsConfigOption { Name = "ndots", Value = "5" }, new PodDnsConfigOption { Name = "edns0" }, new PodDnsConfigOption { Name = "timeout" }],
        };

        var settings = EtcFiles.PodResolver(node, "Default", config);

        Assert.Equal(["10.0.0.2", "10.0.0.3", "1.1.1.1"], settings.Nameservers);
        Assert.Equal(["corp.example", "svc.example"], settings.Searches);
        Assert.Equal(["ndots:5", "rotate", "timeout", "edns0"], settings.Options);
    }

    [Fact]
    public void PodResolver_UnderPolicyNone_HasOnlyTheDnsConfig()
    {
        var node = new ResolverSettings(["10.0.0.2"], ["corp.example"], ["ndots:2"]);
        var config = new PodDnsConfig { Nameservers = ["1.1.1.1"], Options = [new PodDnsConfigOption { Name = "ndots", Value = "1" }] };

        Assert.Equal("nameserver 1.1.1.1\noptions ndots:1\n", EtcFiles.RenderResolvConf(EtcFiles.PodResolver(node, "None", config)));
        Assert.Equal("", EtcFiles.RenderResolvConf(EtcFiles.PodResolver(node, "None", null)));
    }

    [Fact]
    public void PodResolver_CutsToTheResolversLimits_AndSaysWhat()
    {
        var node = new ResolverSettings(["10.0.0.1", "10.0.0.2", "10.0.0.3"], [.. Enumerable.Range(0, 30).Select(i => $"n{i}.example")], []);
        var config = new PodDnsConfig { Nameservers = ["1.1.1.1"], Searches = ["a.example", new string('x', 254), "b.example", "c.example"] };
        var warnings = new List<string>();

        var settings = EtcFiles.PodResolver(node, "Default", config, warnings);

        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], settings.Nameservers);
        Assert.Equal(31, settings.Searches.Count);
        Assert.Equal("a.example", settings.Searches[^1]);
        Assert.DoesNotContain(settings.Searches, s => s.Length > 253);
        Assert.Equal(
        [
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.1 10.0.0.2 10.0.0.3",
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " + string.Join(' ', settings.Searches),
        ], warnings);
    }

    [Fact]
    public void PodResolver_DropsSearchPathsFromTheEndPast2048Characters()
    {
        var label = new string('a', 60);
        var searches = Enumerable.Range(0, 10).Select(i => $"{label}.{label}.{label}.{i}{new string('b', 58)}").ToList();
        var settings = EtcFiles.PodResolver(ResolverSettings.Empty, "None", new PodDnsConfig { Searches = searches });

        Assert.Equal(searches[..8], settings.Searches);
        Assert.True(string.Join(' ', settings.Searches).Length <= 2048);
    }
}
