using System.Security.Cryptography;
using System.Text.Json;
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

    /// <summary><paramref name="node"/> as JSON without its conditions' times; the node is left as it was.</summary>
    public static byte[] Content(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var conditions = node.Status?.Conditions ?? [];
        var times = conditions.Select(c => (c.LastHeartbeatTime, c.LastTransitionTime)).ToList();
        try
        {
            foreach (var condition in conditions)
            {
                condition.LastHeartbeatTime = null;
                condition.LastTransitionTime = null;
            }

            return JsonSerializer.SerializeToUtf8Bytes(node, VergeJsonContext.Default.Node);
        }
        finally
        {
            for (var i = 0; i < conditions.Count; i++)
            {
                (conditions[i].LastHeartbeatTime, conditions[i].LastTransitionTime) = times[i];
            }
        }
    }
}
