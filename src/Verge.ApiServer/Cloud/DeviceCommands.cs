using Verge.ApiServer.Http;
using Verge.ApiServer.NodeChannel;
using Verge.ApiServer.Registry;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.Cloud;

/// <summary>
/// Sends a command to a device through the node that serves it (the Device's spec.nodeName): a
/// DeviceCommandMessage on that node's channel session, which the gateway delivers to the device on
/// <c>devices/{name}/commands/{command}</c>. Commands are not queued: a device that is unknown, unassigned or whose
/// node is not connected is refused with an <see cref="ApiException"/> saying so (404, 409, 503).
/// </summary>
internal sealed class DeviceCommands(ResourceService service, DesiredStateHub hub)
{
    public const string DefaultNamespace = "default";

    private static readonly ResourceType DeviceType = ResourceCatalog.For<Device>();

    private long _sent;

    /// <summary>Commands handed to a node session so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Sends <paramref name="payload"/> as command <paramref name="command"/>; returns the node it went to.</summary>
    public async Task<string> SendAsync(string ns, string device, string command, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(command) || command.Contains('#', StringComparison.Ordinal) || command.Contains('+', StringComparison.Ordinal))
        {
            throw ApiException.BadRequest($"command \"{command}\" is invalid: it must be a non-empty topic suffix without wildcards (+, #)");
        }

        var kv = await service.GetRawAsync(DeviceType, ns, device, ct);
        if (kv is null || ObjectCodec.Decode(DeviceType, kv.Value.Span, kv.ModRevision) is not Device found)
        {
            throw ApiException.NotFound(DeviceType, device);
        }

        var node = found.Spec.NodeName;
        if (string.IsNullOrEmpty(node))
        {
            throw new ApiException(409, "Conflict", $"device \"{ns}/{device}\" has no spec.nodeName: no gateway serves it, so the command cannot be delivered");
        }

        var session = hub.SessionOf(node)
            ?? throw new ApiException(503, "ServiceUnavailable", $"node \"{node}\" serving device \"{ns}/{device}\" is not connected to the control plane: the command was not delivered (commands are not queued; send it again once the node is back)");
        session.Send(new ServerMessage
        {
            DeviceCommand = new DeviceCommandMessage
            {
                Namespace = ns,
                Device = device,
                Topic = $"devices/{device}/commands/{command}",
                Payload = Google.Protobuf.ByteString.CopyFrom(payload.Span),
            },
        });
        Interlocked.Increment(ref _sent);
        return node;
    }

    /// <summary>
    /// Reads a command topic of the cloud endpoint: <c>devices/{name}/commands/{command}</c> names a device of the
    /// default namespace, <c>devices/{namespace}/{name}/commands/{command}</c> one of another namespace. The command
    /// may hold further levels (<c>devices/d1/commands/valve/open</c>).
    /// </summary>
    public static bool TryParseTopic(string topic, out string ns, out string device, out string command)
    {
        ns = device = command = "";
        var parts = topic.Split('/');
        if (parts.Length >= 4 && parts[0] == "devices" && parts[2] == "commands" && parts[1].Length > 0)
        {
            (ns, device, command) = (DefaultNamespace, parts[1], string.Join('/', parts[3..]));
        }
        else if (parts.Length >= 5 && parts[0] == "devices" && parts[3] == "commands" && parts[1].Length > 0 && parts[2].Length > 0)
        {
            (ns, device, command) = (parts[1], parts[2], string.Join('/', parts[4..]));
        }
        else
        {
            return false;
        }

        return command.Length > 0;
    }
}
