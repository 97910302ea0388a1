using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Core;
using Verge.Core.Quantities;
using Verge.Core.Serialization;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class PodNodeFilesValidationTests
{
    private const string Subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    private static Pod NewPod(Action<PodSpec>? change = null)
    {
        var pod = new Pod
        {
            Metadata = new() { Name = "web", Namespace = "default" },
            Spec = new PodSpec { Containers = [new Container { Name = "app", Image = "nginx:1.27" }] },
        };
        change?.Invoke(pod.Spec);
        CoreDefaults.Pod(pod);
        return pod;
    }

    private static List<string> Errors(Action<PodSpec> change) =>
        PodValidation.ValidatePod(NewPod(change), null).Select(e => e.ToString()).ToList();

    private static DownwardApiVolumeFile Field(string path, string fieldPath) =>
        new() { Path = path, FieldRef = new ObjectFieldSelector { FieldPath = fieldPath } };

    [Fact]
    public void PodWithEveryNodeFileField_RoundTripsStrictlyAndValidates()
    {
        const string json = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},"spec":{"containers":[{"name":"app","image":"busybox:1.36","resources":{"limits":{"cpu":"250m"}}}],
            "hostAliases":[{"ip":"10.1.2.3","hostnames":["foo.remote","bar.remote"]}],
            "dnsPolicy":"None","dnsConfig":{"nameservers":["1.1.1.1"],"searches":["svc.example."],"options":[{"name":"ndots","value":"2"},{"name":"edns0"}]},
            "os":{"name":"linux"},
            "volumes":[{"name":"info","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}},{"path":"cpu","resourceFieldRef":{"containerName":"app","resource":"limits.cpu","divisor":"1m"}}],"defaultMode":292}},
            {"name":"all","projected":{"sources":[{"configMap":{"name":"cfg","items":[{"key":"a","path":"a"}]}},{"secret":{"name":"s","optional":true}},{"downwardAPI":{"items":[{"path":"name","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}]}}]}}]}}
            """;
        var pod = JsonSerializer.Deserialize<Pod>(json, VergeJson.StrictOptions)!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(JsonSerializer.Serialize(pod, VergeJson.Options))));

        CoreDefaults.Pod(pod);
        Assert.Empty(PodValidation.ValidatePod(pod, null));
        Assert.Equal("v1", pod.Spec.Volumes![0].DownwardAPI!.Items![0].FieldRef!.ApiVersion);
        Assert.Equal(420, pod.Spec.Volumes[1].Projected!.DefaultMode);
    }

    [Fact]
    public void HostAliases_NeedAnIpAndSubdomainHostnames()
    {
        var errors = Errors(spec => spec.HostAliases =
        [
            new HostAlias { Ip = "10.0.0.1", Hostnames = ["ok.example", "Bad_Name"] },
            new HostAlias { Ip = "10.0.0", Hostnames = ["x"] },
            new HostAlias { Ip = "fd00::1" },
            new HostAlias { Ip = "fe80::1%2", Hostnames = ["zoned"] },
        ]);

        Assert.Equal(
        [
            $"spec.hostAliases[0].hostnames[1]: Invalid value: \"Bad_Name\": {Subdomain}",
            "spec.hostAliases[1].ip: Invalid value: \"10.0.0\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            "spec.hostAliases[3].ip: Invalid value: \"fe80::1%2\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ], errors);
    }

    [Fact]
    public void DnsPolicyNone_RequiresADnsConfigWithANameserver()
    {
        Assert.Equal(
            ["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
            Errors(spec => spec.DnsPolicy = "None"));
        Assert.Equal(
            ["spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"],
            Errors(spec =>
            {
                spec.DnsPolicy = "None";
                spec.DnsConfig = new PodDnsConfig { Searches = ["example.com"] };
            }));
        Assert.Empty(Errors(spec => spec.DnsConfig = new PodDnsConfig { Searches = ["example.com"] }));
    }

    [Fact]
    public void DnsConfig_ChecksLimitsAddressesSearchesAndOptionNames()
    {
        var errors = Errors(spec => spec.DnsConfig = new PodDnsConfig
        {
            Nameservers = ["1.1.1.1", "8.8.8.8", "9.9.9.9", "nameserver"],
            Searches = ["example.com.", "-bad"],
            Options = [new PodDnsConfigOption { Name = "ndots", Value = "1" }, new PodDnsConfigOption { Value = "x" }],
        });

        Assert.Equal(
        [
            "spec.dnsConfig.nameservers: Invalid value: []string{\"1.1.1.1\", \"8.8.8.8\", \"9.9.9.9\", \"nameserver\"}: must not have more than 3 nameservers",
            "spec.dnsConfig.nameservers[3]: Invalid value: \"nameserver\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            $"spec.dnsConfig.searches[1]: Invalid value: \"-bad\": {Subdomain}",
            "spec.dnsConfig.options[1]: Required value: must not be empty",
        ], errors);
    }

    [Fact]
    public void DnsConfig_AllowsThirtyTwoSearchPathsOf2048CharactersAtMost()
    {
        var many = Enumerable.Range(0, 33).Select(i => $"s{i}.example").ToList();
        Assert.Equal(
            [$"spec.dnsConfig.searches: Invalid value: {GoValue.Strings(many)}: must not have more than 32 search paths"],
            Errors(spec => spec.DnsConfig = new PodDnsConfig { Searches = many }));
        Assert.Empty(Errors(spec => spec.DnsConfig = new PodDnsConfig { Searches = many[..32] }));

        var label = new string('a', 63);
        var longNames = Enumerable.Range(0, 9).Select(i => $"{label}.{label}.{label}.{i}{new string('b', 60)}").ToList();
        Assert.True(string.Join(' ', longNames).Length > 2048);
        Assert.Equal(
            [$"spec.dnsConfig.searches: Invalid value: {GoValue.Strings(longNames)}: must not have more than 2048 characters (including spaces) in the search list"],
            Errors(spec => spec.DnsConfig = new PodDnsConfig { Searches = longNames }));
    }

    [Fact]
    public void OS_MustBeLinuxOrWindows()
    {
        Assert.Empty(Errors(spec => spec.OS = new PodOS { Name = "linux" }));
        Assert.Equal(
            ["spec.os: Unsupported value: \"darwin\": supported values: \"linux\", \"windows\""],
            Errors(spec => spec.OS = new PodOS { Name = "darwin" }));
        Assert.Equal(["spec.os.name: Required value: cannot be empty"], Errors(spec => spec.OS = new PodOS()));
    }

    [Fact]
    public void WindowsPod_MayNotSetLinuxOnlySecuritySettings()
    {
        var errors = Errors(spec =>
        {
            spec.OS = new PodOS { Name = "windows" };
            spec.SecurityContext = new PodSecurityContext { RunAsUser = 1000, FsGroup = 2000, RunAsNonRoot = true };
            spec.Containers[0].SecurityContext = new SecurityContext { Capabilities = new Capabilities { Drop = ["ALL"] }, ReadOnlyRootFilesystem = true };
        });

        Assert.Equal(
        [
            "spec.securityContext.runAsUser: Forbidden: cannot be set for a windows pod",
            "spec.securityContext.fsGroup: Forbidden: cannot be set for a windows pod",
            "spec.containers[0].securityContext.capabilities: Forbidden: cannot be set for a windows pod",
            "spec.containers[0].securityContext.readOnlyRootFilesystem: Forbidden: cannot be set for a windows pod",
        ], errors);
    }

    [Fact]
    public void DownwardApiVolume_ChecksPathsFieldsAndModes()
    {
        var errors = Errors(spec => spec.Volumes =
        [
            new Volume
            {
                Name = "info",
                DownwardAPI = new DownwardApiVolumeSource
                {
                    DefaultMode = 512,
                    Items =
                    [
                        Field("name", "metadata.name"),
                        Field("app", "metadata.labels['app']"),
                        Field("/abs", "metadata.uid"),
                        Field("a/../b", "metadata.namespace"),
                        Field("..hidden", "metadata.name"),
                        Field("node", "spec.nodeName"),
                        Field("bogus", "spec.bogus"),
                        Field("sub", "metadata.name['x']"),
                        Field("badkey", "metadata.labels['not a key']"),
                        new DownwardApiVolumeFile { Path = "none" },
                        new DownwardApiVolumeFile { Path = "mode", FieldRef = new ObjectFieldSelector { FieldPath = "metadata.name" }, Mode = -1 },
                    ],
                },
            },
        ]);

        Assert.Equal(
        [
            "spec.volumes[0].downwardAPI.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
            "spec.volumes[0].downwardAPI.path: Invalid value: \"/abs\": must be a relative path",
            "spec.volumes[0].downwardAPI.path: Invalid value: \"a/../b\": must not contain '..'",
            "spec.volumes[0].downwardAPI.path: Invalid value: \"..hidden\": must not start with '..'",
            "spec.volumes[0].downwardAPI.fieldRef.fieldPath: Unsupported value: \"spec.nodeName\": supported values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", \"metadata.namespace\", \"metadata.uid\"",
            "spec.volumes[0].downwardAPI.fieldRef.fieldPath: Invalid value: \"spec.bogus\": error converting fieldPath: field label not supported: spec.bogus",
            "spec.volumes[0].downwardAPI.fieldRef.fieldPath: Invalid value: \"metadata.name['x']\": error converting fieldPath: field label does not support subscript: metadata.name['x']",
            "spec.volumes[0].downwardAPI.fieldRef: Invalid value: \"not a key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "spec.volumes[0].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required",
            "spec.volumes[0].downwardAPI.mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive",
        ], errors);
    }

    [Fact]
    public void DownwardApiResourceFieldRef_NeedsAContainerAResourceAndAUnitDivisor()
    {
        var errors = Errors(spec => spec.Volumes =
        [
            new Volume
            {
                Name = "res",
                DownwardAPI = new DownwardApiVolumeSource
                {
                    Items =
                    [
                        new() { Path = "a", ResourceFieldRef = new ResourceFieldSelector { Resource = "limits.cpu" } },
                        new() { Path = "b", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "limits.gpu" } },
                        new() { Path = "c", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "requests.cpu", Divisor = Quantity.Parse("10m") } },
                        new() { Path = "d", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "limits.memory", Divisor = Quantity.Parse("1Mi") } },
                        new() { Path = "e", ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "limits.memory", Divisor = Quantity.Parse("3") } },
                        new() { Path = "f", FieldRef = new ObjectFieldSelector { FieldPath = "metadata.name" }, ResourceFieldRef = new ResourceFieldSelector { ContainerName = "app", Resource = "limits.cpu" } },
                    ],
                },
            },
        ]);

        Assert.Equal(
        [
            "spec.volumes[0].downwardAPI.resourceFieldRef.containerName: Required value",
            "spec.volumes[0].downwardAPI.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", \"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"",
            "spec.volumes[0].downwardAPI.resourceFieldRef.divisor: Invalid value: \"requests.cpu\": only divisor's values 1m and 1 are supported with the cpu resource",
            "spec.volumes[0].downwardAPI.resourceFieldRef.divisor: Invalid value: \"limits.memory\": only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
            "spec.volumes[0].downwardAPI: Invalid value: \"resource\": fieldRef and resourceFieldRef can not be specified simultaneously",
        ], errors);
    }

    [Fact]
    public void ProjectedVolume_ChecksSourcesAndRefusesTokensAndTrustBundles()
    {
        var errors = Errors(spec => spec.Volumes =
        [
            new Volume
            {
                Name = "all",
                Projected = new ProjectedVolumeSource
                {
                    Sources =
                    [
                        new VolumeProjection { ConfigMap = new KeyProjection { Name = "cfg", Items = [new KeyToPath { Key = "a", Path = "same" }] } },
                        new VolumeProjection { Secret = new KeyProjection { Items = [new KeyToPath { Key = "b", Path = "same" }] } },
                        new VolumeProjection { DownwardAPI = new DownwardApiProjection { Items = [Field("same", "metadata.name")] } },
                        new VolumeProjection { ServiceAccountToken = new ServiceAccountTokenProjection { Path = "token" } },
                        new VolumeProjection { ClusterTrustBundle = new ClusterTrustBundleProjection { Name = "ca", Path = "ca.pem" } },
                        new VolumeProjection { ConfigMap = new KeyProjection { Name = "x" }, Secret = new KeyProjection { Name = "y" } },
                    ],
                },
            },
        ]);

        Assert.Equal(
        [
            "spec.volumes[0].projected.sources[1].secret.name: Required value",
            "spec.volumes[0].projected: Invalid value: \"\": conflicting duplicate paths",
            "spec.volumes[0].projected: Invalid value: \"same\": conflicting duplicate paths",
            "spec.volumes[0].projected.sources[3].serviceAccountToken: Forbidden: not supported by Verge, which issues no service account tokens",
            "spec.volumes[0].projected.sources[4].clusterTrustBundle: Forbidden: not supported by Verge, which has no ClusterTrustBundle kind",
            "spec.volumes[0].projected.sources[5]: Forbidden: may not specify more than 1 volume type",
        ], errors);
    }

    [Fact]
    public void Volume_WithDownwardApiAndProjected_IsForbidden()
    {
        Assert.Equal(
            ["spec.volumes[0].projected: Forbidden: may not specify more than 1 volume type"],
            Errors(spec => spec.Volumes = [new Volume { Name = "v", DownwardAPI = new DownwardApiVolumeSource(), Projected = new ProjectedVolumeSource() }]));
    }

    [Fact]
    public void PodFieldPaths_SplitSubscriptsAsKubernetesDoes()
    {
        Assert.True(PodFieldPaths.TrySplitSubscript("metadata.labels['app']", out var path, out var key));
        Assert.Equal(("metadata.labels", "app"), (path, key));
        Assert.False(PodFieldPaths.TrySplitSubscript("['app']", out _, out _));
        Assert.False(PodFieldPaths.TrySplitSubscript("metadata.labels", out _, out _));
        Assert.Equal(("spec.nodeName", (string?)null), PodFieldPaths.Convert("v1", "spec.host"));
        Assert.Equal(((string?)null, "unsupported pod version: v2"), PodFieldPaths.Convert("v2", "metadata.name"));
    }
}
