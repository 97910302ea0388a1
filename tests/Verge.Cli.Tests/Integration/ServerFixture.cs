using Verge.ApiServer;
using Verge.ApiServer.Hosting;

namespace Verge.Cli.Tests.Integration;

/// <summary>A real API server on 127.0.0.1 (a free port) over a fresh SQLite data dir, shared by a test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private int _namespaces;

    public string DataDir { get; } = Directory.CreateTempSubdirectory("verge-cli-server-").FullName;

    internal ApiServerHost Host { get; private set; } = null!;

    public string KubeconfigPath => Host.AdminKubeconfigPath;

    public async Task InitializeAsync()
    {
        Host = await ApiServerHost.CreateAsync(new ApiServerOptions { DataDir = DataDir, Listen = "127.0.0.1:0" });
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A namespace name no other test uses.</summary>
    public string UniqueNamespace(string prefix) => $"{prefix}-{Interlocked.Increment(ref _namespaces)}";
}
