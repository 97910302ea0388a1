using System.Net;
using Verge.Agent.Drivers;
using Verge.Agent.Networking;
using Verge.Agent.Tests.Channel;
using Verge.Agent.Tests.Drivers.Runc;

namespace Verge.Agent.Tests.Networking;

/// <summary>CNI pod networking with the real plugins, and busybox httpd in runc containers inside the pods.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CniPodNetworkTests
{
    [Fact]
    public async Task Check_AsRootWithPlugins_IsAvailable()
    {
        await using var cni = new CniHarness();

        var (available, detail) = await cni.Network.CheckAsync(CancellationToken.None);

        Assert.True(available, detail);
    }

    [Fact]
    public async Task Check_WithoutPlugins_SaysWhichAreMissing()
    {
        var empty = Directory.CreateTempSubdirectory("verge-noplugins-").FullName;
        try
        {
            await using var cni = new CniHarness(pluginDir: empty);

            var (available, detail) = await cni.Network.CheckAsync(CancellationToken.None);

            Assert.False(available);
            Assert.Contains("bridge", detail, StringComparison.Ordinal);
            Assert.Contains("containernetworking-plugins", detail, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public async Task TwoPods_GetDifferentIpsOnTheBridge_AndHostReachesBothOn8080()
    {
        await using var cni = new CniHarness();
        await using var runc = new RuncHarness();

        var first = await cni.Network.SetUpAsync(cni.Pod(), RuncHarness.Timeout);
        var second = await cni.Network.SetUpAsync(cni.Pod(), RuncHarness.Timeout);

        Assert.NotEqual(first.PodIp, second.PodIp);
        Assert.StartsWith($"10.213.{cni.Octet}.", first.PodIp, StringComparison.Ordinal);
        Assert.StartsWith($"10.213.{cni.Octet}.", second.PodIp, StringComparison.Ordinal);
        foreach (var pod in new[] { first, second })
        {
            await runc.StartAsync(Httpd(runc, pod));
        }

        Assert.Equal("hello from verge\n", await GetAsync($"http://{first.PodIp}:8080/index.html"));
        Assert.Equal("hello from verge\n", await GetAsync($"http://{second.PodIp}:8080/index.html"));
    }

    [Fact]
    public async Task ContainerInPod_SeesItsAddressOnEth0_AndHostsMapsItsHostnameToIt()
    {
        await using var cni = new CniHarness();
        await using var runc = new RuncHarness();
        var pod = await cni.Network.SetUpAsync(cni.Pod(), RuncHarness.Timeout);
        var config = runc.Task("/bin/sh", "-c", "ip -4 -o addr show dev eth0; cat /etc/hosts; ls /sys/class/net") with
        {
            NetworkNamespacePath = pod.NamespacePath,
            Hostname = "web-0",
        };

        var handle = await runc.StartAsync(config);
        await runc.Driver.WaitAsync(handle, RuncHarness.Timeout);

        var log = await File.ReadAllTextAsync(config.LogPath);
        Assert.Contains($"inet {pod.PodIp}/24", log, StringComparison.Ordinal);
        Assert.Contains($"{pod.PodIp}\tweb-0", log, StringComparison.Ordinal);
        Assert.DoesNotContain(cni.Options.BridgeName, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostPort_ThroughPortmap_ReachesThePod()
    {
        await using var cni = new CniHarness();
        await using var runc = new RuncHarness();
        var hostPort = Random.Shared.Next(20_000, 30_000);

        var pod = await cni.Network.SetUpAsync(cni.Pod(new PortMapping(hostPort, 8080, "TCP")), RuncHarness.Timeout);
        await runc.StartAsync(Httpd(runc, pod));

        // Locally generated traffic to a local address goes through portmap's DNAT in the OUTPUT chain: the node's
        // own address on the pod bridge, and localhost (portmap's snat turns on route_localnet).
        Assert.Equal("hello from verge\n", await GetAsync($"http://10.213.{cni.Octet}.1:{hostPort}/index.html"));
        Assert.Equal("hello from verge\n", await GetAsync($"http://127.0.0.1:{hostPort}/index.html"));
    }

    [Fact]
    public async Task TearDown_ReleasesTheIpAndNamespace_AndIsIdempotent()
    {
        await using var cni = new CniHarness();
        var request = cni.Pod();
        var status = await cni.Network.SetUpAsync(request, RuncHarness.Timeout);
        var lease = Path.Combine(cni.StateDir, "ipam", cni.Options.NetworkName, status.PodIp);
        Assert.True(File.Exists(lease));
        Assert.True(File.Exists(status.NamespacePath));
        Assert.Equal([request.PodUid], cni.NewNetwork().ListPods());

        await cni.Network.TearDownAsync(request.PodUid, RuncHarness.Timeout);
        await cni.Network.TearDownAsync(request.PodUid, RuncHarness.Timeout);

        Assert.False(File.Exists(lease));
        Assert.False(File.Exists(status.NamespacePath));
        Assert.Equal(0, cni.Network.TrackedPods);
        Assert.Empty(cni.Network.ListPods());
    }

    [Fact]
    public async Task SetUp_ForPodWithLiveNamespace_ReturnsRecordedStatus_AlsoAfterRestart()
    {
        await using var cni = new CniHarness();
        var request = cni.Pod();
        var status = await cni.Network.SetUpAsync(request, RuncHarness.Timeout);

        var again = await cni.Network.SetUpAsync(request, RuncHarness.Timeout);
        var afterRestart = await cni.NewNetwork().SetUpAsync(request, RuncHarness.Timeout);

        Assert.Equal(status, again);
        Assert.Equal(status, afterRestart);
        Assert.Single(Directory.GetFiles(Path.Combine(cni.StateDir, "ipam", cni.Options.NetworkName), "10.*"));
    }

    [Fact]
    public async Task SetUp_AfterNamespaceVanished_ReleasesTheOldLeaseAndSetsUpAfresh()
    {
        await using var cni = new CniHarness();
        var request = cni.Pod();
        var before = await cni.Network.SetUpAsync(request, RuncHarness.Timeout);

        // What a reboot does to /var/run/netns (a tmpfs), while the agent's state dir survives.
        using (var ip = System.Diagnostics.Process.Start("ip", ["netns", "delete", Path.GetFileName(before.NamespacePath)]))
        {
            await ip.WaitForExitAsync();
            Assert.Equal(0, ip.ExitCode);
        }

        var after = await cni.NewNetwork().SetUpAsync(request, RuncHarness.Timeout);

        Assert.True(File.Exists(after.NamespacePath));
        var leases = Directory.GetFiles(Path.Combine(cni.StateDir, "ipam", cni.Options.NetworkName), "10.*");
        Assert.Equal([after.PodIp], leases.Select(Path.GetFileName));
    }

    [Fact]
    public async Task SetUp_WhenPluginFails_ThrowsItsMessageAndUndoesTheNamespace()
    {
        // A /30 has room for the gateway and one pod: the second pod's host-local ADD fails with a CNI error.
        await using var cni = new CniHarness(subnet: $"10.213.{Random.Shared.Next(1, 255)}.252/30");
        await cni.Network.SetUpAsync(cni.Pod(), RuncHarness.Timeout);
        var second = cni.Pod();

        var error = await Assert.ThrowsAsync<CniException>(() => cni.Network.SetUpAsync(second, RuncHarness.Timeout));

        Assert.Contains("bridge", error.Message, StringComparison.Ordinal);
        Assert.Contains("no IP addresses available", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine("/var/run/netns", cni.Options.NetnsPrefix + second.PodUid)));
    }

    [Fact]
    public async Task SetUp_WhenItsRecordCannotBeSaved_FailsAndLeavesNoNamespace()
    {
        await using var cni = new CniHarness();
        // A file where the records' directory belongs: the namespace is made, then saving its record fails.
        await File.WriteAllTextAsync(Path.Combine(cni.StateDir, "pods"), "not a directory");
        var request = cni.Pod();

        await Assert.ThrowsAsync<IOException>(() => cni.Network.SetUpAsync(request, RuncHarness.Timeout));

        Assert.DoesNotContain(cni.Options.NetnsPrefix + request.PodUid, await ListNamespacesAsync());
    }

    [Fact]
    public async Task SetUp_WhenAPluginFailsAndSoDoesItsDel_StillRemovesTheNamespace()
    {
        // A bridge that refuses ADD and DEL alike: loopback ADD has run in the namespace, the undo's DEL fails.
        var plugins = await PluginsWithBridgeAsync("""
            cat >/dev/null
            echo '{"cniVersion":"1.0.0","code":11,"msg":"bridge refuses"}'
            exit 1
            """);
        try
        {
            await using var cni = new CniHarness(pluginDir: plugins);
            var request = cni.Pod();

            var error = await Assert.ThrowsAsync<CniException>(() => cni.Network.SetUpAsync(request, RuncHarness.Timeout));

            Assert.Contains("bridge refuses", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(cni.Options.NetnsPrefix + request.PodUid, await ListNamespacesAsync());

            // The record stays, so a later tear-down (once DEL works again) releases what the failed DEL could not.
            var record = Path.Combine(cni.StateDir, "pods", request.PodUid + ".json");
            Assert.True(File.Exists(record));
            await File.WriteAllTextAsync(Path.Combine(plugins, "bridge"), "#!/bin/sh\ncat >/dev/null\n");
            await cni.Network.TearDownAsync(request.PodUid, RuncHarness.Timeout);
            Assert.False(File.Exists(record));
        }
        finally
        {
            Directory.Delete(plugins, recursive: true);
        }
    }

    [Fact]
    public async Task SetUp_CancelledWhileAPluginRuns_LeavesNoNamespace()
    {
        // A bridge whose ADD runs until it is stopped (it marks that it started) and whose DEL succeeds.
        var plugins = await PluginsWithBridgeAsync("""
            cat >/dev/null
            if [ "$CNI_COMMAND" = ADD ]; then touch "$0.started"; exec sleep 600; fi
            """);
        var started = Path.Combine(plugins, "bridge.started");
        try
        {
            await using var cni = new CniHarness(pluginDir: plugins);
            var request = cni.Pod();
            using var cancel = new CancellationTokenSource();

            var setUp = cni.Network.SetUpAsync(request, cancel.Token);
            await ChannelHarness.EventuallyAsync(() => File.Exists(started), "the bridge plugin's ADD starts", seconds: 30);
            Assert.Contains(cni.Options.NetnsPrefix + request.PodUid, await ListNamespacesAsync());
            await cancel.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => setUp);
            Assert.DoesNotContain(cni.Options.NetnsPrefix + request.PodUid, await ListNamespacesAsync());
            Assert.False(File.Exists(Path.Combine(cni.StateDir, "pods", request.PodUid + ".json")));
        }
        finally
        {
            Directory.Delete(plugins, recursive: true);
        }
    }

    [Fact]
    public async Task TearDown_WhenDelFails_StillRemovesTheNamespace_AndALaterTearDownReleasesTheAddress()
    {
        // The real bridge, except that DEL fails until the test lets it work.
        var plugins = await PluginsWithBridgeAsync("""
            if [ "$CNI_COMMAND" = DEL ] && [ ! -e "$0.del-works" ]; then
              cat >/dev/null
              echo '{"cniVersion":"1.0.0","code":11,"msg":"bridge DEL refuses"}'
              exit 1
            fi
            exec /usr/lib/cni/bridge
            """);
        try
        {
            await using var cni = new CniHarness(pluginDir: plugins);
            var request = cni.Pod();
            var status = await cni.Network.SetUpAsync(request, RuncHarness.Timeout);
            var lease = Path.Combine(cni.StateDir, "ipam", cni.Options.NetworkName, status.PodIp);
            var record = Path.Combine(cni.StateDir, "pods", request.PodUid + ".json");

            var error = await Assert.ThrowsAsync<CniException>(() => cni.Network.TearDownAsync(request.PodUid, RuncHarness.Timeout));

            Assert.Contains("bridge DEL refuses", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetFileName(status.NamespacePath), await ListNamespacesAsync());
            Assert.True(File.Exists(record));
            Assert.True(File.Exists(lease));

            await File.WriteAllTextAsync(Path.Combine(plugins, "bridge.del-works"), "");
            await cni.Network.TearDownAsync(request.PodUid, RuncHarness.Timeout);

            Assert.False(File.Exists(record));
            Assert.False(File.Exists(lease));
            Assert.DoesNotContain(Path.GetFileName(status.NamespacePath), await ListNamespacesAsync());
        }
        finally
        {
            Directory.Delete(plugins, recursive: true);
        }
    }

    [Fact]
    public async Task TearDown_CancelledOnceBegun_StillFinishes()
    {
        // The real bridge, whose DEL waits (after marking that it started) until the test lets it go on.
        var plugins = await PluginsWithBridgeAsync("""
            if [ "$CNI_COMMAND" = DEL ]; then
              touch "$0.del-started"
              while [ ! -e "$0.go" ]; do sleep 0.05; done
            fi
            exec /usr/lib/cni/bridge
            """);
        try
        {
            await using var cni = new CniHarness(pluginDir: plugins);
            var request = cni.Pod();
            var status = await cni.Network.SetUpAsync(request, RuncHarness.Timeout);
            using var cancel = new CancellationTokenSource();

            var tearDown = cni.Network.TearDownAsync(request.PodUid, cancel.Token);
            await ChannelHarness.EventuallyAsync(() => File.Exists(Path.Combine(plugins, "bridge.del-started")), "the bridge plugin's DEL starts", seconds: 30);
            await cancel.CancelAsync();
            await File.WriteAllTextAsync(Path.Combine(plugins, "bridge.go"), "");
            await tearDown;

            Assert.DoesNotContain(Path.GetFileName(status.NamespacePath), await ListNamespacesAsync());
            Assert.False(File.Exists(Path.Combine(cni.StateDir, "pods", request.PodUid + ".json")));
            Assert.False(File.Exists(Path.Combine(cni.StateDir, "ipam", cni.Options.NetworkName, status.PodIp)));
        }
        finally
        {
            Directory.Delete(plugins, recursive: true);
        }
    }

    [Fact]
    public async Task SetUp_WithBadRequest_FailsClearly()
    {
        await using var cni = new CniHarness();

        await Assert.ThrowsAsync<ArgumentException>(() => cni.Network.SetUpAsync(new PodNetworkRequest("../etc", "default", "x", []), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => cni.Network.SetUpAsync(new PodNetworkRequest("abc", "default", "x", [new PortMapping(70_000, 80, "TCP")]), CancellationToken.None));
    }

    [Fact]
    public void Options_WithBadSubnet_AreRejected() =>
        Assert.Throws<ArgumentException>(() => new CniOptions { Subnet = "10.0.0.0/33" }.Validate());

    private static TaskConfig Httpd(RuncHarness runc, PodNetworkStatus pod) =>
        runc.Task("/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/var/www") with { NetworkNamespacePath = pod.NamespacePath };

    /// <summary>A plugin dir with the real loopback, host-local and portmap, and a shell script as the bridge plugin.</summary>
    private static async Task<string> PluginsWithBridgeAsync(string bridgeScript)
    {
        var plugins = Directory.CreateTempSubdirectory("verge-cni-plugins-").FullName;
        foreach (var plugin in new[] { "loopback", "host-local", "portmap" })
        {
            File.CreateSymbolicLink(Path.Combine(plugins, plugin), Path.Combine("/usr/lib/cni", plugin));
        }

        var bridge = Path.Combine(plugins, "bridge");
        await File.WriteAllTextAsync(bridge, "#!/bin/sh\n" + bridgeScript + "\n");
        File.SetUnixFileMode(bridge, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return plugins;
    }

    /// <summary>The names <c>ip netns list</c> prints (the first word of each line).</summary>
    private static async Task<List<string>> ListNamespacesAsync()
    {
        var info = new System.Diagnostics.ProcessStartInfo("ip", ["netns", "list"]) { RedirectStandardOutput = true };
        using var ip = System.Diagnostics.Process.Start(info)!;
        var text = await ip.StandardOutput.ReadToEndAsync();
        await ip.WaitForExitAsync();
        Assert.Equal(0, ip.ExitCode);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')[0])];
    }

    private static async Task<string> GetAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await client.GetStringAsync(url);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
