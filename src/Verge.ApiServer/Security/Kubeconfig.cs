using System.Text;

namespace Verge.ApiServer.Security;

/// <summary>Writes kubeconfig files that kubectl, the verge CLI and every Kubernetes client read.</summary>
public static class Kubeconfig
{
    /// <summary>A kubeconfig with one cluster, one user authenticated by a client certificate, and one context.</summary>
    public static string Render(string clusterName, string server, string caPem, string user, string certificatePem, string keyPem)
    {
        static string B64(string pem) => Convert.ToBase64String(Encoding.UTF8.GetBytes(pem));
        return $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: {clusterName}
              cluster:
                server: {server}
                certificate-authority-data: {B64(caPem)}
            users:
            - name: {user}
              user:
                client-certificate-data: {B64(certificatePem)}
                client-key-data: {B64(keyPem)}
            contexts:
            - name: {clusterName}
              context:
                cluster: {clusterName}
                user: {user}
                namespace: default
            current-context: {clusterName}

            """;
    }
}
