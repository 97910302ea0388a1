namespace Verge.EndToEnd.Tests;

/// <summary>A test class whose tests each get a fresh <c>verge server</c> process and kubectl pointed at it.</summary>
public abstract class ServerTestBase : IAsyncLifetime
{
    private protected ServerProcess Server { get; } = new();

    private protected Kubectl Kubectl { get; private set; } = null!;

    /// <summary>The seed's Deployment, as shipped in examples/.</summary>
    private protected static string Manifest => Path.Combine(Verge.RepoRoot, "examples", "edge-microservice.yaml");

    public async Task InitializeAsync()
    {
        await Server.StartAsync();
        Kubectl = new Kubectl(Server);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Server.DeleteData();
        if (Kubectl is not null)
        {
            try
            {
                Directory.Delete(Kubectl.CacheDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
