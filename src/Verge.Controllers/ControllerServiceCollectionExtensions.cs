using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;

namespace Verge.Controllers;

/// <summary>Registers the controllers in the control plane's host (see <c>ApiServerHost.CreateAsync</c>).</summary>
public static class ControllerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the controller manager: leader election on the <c>kube-system/verge-controller-manager</c> Lease, and
    /// on the leader the ReplicaSet, Deployment and garbage collection controllers.
    /// </summary>
    public static IServiceCollection AddVergeControllers(this IServiceCollection services, Action<ControllerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new ControllerOptions();
        configure?.Invoke(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton(sp => new ControllerManager(
            sp.GetRequiredService<ResourceService>(),
            sp.GetRequiredService<WatchCache>(),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<ControllerManager>());
        return services;
    }
}
