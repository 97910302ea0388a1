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
}
