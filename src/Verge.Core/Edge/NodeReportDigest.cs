using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Core;
using Verge.Core.Serialization;

namespace Verge.Core.Edge;

/// <summary>
/// The node channel's digest of a node report (Hello.node_report_sha256): the SHA-256 of the Node as JSON with its
/// conditions' lastHeartbeatTime and lastTransitionTime left out. The agent computes it over the report it would send,
/// the server over the report it last wrote; equal digests mean the server holds that content, and a report whose only
/// change is the periodic refresh of its heartbeat time need not be sent again on a reconnect.
/// </summary>
public static class NodeReportDigest
{
    /// <summary>The digest of <paramref name="node"/>, which is left as it was.</summary>
    public static byte[] Compute(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return SHA256.HashData(Content(node));
    }

    /// <summary><paramref name="node"/> as JSON without its conditions' times (the node itself is not changed).</summary>
    public static byte[] Content(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var json = JsonSerializer.SerializeToNode(node, NodeJsonContext.Default.Node)!;
        if (json["status"]?["conditions"] is JsonArray conditions)
        {
            foreach (var condition in conditions.OfType<JsonObject>())
            {
                condition.Remove("lastHeartbeatTime");
                condition.Remove("lastTransitionTime");
            }
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            json.WriteTo(writer);
        }

        return buffer.ToArray();
    }
}
