using Verge.Core.Core;
using Verge.Core.Edge;

namespace Verge.Gateway;

/// <summary>
/// What the gateway runs on: the devices it serves, their credential Secrets and the data rules for this node. The
/// agent implements it over its local state (the objects the control plane sent over the node channel); a standalone
/// gateway may implement it over files.
/// </summary>
public interface IGatewayState
{
    /// <summary>The devices this gateway serves.</summary>
    IReadOnlyList<Device> ListDevices();

    /// <summary>The data rules that run on this gateway.</summary>
    IReadOnlyList<DataRule> ListDataRules();

    /// <summary>A Secret of the node's desired state, or null.</summary>
    Secret? GetSecret(string secretNamespace, string name);

    /// <summary>Raised after devices, secrets or rules change; the gateway then reads them again.</summary>
    event Action? Changed;
}
