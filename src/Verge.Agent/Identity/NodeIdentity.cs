using System.Security.Cryptography.X509Certificates;

namespace Verge.Agent.Identity;

/// <summary>
/// Who the agent is once it has joined: its node certificate (CN system:node:NAME, O system:nodes) with its private
/// key, and the cluster CA it pins. Stored in the data dir as identity/node.crt, identity/node.key (mode 0600) and
/// identity/ca.crt, all PEM; a restarted agent loads them and never needs the bootstrap token again.
/// </summary>
public sealed record NodeIdentity(string NodeName, X509Certificate2 ClientCertificate, X509Certificate2 ClusterCa)
{
    public const string DirectoryName = "identity";
    public const string CertificateFile = "node.crt";
    public const string KeyFile = "node.key";
    public const string CaFile = "ca.crt";

    /// <summary>The user name a node certificate carries, as Kubernetes' node authorizer expects.</summary>
    public static string UserName(string nodeName) => "system:node:" + nodeName;

    public const string NodesGroup = "system:nodes";
}
