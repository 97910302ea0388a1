using Grpc.Net.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Verge.ApiServer.NodeChannel;

/// <summary>Registers the node channel: the gRPC service, the hub, the status writer, the log and image relays and the byte counters.</summary>
public static class NodeChannelServiceCollectionExtensions
{
    public static IServiceCollection AddNodeChannel(this IServiceCollection services, NodeChannelOptions? options = null)
    {
        options ??= new NodeChannelOptions();
        options.Validate();
        services.AddSingleton(options);
        services.AddGrpc(grpc =>
        {
            grpc.ResponseCompressionAlgorithm = "gzip";
            grpc.ResponseCompressionLevel = System.IO.Compression.CompressionLevel.Fastest;
            grpc.MaxReceiveMessageSize = 16 * 1024 * 1024;
            grpc.CompressionProviders = [new GzipCompressionProvider(System.IO.Compression.CompressionLevel.Fastest)];
        });
        services.AddSingleton<DesiredStateHub>();
        services.AddHostedService(sp => sp.GetRequiredService<DesiredStateHub>());
        services.AddSingleton<NodeStatusWriter>();
        services.AddSingleton<PodLogRelay>();
        services.AddSingleton<PodExecRelay>();
        services.AddSingleton<ImageImportRelay>();
        services.TryAddSingleton<ChannelMetrics>();
        return services;
    }

    /// <summary>
    /// Routes <c>/verge.node.v1.NodeChannel/Connect</c> to the gRPC service; every other request falls through to
    /// the middleware that follows.
    /// </summary>
    public static WebApplication UseNodeChannel(this WebApplication app)
    {
        // Explicit routing and endpoints, in this order, so that the terminal middleware registered after this call
        // still sees every request the gRPC route does not match.
        app.UseRouting();
#pragma warning disable ASP0014
        app.UseEndpoints(endpoints => endpoints.MapGrpcService<NodeChannelService>());
#pragma warning restore ASP0014
        return app;
    }
}
