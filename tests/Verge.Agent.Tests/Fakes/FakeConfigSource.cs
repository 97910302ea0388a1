using Verge.Agent.Pods;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Fakes;

/// <summary>ConfigMaps and Secrets a test puts in by name, whatever the namespace asked for.</summary>
internal sealed class FakeConfigSource : IPodConfigSource
{
    public Dictionary<string, ConfigMap> ConfigMaps { get; } = [];

    public Dictionary<string, Secret> Secrets { get; } = [];

    public ConfigMap? GetConfigMap(string configMapNamespace, string name) => ConfigMaps.GetValueOrDefault(name);

    public Secret? GetSecret(string secretNamespace, string name) => Secrets.GetValueOrDefault(name);
}
