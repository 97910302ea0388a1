namespace Verge.Gateway;

/// <summary>
/// One message on its way upstream: <see cref="MessageId"/> ("gatewayId:sequence" from the durable queue) lets the
/// receiver drop duplicates, since delivery is at least once.
/// </summary>
public sealed record UplinkMessage(string MessageId, string Topic, ReadOnlyMemory<byte> Payload);

/// <summary>
/// A destination for the gateway's durable upstream queue: the control plane over the node channel, or an external
/// MQTT broker (a bridge). The queue hands batches in order and acknowledges them only when the destination has.
/// </summary>
public interface IUplink
{
    /// <summary>A short name for logs and metrics ("control-plane", "mqtt://broker:1883").</summary>
    string Name { get; }

    /// <summary>Whether the destination can be reached right now (the queue waits while it cannot).</summary>
    bool Available { get; }

    /// <summary>
    /// Delivers the batch, in order, and returns once the destination has acknowledged every message of it. Throws
    /// when it could not; the queue keeps the batch and tries again later.
    /// </summary>
    Task SendAsync(IReadOnlyList<UplinkMessage> batch, CancellationToken ct);
}

/// <summary>What the gateway learned about a device, for Device.status: connection, last seen, reported twin.</summary>
/// <param name="ReportedJson">The latest payload the device published on devices/{name}/twin/reported (a JSON object), or null if unchanged.</param>
public sealed record DeviceReport(string Namespace, string Name, bool Connected, DateTimeOffset LastSeen, ReadOnlyMemory<byte>? ReportedJson);

/// <summary>
/// Where the gateway sends device reports (implemented by the node channel client, which coalesces them per device
/// and delivers the latest after a partition).
/// </summary>
public interface IDeviceReporter
{
    void Report(DeviceReport report);
}

/// <summary>A command for a device, from a cloud application or the API: delivered on <see cref="Topic"/> (devices/{name}/commands/{command}).</summary>
public sealed record DeviceCommand(string Namespace, string Device, string Topic, ReadOnlyMemory<byte> Payload);

/// <summary>The downlink: commands for the devices this gateway serves (raised by the node channel client).</summary>
public interface IDeviceCommandSource
{
    event Action<DeviceCommand>? CommandReceived;
}

/// <summary>A pod running on this node that can take requests: Running, Ready, with its address.</summary>
public sealed record LocalPod(string Namespace, string Name, IReadOnlyDictionary<string, string> Labels, string PodIp);

/// <summary>
/// The pods on this node, for data-rule HTTP actions that name a pod selector (implemented by the agent over its pod
/// workers). Called from the gateway's HTTP loop for every POST, so it must be cheap and thread-safe.
/// </summary>
public interface ILocalPods
{
    /// <summary>Pods that are Running and Ready and have a pod IP.</summary>
    IReadOnlyList<LocalPod> ListReadyPods();
}
