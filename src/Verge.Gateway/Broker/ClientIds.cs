using System.Runtime.CompilerServices;
using MQTTnet.Formatter;
using MQTTnet.Server;

namespace Verge.Gateway.Broker;

/// <summary>
/// Server-assigned client ids for clients that connect with an empty one, as MQTT allows with a clean session
/// (mosquitto_pub and mosquitto_sub do by default). Used by the gateway's broker and the control plane's cloud endpoint.
/// </summary>
public static class ClientIds
{
    /// <summary>
    /// Gives a client with an empty id the id <paramref name="prefix"/> + a random suffix. Returns false when the
    /// client must be refused (an empty id without a clean session, which MQTT 3.1.1 forbids).
    /// </summary>
    public static bool AssignIfEmpty(ValidatingConnectionEventArgs e, string prefix, out string clientId)
    {
        ArgumentNullException.ThrowIfNull(e);
        clientId = e.ClientId;
        if (!string.IsNullOrEmpty(clientId))
        {
            return true;
        }

        if (e.ProtocolVersion != MqttProtocolVersion.V500 && e.CleanSession == false)
        {
            return false;
        }

        // MQTTnet applies AssignedClientIdentifier only to MQTT 5.0 clients and refuses 3.1.1 clients without an id,
        // so for those the id is written into the CONNECT packet itself (UnsafeAccessor: no reflection, AOT safe; if
        // a later MQTTnet renames the field, such clients are refused as before).
        clientId = prefix + Guid.NewGuid().ToString("N")[..16];
        e.AssignedClientIdentifier = clientId;
        if (e.ProtocolVersion != MqttProtocolVersion.V500)
        {
            try
            {
                ConnectPacket(e).ClientId = clientId;
            }
            catch (MissingFieldException)
            {
                return false;
            }
        }

        return true;
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_connectPacket")]
    private static extern ref MQTTnet.Packets.MqttConnectPacket ConnectPacket(ValidatingConnectionEventArgs e);
}
