using Verge.Agent.Drivers;
using Verge.Agent.Pods;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Drivers.Runc;

/// <summary>What a pod's spec puts in a real runc container's files: /etc/hosts, /etc/resolv.conf and downward API volumes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RuncPodFilesTests
{
    private sealed class NoObjects : IPodConfigSource
    {
        public ConfigMap? GetConfigMap(string configMapNamespace, string name) => null;

        public Secret? GetSecret(string secretNamespace, string name) => null;
    }

    [Fact]
    public async Task Container_ReadsHostAliasesDnsConfigAndDownwardApiFiles()
    {
        await using var harness = new RuncHarness();
        var node = Directory.CreateTempSubdirectory("verge-node-").FullName;
        try
        {
            harness.Options.HostsPath = Path.Combine(node, "hosts");
            harness.Options.ResolvConfPath = Path.Combine(node, "resolv.conf");
            await File.WriteAllTextAsync(harness.Options.HostsPath, "127.0.0.1\tlocalhost\n192.168.50.1\tedge-node\n");
            await File.WriteAllTextAsync(harness.Options.ResolvConfPath, "# node resolver\nnameserver 192.168.50.53\nsearch corp.example\noptions ndots:2\n");

            var pod = new Pod
            {
                Metadata = new() { Name = "web", Namespace = "shop", Uid = "u-1", Labels = new() { ["app"] = "web", ["tier"] = "front" } },
                Spec = new PodSpec
                {
                    Containers = [new Container { Name = "main", VolumeMounts = [new VolumeMount { Name = "podinfo", MountPath = "/etc/podinfo" }] }],
                    Volumes =
                    [
                        new Volume
                        {
                            Name = "podinfo",
                            DownwardAPI = new DownwardApiVolumeSource
                            {
                                Items =
                                [
                                    new DownwardApiVolumeFile { Path = "labels", FieldRef = new ObjectFieldSelector { ApiVersion = "v1", FieldPath = "metadata.labels" } },
                                    new DownwardApiVolumeFile { Path = "name", FieldRef = new ObjectFieldSelector { ApiVersion = "v1", FieldPath = "metadata.name" } },
                                ],
                            },
                        },
                    ],
                },
            };
            var volumes = new PodVolumes(Path.Combine(node, "pod"), new NoObjects());
            await volumes.PrepareAsync(pod, RuncHarness.Timeout);

            var config = harness.Task("/bin/sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/podinfo/labels; echo; cat /etc/podinfo/name; echo; echo done") with
            {
                Mounts = volumes.MountsFor(pod, pod.Spec.Containers[0]),
                HostAliases = [new HostAlias { Ip = "10.1.2.3", Hostnames = ["db.local", "cache.local"] }],
                DnsPolicy = "ClusterFirst",
                DnsConfig = new PodDnsConfig
                {
                    Nameservers = ["1.1.1.1"],
                    Searches = ["svc.example"],
                    Options = [new PodDnsConfigOption { Name = "ndots", Value = "5" }, new PodDnsConfigOption { Name = "edns0" }],
                },
            };

            var handle = await harness.StartAsync(config);
            var exit = await harness.Driver.WaitAsync(handle, RuncHarness.Timeout);

            var log = await File.ReadAllTextAsync(config.LogPath);
            Assert.Equal(0, exit.ExitCode);
            Assert.Equal(
                "127.0.0.1\tlocalhost\n192.168.50.1\tedge-node\n\n# Entries added by HostAliases.\n10.1.2.3\tdb.local\tcache.local\n"
                + "---\n"
                + "search corp.example svc.example\nnameserver 192.168.50.53\nnameserver 1.1.1.1\noptions ndots:5 edns0\n"
                + "---\n"
                + "app=\"web\"\ntier=\"front\"\nweb\ndone\n",
                log);
        }
        finally
        {
            Directory.Delete(node, recursive: true);
        }
    }

    [Fact]
    public async Task DnsConfigWarnings_AreTheKubeletsMessages_ForTheNodesResolvConfAndThePodsSettings()
    {
        await using var harness = new RuncHarness();
        var node = Directory.CreateTempSubdirectory("verge-node-").FullName;
        try
        {
            harness.Options.ResolvConfPath = Path.Combine(node, "resolv.conf");
            await File.WriteAllTextAsync(harness.Options.ResolvConfPath, "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n");
            var writer = harness.Driver;

            Assert.Equal(
                ["Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.1 10.0.0.2 10.0.0.3"],
                writer.DnsConfigWarnings("ClusterFirst", null));
            Assert.Empty(writer.DnsConfigWarnings("None", new PodDnsConfig { Nameservers = ["1.1.1.1"] }));
        }
        finally
        {
            Directory.Delete(node, recursive: true);
        }
    }
}
