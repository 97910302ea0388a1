using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Verge.ApiServer.Hosting;

namespace Verge.ApiServer.Tests.Hosting;

public sealed class ApiServerHostTests : IDisposable
{
    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("verge-host-");

    public void Dispose() => _dataDir.Delete(recursive: true);

    [Fact]
    public async Task Create_WatchesNoConfigurationFile()
    {
        // The host's default appsettings.json watch covers the current directory and everything under it, the data
        // directory of `verge up` included, so every store write would wake a file-watcher thread.
        await using var host = await ApiServerHost.CreateAsync(new ApiServerOptions { DataDir = _dataDir.FullName, Listen = "127.0.0.1:0" });

        var configuration = (IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>();
        Assert.DoesNotContain(configuration.Providers.OfType<FileConfigurationProvider>(), p => p.Source.ReloadOnChange);
    }

    [Fact]
    public async Task Create_WhileAnotherHostHoldsTheDataDirectory_FailsNamingIt_AndWorksOnceItIsGone()
    {
        var options = new ApiServerOptions { DataDir = _dataDir.FullName, Listen = "127.0.0.1:0" };
        var first = await ApiServerHost.CreateAsync(options);

        var error = await Assert.ThrowsAsync<IOException>(() => ApiServerHost.CreateAsync(options));
        Assert.Equal($"--data-dir {_dataDir.FullName}: the store {Path.Combine(_dataDir.FullName, "state.db")} is in use by another process; stop that one first", error.Message);

        await first.DisposeAsync();
        await using var second = await ApiServerHost.CreateAsync(options);
    }

    [Fact]
    public async Task Stop_EndsOpenWatches_SoTheServerDoesNotWaitForThem()
    {
        // Kestrel waits for requests in flight when it stops, and aborts them after its shutdown timeout: a watch that
        // ended so would break off mid-stream instead of ending.
        var server = new ApiServerFixture();
        await server.InitializeAsync();
        try
        {
            var client = server.AdminClient();
            using var response = await client.GetAsync("/api/v1/namespaces?watch=true", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Contains("\"ADDED\"", await reader.ReadLineAsync(), StringComparison.Ordinal);

            var stopping = server.Host.DisposeAsync().AsTask();
            var rest = await reader.ReadToEndAsync();
            await stopping;

            Assert.DoesNotContain("ERROR", rest, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
