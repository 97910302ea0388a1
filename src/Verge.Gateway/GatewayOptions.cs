using System.Net;

namespace Verge.Gateway;

/// <summary>A local user (a pod or application on the node) with full access to the broker.</summary>
internal sealed record LocalUser(string UserName, string Password);

/// <summary>Options of the <see cref="GatewayModule"/>.</summary>
internal sealed record GatewayOptions
{
    /// <summary>The gateway's id (usually the node name): with a queue sequence it forms upstream message ids.</summary>
    public string GatewayId { get; init; } = "gateway";

    /// <summary>The plain MQTT listener, HOST:PORT.</summary>
    public string MqttListen { get; init; } = "127.0.0.1:1883";

    /// <summary>The MQTT over TLS listener, HOST:PORT; null turns it off.</summary>
    public string? MqttTlsListen { get; init; }

    /// <summary>PEM certificate (chain) of the TLS listener.</summary>
    public string? TlsCertificatePem { get; init; }

    /// <summary>PEM private key of the TLS listener.</summary>
    public string? TlsKeyPem { get; init; }

    /// <summary>PEM CA that signs device client certificates; null accepts no client certificates.</summary>
    public string? ClientCaPem { get; init; }

    /// <summary>The HTTP ingest listener, HOST:PORT; null turns it off.</summary>
    public string? IngestListen { get; init; } = "127.0.0.1:8088";

    /// <summary>Directory of the durable upstream queue.</summary>
    public string QueueDirectory { get; init; } = "";

    /// <summary>Bound on the upstream queue's bytes.</summary>
    public long QueueMaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>The largest message payload a client may publish (MQTT or HTTP); larger ones are refused and counted.</summary>
    public int MaxMessageBytes { get; init; } = 256 * 1024;

    /// <summary>Messages per second one client may publish (token bucket; a client over it is slowed down, not cut off).</summary>
    public double MessagesPerSecond { get; init; } = 2000;

    /// <summary>Burst size of the per-client token bucket.</summary>
    public int MessagesBurst { get; init; } = 200;

    /// <summary>Messages the broker keeps queued for one client before dropping its oldest.</summary>
    public int MaxInFlight { get; init; } = 1000;

    /// <summary>Local users (pods on the node) with full access.</summary>
    public IReadOnlyList<LocalUser> LocalUsers { get; init; } = [];

    /// <summary>How often windows are closed (RuleEngine.Advance).</summary>
    public TimeSpan AdvanceInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Whether a QoS 1/2 PUBLISH (and an HTTP ingest request) is acknowledged only once its upstream rule outputs are
    /// fsynced in the queue (the default). Off, it is acknowledged once it entered the pipeline: more messages per
    /// connection, but a crash can lose messages the device saw acknowledged.
    /// </summary>
    public bool AcknowledgeWhenDurable { get; init; } = true;

    /// <summary>Messages waiting for the rule pipeline before publishers are slowed down.</summary>
    public int PipelineCapacity { get; init; } = 65536;

    /// <summary>The most messages sent upstream in one batch.</summary>
    public int UpstreamBatchMessages { get; init; } = 500;

    /// <summary>Wait after a failed upstream send before trying again.</summary>
    public TimeSpan UpstreamRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public void Validate()
    {
        ParseEndpoint(MqttListen, nameof(MqttListen));
        if (MqttTlsListen is not null)
        {
            ParseEndpoint(MqttTlsListen, nameof(MqttTlsListen));
            if (string.IsNullOrEmpty(TlsCertificatePem) || string.IsNullOrEmpty(TlsKeyPem))
            {
                throw new ArgumentException("MqttTlsListen needs TlsCertificatePem and TlsKeyPem", nameof(MqttTlsListen));
            }
        }

        if (IngestListen is not null)
        {
            ParseEndpoint(IngestListen, nameof(IngestListen));
        }

        if (string.IsNullOrWhiteSpace(QueueDirectory))
        {
            throw new ArgumentException("QueueDirectory is required", nameof(QueueDirectory));
        }

        if (string.IsNullOrWhiteSpace(GatewayId))
        {
            throw new ArgumentException("GatewayId is required", nameof(GatewayId));
        }

        Positive(MaxMessageBytes, nameof(MaxMessageBytes));
        Positive(MessagesBurst, nameof(MessagesBurst));
        Positive(MaxInFlight, nameof(MaxInFlight));
        Positive(PipelineCapacity, nameof(PipelineCapacity));
        Positive(UpstreamBatchMessages, nameof(UpstreamBatchMessages));
        if (!(MessagesPerSecond > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(MessagesPerSecond), MessagesPerSecond, "must be positive");
        }

        if (AdvanceInterval <= TimeSpan.Zero || UpstreamRetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AdvanceInterval), "intervals must be positive");
        }

        foreach (var user in LocalUsers)
        {
            if (string.IsNullOrEmpty(user.UserName) || string.IsNullOrEmpty(user.Password))
            {
                throw new ArgumentException("local users need a user name and a password", nameof(LocalUsers));
            }
        }
    }

    /// <summary>Parses HOST:PORT (an IP address or "localhost"; IPv6 in brackets).</summary>
    public static IPEndPoint ParseEndpoint(string value, string name)
    {
        var colon = value?.LastIndexOf(':') ?? -1;
        if (value is null || colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"{name}: '{value}' is not HOST:PORT with a port from 1 to 65535", name);
        }

        var host = value[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            throw new ArgumentException($"{name}: '{host}' is not an IP address", name);
        }

        return new IPEndPoint(address, port);
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, "must be at least 1");
        }
    }
}
