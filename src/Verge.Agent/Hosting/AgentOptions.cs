using Verge.Core.Quantities;
using Verge.Core.Validation;

namespace Verge.Agent.Hosting;

/// <summary>
/// Everything <c>verge agent</c> is told on its command line. <see cref="Validate"/> turns every bad value into one
/// message naming the flag, before anything is started.
/// </summary>
public sealed record AgentOptions
{
    /// <summary>The control plane's endpoints, tried in order (--server may repeat).</summary>
    public IReadOnlyList<Uri> Servers { get; init; } = [];

    /// <summary>The bootstrap token; needed only for the first join.</summary>
    public string? Token { get; init; }

    /// <summary>The cluster CA pin ("sha256:HEX"), when the token does not carry it.</summary>
    public string? CaCertHash { get; init; }

    public string DataDir { get; init; } = "/var/lib/verge-agent";

    public string NodeName { get; init; } = Environment.MachineName.ToLowerInvariant();

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The site the node belongs to; becomes the node label verge.dev/site.</summary>
    public string? Site { get; init; }

    /// <summary>Extended resources the node offers (verge.dev/camera=2, verge.dev/gpu=1).</summary>
    public IReadOnlyDictionary<string, string> ExtendedResources { get; init; } = new Dictionary<string, string>();

    /// <summary>The driver for pods without runtimeClassName; null picks runc where it works, else process.</summary>
    public string? DefaultRuntime { get; init; }

    /// <summary>The Docker Engine socket for the docker driver (unix:///var/run/docker.sock); null disables it.</summary>
    public string? DockerSocket { get; init; }

    /// <summary>The node-local pod network (CNI bridge with host-local addresses).</summary>
    public string PodSubnet { get; init; } = "10.213.0.0/16";

    public int MaxPods { get; init; } = 110;

    /// <summary>Registries reached over plain HTTP (host:port). Loopback registries always are.</summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>Registry mirrors, registry → host[:port] (docker.io=registry.site.local:5000).</summary>
    public IReadOnlyDictionary<string, string> RegistryMirrors { get; init; } = new Dictionary<string, string>();

    /// <summary>Runs the gateway module: the MQTT broker and HTTP ingest for devices, data rules, store-and-forward.</summary>
    public bool Gateway { get; init; }

    /// <summary>The devices' MQTT listener (HOST:PORT).</summary>
    public string MqttListen { get; init; } = "127.0.0.1:1883";

    /// <summary>The devices' HTTP ingest listener (HOST:PORT); null turns it off.</summary>
    public string? IngestListen { get; init; } = "127.0.0.1:8088";

    /// <summary>An external MQTT broker (HOST:PORT) that upstream messages are also bridged to.</summary>
    public string? MqttBridge { get; init; }

    public static readonly string[] KnownRuntimes = ["runc", "process", "docker"];

    public void Validate()
    {
        if (Servers.Count == 0)
        {
            throw new ArgumentException("--server is required: the control plane's https://HOST:PORT");
        }

        foreach (var server in Servers)
        {
            if (!server.IsAbsoluteUri || server.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"--server must be an https:// URL, got \"{server}\"");
            }
        }

        if (string.IsNullOrWhiteSpace(DataDir))
        {
            throw new ArgumentException("--data-dir must not be empty");
        }

        if (NameValidation.IsDns1123Subdomain(NodeName) is [var nameError, ..])
        {
            throw new ArgumentException($"--name \"{NodeName}\" is not a valid node name: {nameError}");
        }

        foreach (var (key, value) in Labels)
        {
            if (NameValidation.IsQualifiedName(key) is [var keyError, ..])
            {
                throw new ArgumentException($"--labels: \"{key}\" is not a valid label key: {keyError}");
            }

            if (NameValidation.IsValidLabelValue(value) is [var valueError, ..])
            {
                throw new ArgumentException($"--labels: \"{value}\" is not a valid value for \"{key}\": {valueError}");
            }
        }

        if (Site is not null && NameValidation.IsValidLabelValue(Site) is [var siteError, ..])
        {
            throw new ArgumentException($"--site \"{Site}\" is not a valid label value: {siteError}");
        }

        foreach (var (name, quantity) in ExtendedResources)
        {
            if (NameValidation.IsQualifiedName(name) is [var resourceError, ..] || !name.Contains('/', StringComparison.Ordinal))
            {
                throw new ArgumentException($"--extended-resource: \"{name}\" must be a domain-qualified name such as verge.dev/camera");
            }

            if (!Quantity.TryParse(quantity, out _))
            {
                throw new ArgumentException($"--extended-resource: \"{quantity}\" is not a quantity for \"{name}\"");
            }
        }

        if (DefaultRuntime is not null && !KnownRuntimes.Contains(DefaultRuntime, StringComparer.Ordinal))
        {
            throw new ArgumentException($"--default-runtime must be one of {string.Join(", ", KnownRuntimes)}, got \"{DefaultRuntime}\"");
        }

        if (DockerSocket is not null && !DockerSocket.StartsWith("unix://", StringComparison.Ordinal))
        {
            throw new ArgumentException($"--docker-socket must be a unix:// path, got \"{DockerSocket}\"");
        }

        foreach (var (registry, mirror) in RegistryMirrors)
        {
            if (registry.Length == 0 || mirror.Length == 0 || mirror.Contains('/', StringComparison.Ordinal) || registry.Contains('/', StringComparison.Ordinal))
            {
                throw new ArgumentException($"--registry-mirror takes REGISTRY=HOST[:PORT] (docker.io=127.0.0.1:5000), got \"{registry}={mirror}\"");
            }
        }

        if (MaxPods is < 0 or > 10_000)
        {
            throw new ArgumentException($"--max-pods must be between 0 (a gateway-only node) and 10000, got {MaxPods}");
        }

        if (Gateway)
        {
            foreach (var (flag, value) in new[] { ("--mqtt-listen", MqttListen), ("--ingest-listen", IngestListen), ("--mqtt-bridge", MqttBridge) })
            {
                if (value is not null && !IsEndpoint(value))
                {
                    throw new ArgumentException($"{flag} must be HOST:PORT with an IP address, got \"{value}\"");
                }
            }
        }
    }

    private static bool IsEndpoint(string value) =>
        System.Net.IPEndPoint.TryParse(value.Replace("localhost", "127.0.0.1", StringComparison.Ordinal), out var endpoint) && endpoint.Port != 0;
}
