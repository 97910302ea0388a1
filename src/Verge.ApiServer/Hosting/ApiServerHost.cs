using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verge.ApiServer.Cloud;
using Verge.ApiServer.Discovery;
using Verge.ApiServer.Http;
using Verge.ApiServer.NodeChannel;
using Verge.ApiServer.Nodes;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Security;
using Verge.ApiServer.Watch;
using Verge.Core.IO;
using Verge.Core.Meta;
using Verge.Core.Serialization;
using Verge.Store;
using Verge.Store.Sqlite;

namespace Verge.ApiServer.Hosting;

/// <summary>
/// Builds and runs the control plane's HTTPS API server: opens the store, creates the cluster CA, serving
/// certificate and admin kubeconfig on first start, and serves the Kubernetes REST surface.
/// </summary>
public sealed partial class ApiServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IKeyValueStore _store;
    private readonly OwnerLock _owner;
    private int _disposed;

    private ApiServerHost(WebApplication app, IKeyValueStore store, OwnerLock owner, string kubeconfigPath, Uri address)
    {
        _app = app;
        _store = store;
        _owner = owner;
        AdminKubeconfigPath = kubeconfigPath;
        Address = address;
    }

    /// <summary>Where the admin kubeconfig was written.</summary>
    public string AdminKubeconfigPath { get; }

    /// <summary>The HTTPS address clients use.</summary>
    public Uri Address { get; private set; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Creates the server (store, PKI, kubeconfig); <see cref="StartAsync"/> starts serving.</summary>
    public static Task<ApiServerHost> CreateAsync(ApiServerOptions options, CancellationToken ct = default) =>
        CreateAsync(options, null, ct);

    /// <summary>
    /// Creates the server, letting <paramref name="configure"/> add services that run inside the control plane
    /// (controllers, the scheduler loop) next to the API: they share its store, watch cache and registry.
    /// </summary>
    public static async Task<ApiServerHost> CreateAsync(ApiServerOptions options, Action<IServiceCollection>? configure, CancellationToken ct = default)
    {
        options.Validate();
        var dataDir = Path.GetFullPath(options.DataDir);
        Directory.CreateDirectory(dataDir);
        var (host, port) = ParseListen(options.Listen);
        EnsureCanListen(host, port, options.Listen, "--listen");
        if (!string.IsNullOrEmpty(options.MqttListen))
        {
            var (mqttHost, mqttPort) = ParseListen(options.MqttListen, "--mqtt-listen");
            EnsureCanListen(mqttHost, mqttPort, options.MqttListen, "--mqtt-listen");
        }

        var time = TimeProvider.System;

        var (store, owner) = await OpenStoreAsync(options.Store, dataDir, ct);
        try
        {
            var pki = Path.Combine(dataDir, "pki");
            var ca = CertificateAuthority.LoadOrCreate(pki, time);
            var dnsNames = new List<string> { "localhost", Dns.GetHostName() };
            dnsNames.AddRange(options.ExtraSans);
            var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
            if (!host.Equals(IPAddress.Any) && !host.Equals(IPAddress.IPv6Any) && !addresses.Contains(host))
            {
                addresses.Add(host);
            }

            if (!string.IsNullOrEmpty(options.MqttListen))
            {
                var (mqttHost, _) = ParseListen(options.MqttListen, "--mqtt-listen");
                if (!mqttHost.Equals(IPAddress.Any) && !mqttHost.Equals(IPAddress.IPv6Any) && !addresses.Contains(mqttHost))
                {
                    addresses.Add(mqttHost);
                }
            }

            var serving = ca.LoadOrIssueServing(pki, dnsNames, addresses);

            var channelMetrics = new ChannelMetrics();
            // Verge reads no appsettings.json, and the host's default watch of it covers the whole current directory, data
            // directory included (`.verge` by default): every store write woke a file-watcher thread.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Verge", LogLevel.Information);

            // With this category enabled at any level, ASP.NET Core starts an Activity and a logging scope for every
            // request (its request start and finish lines, Information and Debug, are below the minimum level anyway):
            // a node's lease renewal paid for both. Errors of a request are logged by HandleAsync and by Kestrel.
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes * RequestBody.DrainFactor;
                kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;

                // Node channel sessions are long-lived HTTP/2 streams: pings notice a dead agent link within seconds.
                kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(5);
                kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);

                // Long label selectors travel in the URL; Kubernetes accepts request headers up to about 1 MiB.
                kestrel.Limits.MaxRequestLineSize = 1024 * 1024;
                kestrel.Limits.MaxRequestHeadersTotalSize = 1024 * 1024;
                kestrel.Limits.Http2.MaxRequestHeaderFieldSize = 1024 * 1024;
                kestrel.Limits.MaxConcurrentConnections = null;
                kestrel.Listen(host, port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.Use(channelMetrics.Middleware);
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = serving,
                        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (_, _, _) => true,
                    });
                    listen.Use(listen.ApplicationServices.GetRequiredService<StatefulSessionTickets>().Middleware);
                });
            });
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton<StatefulSessionTickets>();
            builder.Services.AddSingleton(time);
            builder.Services.AddSingleton(store);
            builder.Services.AddSingleton(ca);
            builder.Services.AddSingleton<ResourceService>();
            builder.Services.AddSingleton(sp => new WatchCache(store, sp.GetRequiredService<ILogger<WatchCache>>(), options.WatchCacheCapacity, options.BookmarkInterval, time));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<WatchCache>());
            builder.Services.AddHostedService<NamespaceFinalizer>();
            builder.Services.AddHostedService<Compactor>();
            builder.Services.AddSingleton<ResourceEndpoint>();
            builder.Services.AddSingleton<FlowControl>();
            builder.Services.AddSingleton<Authentication>();
            builder.Services.AddSingleton<NodeAuthorizer>();
            builder.Services.AddSingleton<BootstrapTokenStore>();
            builder.Services.AddSingleton<JoinEndpoint>();
            builder.Services.AddSingleton<ImageImportEndpoint>();
            builder.Services.AddSingleton(new DiscoveryDocuments([.. ResourceCatalog.All, .. AccessReviews.Types], VersionInfo.GitVersion));
            builder.Services.AddSingleton(_ => OpenApiRoutes.Create(ResourceCatalog.All));
            builder.Services.AddSingleton(channelMetrics);
            builder.Services.AddNodeChannel(options.NodeChannel);
            builder.Services.AddSingleton(options.Cloud);
            builder.Services.AddSingleton(new ServingCertificate(serving));
            builder.Services.AddSingleton<DeviceCommands>();
            builder.Services.AddSingleton<DeviceReportWriter>();
            builder.Services.AddSingleton<UplinkReceiver>();
            builder.Services.AddSingleton<CloudEndpoint>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<CloudEndpoint>());
            configure?.Invoke(builder.Services);
            var app = builder.Build();
            app.Use(EndLongRequestsOnStop(app.Lifetime.ApplicationStopping));
            app.UseNodeChannel();
            app.UseWebSockets();
            app.Run(context => HandleAsync(context, app.Services));

            var service = app.Services.GetRequiredService<ResourceService>();
            await SystemNamespaces.EnsureAsync(service, ct);

            var kubeconfigPath = Path.Combine(dataDir, "admin.kubeconfig");
            var address = new Uri($"https://{FormatHost(host)}:{port}");
            WriteAdminKubeconfig(ca, kubeconfigPath, address);
            return new ApiServerHost(app, store, owner, kubeconfigPath, address);
        }
        catch
        {
            await store.DisposeAsync();
            owner.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts serving; returns once the port is open, TLS issues stateful session tickets (one warm-up connection) and
    /// the watch cache follows the store.
    /// </summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        if (GcGen0Budget.FallsToItsFloor())
        {
            LogGen0Budget(_app.Services.GetRequiredService<ILogger<ApiServerHost>>(), GcGen0Budget.Advice);
        }

        await _app.StartAsync(ct);
        var bound = _app.Urls.FirstOrDefault();
        if (bound is not null && Address.Port == 0)
        {
            var port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)).Port;
            Address = new UriBuilder(Address) { Port = port }.Uri;
            WriteAdminKubeconfig(_app.Services.GetRequiredService<CertificateAuthority>(), AdminKubeconfigPath, Address);
        }

        var listener = new IPEndPoint(IPAddress.Parse(Address.DnsSafeHost), Address.Port);
        await _app.Services.GetRequiredService<StatefulSessionTickets>().WarmUpAsync(listener, _app.Services.GetRequiredService<ServingCertificate>().Certificate, ct);
        await _app.Services.GetRequiredService<WatchCache>().Ready.WaitAsync(ct);
    }

    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        await _store.DisposeAsync();
        _owner.Dispose();
    }

    /// <summary>
    /// Binds the address once before anything starts, so that a port in use or an address of another machine is one
    /// clear line naming the flag, not a host that fails half-started (its controllers already leading) with a stack
    /// trace in the log. The server binds again right after; a port taken in between still fails, as before.
    /// </summary>
    private static void EnsureCanListen(IPAddress host, int port, string listen, string flag)
    {
        if (port == 0)
        {
            return;
        }

        try
        {
            using var probe = new System.Net.Sockets.Socket(host.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
            probe.Bind(new IPEndPoint(host, port));
            probe.Listen(1);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            var reason = e.SocketErrorCode switch
            {
                System.Net.Sockets.SocketError.AddressAlreadyInUse => "the port is in use (is another verge server running there?)",
                System.Net.Sockets.SocketError.AddressNotAvailable => "the address is not one of this machine's",
                System.Net.Sockets.SocketError.AccessDenied => "permission denied (ports below 1024 need root)",
                _ => e.Message,
            };
            throw new ArgumentException($"{flag} {listen}: cannot listen there: {reason}", e);
        }
    }

    internal static (IPAddress Host, int Port) ParseListen(string listen, string flag = "--listen")
    {
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
        {
            throw new ArgumentException($"{flag} must be HOST:PORT, got \"{listen}\"");
        }

        var hostText = listen[..colon].Trim('[', ']');
        if (hostText.Length == 0)
        {
            return (IPAddress.Any, port);
        }

        if (hostText == "localhost")
        {
            return (IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(hostText, out var host))
        {
            throw new ArgumentException($"{flag} host must be an IP address or localhost, got \"{hostText}\"");
        }

        return (host, port);
    }

    private static string FormatHost(IPAddress host) =>
        host.Equals(IPAddress.Any) ? "127.0.0.1"
        : host.Equals(IPAddress.IPv6Any) ? "[::1]"
        : host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]"
        : host.ToString();

    private static async Task<(IKeyValueStore Store, OwnerLock Owner)> OpenStoreAsync(string spec, string dataDir, CancellationToken ct)
    {
        var (path, flag) = spec == "sqlite"
            ? (Path.Combine(dataDir, "state.db"), $"--data-dir {dataDir}")
            : spec.StartsWith("sqlite:", StringComparison.Ordinal)
                ? (spec["sqlite:".Length..], $"--store {spec}")
                : throw new ArgumentException($"--store must be \"sqlite\" or \"sqlite:PATH\" (etcd comes later), got \"{spec}\"");

        // The store keeps its current revision in memory: a second server writing the same file would reuse revisions.
        var owner = OwnerLock.Acquire(path, $"{flag}: the store {path}");
        try
        {
            return (await SqliteKeyValueStore.OpenAsync(path, null, ct), owner);
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    private static void WriteAdminKubeconfig(CertificateAuthority ca, string path, Uri address)
    {
        var (cert, key) = ca.IssueClient("verge-admin", [UserInfo.MastersGroup], TimeSpan.FromDays(365));
        var text = Kubeconfig.Render("verge", address.ToString().TrimEnd('/'), ca.CertificatePem, "verge-admin", cert, key);
        CertificateAuthority.WriteSecret(path, text);
    }

    /// <summary>
    /// Ends watches and followed logs when the server begins to stop, as Kubernetes' API server does: their clients
    /// reconnect (to another replica, or to this one once it is back). Kestrel otherwise waited for them until its
    /// shutdown timeout (30 s) with the port already closed, and the controllers, still leading, took the nodes whose
    /// renewals it refused meanwhile for dead and evicted their pods. Node channel sessions end on the same signal
    /// (NodeChannelService). Requests that end on their own keep their token as it is: linking costs an allocation,
    /// and a lease renewal is over long before a stop matters.
    /// </summary>
    private static Func<HttpContext, RequestDelegate, Task> EndLongRequestsOnStop(CancellationToken stopping) => (context, next) =>
    {
        if (IsLongLived(context.Request))
        {
            var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            context.RequestAborted = linked.Token;
            context.Response.RegisterForDispose(linked);
        }

        return next(context);
    };

    private static bool IsLongLived(HttpRequest request) =>
        (request.Method == "GET" && request.QueryString.HasValue
            && (request.Query["watch"].ToString() is "true" or "1" || request.Query["follow"].ToString() is "true" or "1"))
        || (request.Method is "GET" or "POST" && request.Path.Value?.EndsWith("/exec", StringComparison.Ordinal) == true);

    private static async Task HandleAsync(HttpContext context, IServiceProvider services)
    {
        try
        {
            var path = context.Request.Path.Value ?? "/";
            if (Authentication.IsPublic(context.Request.Path))
            {
                await WritePlainAsync(context, "ok");
                return;
            }

            if (JoinEndpoint.Matches(context.Request.Path))
            {
                // Joining authenticates by bootstrap token (and fetching the CA by nothing): the caller has no
                // certificate yet.
                await services.GetRequiredService<JoinEndpoint>().HandleAsync(context);
                return;
            }

            if (await services.GetRequiredService<Authentication>().AuthenticateAsync(context) is null)
            {
                throw ApiException.Unauthorized();
            }

            // The path is split once, for the flow-control lane and for routing.
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            using var seat = await services.GetRequiredService<FlowControl>().EnterAsync(context, segments);
            await RouteAsync(context, services, path, segments);
        }
        catch (ApiException e)
        {
            await WriteStatusAsync(context, e);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteStatusAsync(context, ApiException.TooLarge(services.GetRequiredService<ApiServerOptions>().MaxRequestBodyBytes));
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            // Kestrel refused the request itself (a body that arrives too slowly, a malformed chunk, ...).
            await WriteStatusAsync(context, new ApiException(e.StatusCode, e.StatusCode == 408 ? "Timeout" : "BadRequest", e.Message));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogUnhandled(services.GetRequiredService<ILogger<ApiServerHost>>(), context.Request.Method, context.Request.Path, e);
            await WriteStatusAsync(context, ApiException.Internal(e.Message));
        }
    }

    private static async Task RouteAsync(HttpContext context, IServiceProvider services, string path, string[] segments)
    {
        var discovery = services.GetRequiredService<DiscoveryDocuments>();
        var get = context.Request.Method is "GET" or "HEAD";
        switch (segments)
        {
            case ["version"] when get:
                await ResourceEndpoint.WriteJsonAsync(context, 200, discovery.Version);
                return;
            case ["api"] when get:
                await WriteDiscoveryAsync(context, discovery.Api, discovery.ApiAggregated);
                return;
            case ["apis"] when get:
                await WriteDiscoveryAsync(context, discovery.Apis, discovery.ApisAggregated);
                return;
            case ["api", var v] when get:
                await ResourceEndpoint.WriteJsonAsync(context, 200, discovery.ResourceList(v) ?? throw ApiException.NotFoundPath());
                return;
            case ["apis", var g, var v] when get:
                await ResourceEndpoint.WriteJsonAsync(context, 200, discovery.ResourceList($"{g}/{v}") ?? throw ApiException.NotFoundPath());
                return;
            case ["apis", var g] when get:
                await ResourceEndpoint.WriteJsonAsync(context, 200, discovery.Group(g) ?? throw ApiException.NotFoundPath());
                return;
            case [..] when DeviceCommandEndpoint.Matches(context.Request.Method, segments):
                await DeviceCommandEndpoint.HandleAsync(context, segments, services.GetRequiredService<DeviceCommands>(), services.GetRequiredService<ApiServerOptions>().MaxRequestBodyBytes);
                return;
            case ["metrics"] when get:
                await WriteMetricsAsync(context, services);
                return;
            case ["verge", "v1", "nodes", var node, "images"]:
                await services.GetRequiredService<ImageImportEndpoint>().HandleAsync(context, node);
                return;
            case ["openapi", ..] when get:
                await services.GetRequiredService<OpenApiRoutes>().HandleAsync(context, segments);
                return;
            case ["api", var v, .. var rest] when rest.Length > 0:
                await services.GetRequiredService<ResourceEndpoint>().HandleAsync(context, "", v, rest);
                return;
            case ["apis", var g, var v, .. var rest] when rest.Length > 0:
                if (!await AccessReviews.TryHandleAsync(context, g, v, rest, services.GetRequiredService<ApiServerOptions>().MaxRequestBodyBytes))
                {
                    await services.GetRequiredService<ResourceEndpoint>().HandleAsync(context, g, v, rest);
                }

                return;
            default:
                throw ApiException.NotFoundPath();
        }
    }

    private static Task WriteDiscoveryAsync(HttpContext context, byte[] plain, byte[] aggregated)
    {
        var accept = context.Request.Headers.Accept.ToString();
        if (accept.Contains("as=APIGroupDiscoveryList", StringComparison.Ordinal)
            && accept.Contains("v=v2", StringComparison.Ordinal)
            && accept.Contains("g=apidiscovery.k8s.io", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = DiscoveryDocuments.AggregatedMediaType;
            context.Response.ContentLength = aggregated.Length;
            return context.Response.Body.WriteAsync(aggregated, context.RequestAborted).AsTask();
        }

        return ResourceEndpoint.WriteJsonAsync(context, 200, plain);
    }

    private static async Task WriteMetricsAsync(HttpContext context, IServiceProvider services)
    {
        var user = Authentication.UserOf(context)!;
        if (!user.IsAdmin)
        {
            throw new ApiException(403, "Forbidden", $"forbidden: User \"{user.Name}\" cannot get path \"/metrics\"");
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(services.GetRequiredService<ChannelMetrics>().Render(), context.RequestAborted);
        var cloud = services.GetRequiredService<CloudEndpoint>();
        var uplinks = services.GetRequiredService<UplinkReceiver>();
        await context.Response.WriteAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
            # HELP verge_cloud_uplink_messages_total Upstream messages from gateways, by outcome at the cloud endpoint.
            # TYPE verge_cloud_uplink_messages_total counter
            verge_cloud_uplink_messages_total{outcome="published"} {{uplinks.Published}}
            verge_cloud_uplink_messages_total{outcome="duplicate"} {{uplinks.Duplicates}}
            # HELP verge_cloud_refused_total Refusals at the cloud endpoint, by what was refused.
            # TYPE verge_cloud_refused_total counter
            verge_cloud_refused_total{what="connection"} {{cloud.RefusedConnections}}
            verge_cloud_refused_total{what="command"} {{cloud.RefusedCommands}}

            """), context.RequestAborted);
    }

    private static async Task WritePlainAsync(HttpContext context, string text)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(text, context.RequestAborted);
    }

    internal static async Task WriteStatusAsync(HttpContext context, ApiException error)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        if (error.Details?.RetryAfterSeconds is { } retryAfter and > 0)
        {
            context.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(error.ToStatus(), VergeJson.Options.GetTypeInfo(typeof(Status)));
        await ResourceEndpoint.WriteJsonAsync(context, error.Code, body);
    }

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "This machine shows no CPU cache sizes, so workstation GC gets its smallest gen0 budget and the server collects several times as often; start it under server GC (DOTNET_gcServer=1, the default of verge) or with {Setting} (docs/api-server.md, \"Garbage collection\")")]
    private static partial void LogGen0Budget(ILogger logger, string setting);

    [LoggerMessage(EventId = 3000, Level = LogLevel.Error, Message = "Unhandled error serving {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string method, PathString path, Exception exception);
}
