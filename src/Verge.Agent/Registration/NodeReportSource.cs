using Verge.Core.Edge;
using CoreNode = Verge.Core.Core.Node;

namespace Verge.Agent.Registration;

/// <summary>
/// The node report the agent sends over its channel. Each call collects the node afresh, but the conditions' times
/// move only when the rest of the report changes or <see cref="RefreshInterval"/> has passed since they last moved
/// (kubelet's nodeStatusReportFrequency). The channel sends the report whenever its bytes change, so an idle node
/// sends it every 5 minutes rather than at every check, and the digest a reconnect's Hello carries still matches the
/// report the server holds. What tells the control plane that the node is alive is its lease, renewed by the
/// channel's heartbeats, as with kubelet.
/// </summary>
internal sealed class NodeReportSource(Func<CoreNode> collect, TimeProvider time)
{
    /// <summary>How often an unchanged report is sent again with a new lastHeartbeatTime (kubelet: 5 minutes).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string Status, DateTimeOffset Since)> _transitions = new(StringComparer.Ordinal);
    private byte[]? _content;
    private DateTimeOffset _heartbeat;

    /// <summary>The report: lastHeartbeatTime when its content last changed or was refreshed, lastTransitionTime when each condition took its status.</summary>
    public CoreNode Current()
    {
        var node = collect();
        var conditions = node.Status?.Conditions ?? [];
        var content = NodeReportDigest.Content(node);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_content is null || !content.AsSpan().SequenceEqual(_content) || now - _heartbeat >= RefreshInterval)
            {
                _content = content;
                _heartbeat = now;
            }

            foreach (var condition in conditions)
            {
                if (!_transitions.TryGetValue(condition.Type, out var seen) || seen.Status != condition.Status)
                {
                    seen = (condition.Status, now);
                    _transitions[condition.Type] = seen;
                }

                condition.LastHeartbeatTime = _heartbeat;
                condition.LastTransitionTime = seen.Since;
            }
        }

        return node;
    }
}
