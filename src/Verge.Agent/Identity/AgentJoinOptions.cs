using Verge.Core.Validation;

namespace Verge.Agent.Identity;

/// <summary>How an agent finds its identity or joins the cluster to get one.</summary>
internal sealed class AgentJoinOptions
{
    /// <summary>The control plane's HTTPS addresses, tried in order.</summary>
    public IReadOnlyList<Uri> Servers { get; set; } = [];

    /// <summary>The join token (<c>K10HASH::ID.SECRET</c> or <c>ID.SECRET</c>); only needed on the first start.</summary>
    public string? Token { get; set; }

    /// <summary>The CA pin (<c>sha256:HEX</c>) when the token does not carry one.</summary>
    public string? CaCertHash { get; set; }

    /// <summary>The agent's data dir; the identity lives in its <c>identity</c> folder.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>The node's name: a DNS-1123 subdomain, the same on every start.</summary>
    public string NodeName { get; set; } = "";

    /// <summary>How long one join request to one server may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            throw new ArgumentException("the agent needs a data dir");
        }

        var errors = NameValidation.IsDns1123Subdomain(NodeName ?? "");
        if (string.IsNullOrEmpty(NodeName) || errors.Count > 0)
        {
            throw new ArgumentException($"the node name \"{NodeName}\" is invalid: {string.Join("; ", errors)}");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("RequestTimeout must be positive");
        }

        foreach (var server in Servers)
        {
            if (!server.IsAbsoluteUri || server.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"server address \"{server}\" must be an absolute https:// URL");
            }
        }
    }
}
