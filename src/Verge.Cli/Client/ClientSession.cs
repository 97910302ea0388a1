namespace Verge.Cli.Client;

/// <summary>What a client verb works with: the client for the chosen kubeconfig context, discovery, and the namespace.</summary>
internal sealed class ClientSession : IDisposable
{
    private ClientSession(KubeClient client, string contextNamespace)
    {
        Client = client;
        Discovery = new Discovery(client);
        ContextNamespace = contextNamespace;
    }

    public KubeClient Client { get; }

    public Discovery Discovery { get; }

    /// <summary>The namespace of the kubeconfig context (default when it names none).</summary>
    public string ContextNamespace { get; }

    public static ClientSession Open(CliContext context, string? kubeconfig, string? contextName)
    {
        var paths = KubeconfigLocator.Locate(kubeconfig, context);
        var connection = Kubeconfig.Load(paths).Resolve(contextName);
        return new ClientSession(new KubeClient(connection), connection.Namespace);
    }

    /// <summary>-n when given, else the context's namespace.</summary>
    public string NamespaceOr(string? flag) => string.IsNullOrEmpty(flag) ? ContextNamespace : flag;

    public void Dispose() => Client.Dispose();
}
