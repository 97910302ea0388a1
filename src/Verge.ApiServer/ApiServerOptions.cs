namespace Verge.ApiServer;

/// <summary>Settings of the API server, with the defaults <c>verge server</c> uses.</summary>
public sealed class ApiServerOptions
{
    /// <summary>Where the store, the PKI and the admin kubeconfig live.</summary>
    public string DataDir { get; set; } = ".verge";

    /// <summary>The address and port to serve HTTPS on.</summary>
    public string Listen { get; set; } = "127.0.0.1:6443";

    /// <summary>The store: <c>sqlite</c> (default, under the data dir) or <c>sqlite:PATH</c>.</summary>
    public string Store { get; set; } = "sqlite";

    /// <summary>The largest request body accepted (Kubernetes' limit is 3 MiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>The largest image archive <c>POST /verge/v1/nodes/{name}/images</c> accepts (streamed, never held whole).</summary>
    public long MaxImageArchiveBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>How long a watch without timeoutSeconds lasts before the client must re-watch.</summary>
    public TimeSpan MaxWatchDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often an idle watch that allows bookmarks gets one.</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many events a watcher may fall behind before it is closed (it then resumes from its revision).</summary>
    public int WatcherBuffer { get; set; } = 1000;

    /// <summary>How many recent events the watch cache keeps for watches that resume from a revision.</summary>
    public int WatchCacheCapacity { get; set; } = 100_000;

    /// <summary>How often history older than the previous interval is compacted away.</summary>
    public TimeSpan CompactionInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Settings of the node channel (heartbeats, leases, batch limits).</summary>
    public NodeChannel.NodeChannelOptions NodeChannel { get; } = new();

    /// <summary>
    /// HOST:PORT of the cloud-side MQTT endpoint (TLS, for cloud applications: upstream messages from gateways,
    /// commands to devices), or null for none (<c>verge server --mqtt-listen</c>).
    /// </summary>
    public string? MqttListen { get; set; }

    /// <summary>Settings of the cloud MQTT endpoint (duplicate window, packet size).</summary>
    public Cloud.CloudEndpointOptions Cloud { get; } = new();

    /// <summary>Extra DNS names for the serving certificate (localhost and the host name are always in it).</summary>
    public IList<string> ExtraSans { get; } = [];

    /// <summary>Request flow control: concurrency limits and queues, with node heartbeats exempt.</summary>
    public FlowControlOptions FlowControl { get; } = new();

    public void Validate()
    {
        if (MaxRequestBodyBytes < 1024)
        {
            throw new ArgumentException("MaxRequestBodyBytes must be at least 1024");
        }

        if (MaxImageArchiveBytes < 1024)
        {
            throw new ArgumentException("MaxImageArchiveBytes must be at least 1024");
        }

        if (WatcherBuffer < 1 || WatchCacheCapacity < 1)
        {
            throw new ArgumentException("WatcherBuffer and WatchCacheCapacity must be positive");
        }

        NodeChannel.Validate();
        FlowControl.Validate();
        Cloud.Validate();
        if (!string.IsNullOrEmpty(MqttListen))
        {
            Hosting.ApiServerHost.ParseListen(MqttListen, "--mqtt-listen");
        }
    }
}
