using System.Text;
using Verge.Agent.Pods;
using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Agent.Tests.Pods;

public sealed class EnvResolverTests
{
    private sealed class Source : IPodConfigSource
    {
        public Dictionary<string, ConfigMap> ConfigMaps { get; } = [];

        public Dictionary<string, Secret> Secrets { get; } = [];

        public ConfigMap? GetConfigMap(string configMapNamespace, string name) => ConfigMaps.GetValueOrDefault($"{configMapNamespace}/{name}");

        public Secret? GetSecret(string secretNamespace, string name) => Secrets.GetValueOrDefault($"{secretNamespace}/{name}");
    }

    private static readonly PodRuntimeFacts Facts = new("node-1", "192.168.1.10", "10.88.0.5", 4000, 8L << 30);

    private static Pod PodWith(Container container) => new()
    {
        Metadata = new() { Name = "web", Namespace = "shop", Uid = "u-1", Labels = new() { ["app"] = "web", ["tier"] = "front" } },
        Spec = new PodSpec { Containers = [container] },
    };

    private static Dictionary<string, string> Resolve(Container container, Source? source = null) =>
        EnvResolver.Resolve(PodWith(container), container, source ?? new Source(), Facts).ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Expand_ReplacesDefinedVariables_KeepsUndefinedOnes_AndUnescapesDollarDollar()
    {
        var defined = new Dictionary<string, string> { ["HOST"] = "db", ["PORT"] = "5432" };

        Assert.Equal("db:5432", EnvResolver.Expand("$(HOST):$(PORT)", defined));
        Assert.Equal("$(MISSING)", EnvResolver.Expand("$(MISSING)", defined));
        Assert.Equal("$(HOST)", EnvResolver.Expand("$$(HOST)", defined));
        Assert.Equal("cost $5", EnvResolver.Expand("cost $5", defined));
        Assert.Equal("tail $", EnvResolver.Expand("tail $", defined));
        Assert.Equal("open $(HOST", EnvResolver.Expand("open $(HOST", defined));
    }

    [Fact]
    public void Resolve_ValuesSeeOnlyEarlierVariables()
    {
        var env = Resolve(new Container
        {
            Name = "app",
            Env = [new EnvVar { Name = "B", Value = "$(A)-b" }, new EnvVar { Name = "A", Value = "a" }, new EnvVar { Name = "C", Value = "$(A)-c" }],
        });

        Assert.Equal("$(A)-b", env["B"]);
        Assert.Equal("a-c", env["C"]);
    }

    [Fact]
    public void Resolve_ConfigMapAndSecretKeys_AndEnvFromWithPrefix()
    {
        var source = new Source();
        source.ConfigMaps["shop/cfg"] = new ConfigMap { Data = new() { ["mode"] = "fast", ["bad key"] = "skipped" } };
        source.Secrets["shop/creds"] = new Secret { Data = new() { ["password"] = Encoding.UTF8.GetBytes("s3cret") } };

        var env = Resolve(
            new Container
            {
                Name = "app",
                EnvFrom = [new EnvFromSource { Prefix = "CFG_", ConfigMapRef = new EnvFromReference { Name = "cfg" } }],
                Env =
                [
                    new EnvVar { Name = "PASSWORD", ValueFrom = new EnvVarSource { SecretKeyRef = new KeySelector { Name = "creds", Key = "password" } } },
                    new EnvVar { Name = "MODE", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new KeySelector { Name = "cfg", Key = "mode" } } },
                    new EnvVar { Name = "URL", Value = "x://$(CFG_mode)" },
                ],
            },
            source);

        Assert.Equal("fast", env["CFG_mode"]);
        Assert.False(env.ContainsKey("CFG_bad key"));
        Assert.Equal("s3cret", env["PASSWORD"]);
        Assert.Equal("fast", env["MODE"]);
        Assert.Equal("x://fast", env["URL"]);
    }

    [Fact]
    public void Resolve_MissingConfigMapKey_FailsWithKubeletMessage()
    {
        var source = new Source();
        source.ConfigMaps["shop/cfg"] = new ConfigMap { Data = new() { ["other"] = "1" } };
        var container = new Container { Name = "app", Env = [new EnvVar { Name = "X", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new KeySelector { Name = "cfg", Key = "mode" } } }] };

        var error = Assert.Throws<ContainerConfigException>(() => Resolve(container, source));

        Assert.Equal("couldn't find key mode in ConfigMap shop/cfg", error.Message);
    }

    [Fact]
    public void Resolve_MissingSecret_FailsUnlessOptional()
    {
        var required = new Container { Name = "app", Env = [new EnvVar { Name = "X", ValueFrom = new EnvVarSource { SecretKeyRef = new KeySelector { Name = "nope", Key = "k" } } }] };
        var optional = new Container { Name = "app", Env = [new EnvVar { Name = "X", ValueFrom = new EnvVarSource { SecretKeyRef = new KeySelector { Name = "nope", Key = "k", Optional = true } } }] };

        Assert.Equal("secret \"nope\" not found", Assert.Throws<ContainerConfigException>(() => Resolve(required)).Message);
        Assert.Empty(Resolve(optional));
    }

    [Fact]
    public void Resolve_FieldRefs_FromPodAndNode()
    {
        EnvVar Field(string name, string path) => new() { Name = name, ValueFrom = new EnvVarSource { FieldRef = new ObjectFieldSelector { FieldPath = path } } };
        var env = Resolve(new Container
        {
            Name = "app",
            Env =
            [
                Field("NAME", "metadata.name"), Field("NS", "metadata.namespace"), Field("UID", "metadata.uid"),
                Field("APP", "metadata.labels['app']"), Field("LABELS", "metadata.labels"), Field("NODE", "spec.nodeName"),
                Field("POD_IP", "status.podIP"), Field("HOST_IP", "status.hostIP"),
            ],
        });

        Assert.Equal("web", env["NAME"]);
        Assert.Equal("shop", env["NS"]);
        Assert.Equal("u-1", env["UID"]);
        Assert.Equal("web", env["APP"]);
        Assert.Equal("app=\"web\"\ntier=\"front\"", env["LABELS"]);
        Assert.Equal("node-1", env["NODE"]);
        Assert.Equal("10.88.0.5", env["POD_IP"]);
        Assert.Equal("192.168.1.10", env["HOST_IP"]);
    }

    [Fact]
    public void Resolve_ResourceFieldRefs_UseLimitsWithDivisor_OrTheNode()
    {
        EnvVar Res(string name, string resource, string? divisor = null) => new()
        {
            Name = name,
            ValueFrom = new EnvVarSource { ResourceFieldRef = new ResourceFieldSelector { Resource = resource, Divisor = divisor is null ? null : Quantity.Parse(divisor) } },
        };
        var env = Resolve(new Container
        {
            Name = "app",
            Resources = new ResourceRequirements { Limits = new() { ["memory"] = Quantity.Parse("64Mi"), ["cpu"] = Quantity.Parse("250m") } },
            Env = [Res("MEM", "limits.memory", "1Mi"), Res("CPU", "limits.cpu"), Res("CPU_M", "limits.cpu", "1m"), Res("REQ_MEM", "requests.memory")],
        });

        Assert.Equal("64", env["MEM"]);
        Assert.Equal("1", env["CPU"]);
        Assert.Equal("250", env["CPU_M"]);
        Assert.Equal((64L << 20).ToString(), env["REQ_MEM"]);
    }

    [Fact]
    public void ExpandAll_ExpandsCommandAndArgs()
    {
        var env = new List<KeyValuePair<string, string>> { new("GREETING", "hi") };

        Assert.Equal(["echo", "hi", "$(NOPE)", "$(GREETING)"], EnvResolver.ExpandAll(["echo", "$(GREETING)", "$(NOPE)", "$$(GREETING)"], env));
    }
}
