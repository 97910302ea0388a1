using System.CommandLine;
using Verge.ApiServer;
using Verge.ApiServer.Hosting;
using Verge.Cli.Client;
using Verge.Cli.Output;
using Verge.Controllers;

namespace Verge.Cli.Commands;

/// <summary>
/// <c>verge server</c> runs the API server until Ctrl-C or SIGTERM; <c>verge up</c> does the same with a quick-start
/// banner (agents join it in a later release). Both write DATA_DIR/admin.kubeconfig; with the default data dir the
/// client verbs run from the same directory find it without flags.
/// </summary>
internal static class ServerCommand
{
    public static Command Create(CliContext context, bool up)
    {
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Where the store, certificates and admin kubeconfig live",
            DefaultValueFactory = _ => ".verge",
        };
        var listen = new Option<string>("--listen")
        {
            Description = "HOST:PORT to serve HTTPS on",
            DefaultValueFactory = _ => "127.0.0.1:6443",
        };
        var store = new Option<string>("--store")
        {
            Description = "The store: sqlite (under the data dir) or sqlite:PATH",
            DefaultValueFactory = _ => "sqlite",
        };
        var mqttListen = new Option<string?>("--mqtt-listen")
        {
            Description = "HOST:PORT of the cloud MQTT endpoint (TLS with the cluster CA; client certificate or API token as password): upstream messages from gateways, commands to devices",
        };
        var command = up
            ? new Command("up", "Run an all-in-one cluster on this machine (the quick start)")
            : new Command("server", "Run the control plane's API server");
        command.Options.Add(dataDir);
        command.Options.Add(listen);
        command.Options.Add(store);
        command.Options.Add(mqttListen);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () => RunAsync(
            context, up, parse.GetValue(dataDir)!, parse.GetValue(listen)!, parse.GetValue(store)!, parse.GetValue(mqttListen), ct)));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, bool up, string dataDir, string listen, string store, string? mqttListen, CancellationToken ct)
    {
        var options = new ApiServerOptions
        {
            DataDir = Path.GetFullPath(dataDir, context.CurrentDirectory),
            Listen = listen,
            Store = store,
            MqttListen = mqttListen,
        };
        await using var host = await ApiServerHost.CreateAsync(options, services => services.AddVergeControllers(), ct);
        await host.StartAsync(ct);
        var kubeconfig = host.AdminKubeconfigPath;
        if (up)
        {
            WriteBanner(context, host.Address, kubeconfig);
        }
        else
        {
            Terminal.WriteTitle(context, $"Verge API server {VersionInfo.Verge} listening on {host.Address.ToString().TrimEnd('/')}");
            await context.Out.WriteLineAsync($"Admin kubeconfig: {kubeconfig}");
            if (!string.IsNullOrEmpty(mqttListen))
            {
                await context.Out.WriteLineAsync($"Cloud MQTT endpoint (TLS): {mqttListen}");
            }

            await context.Out.WriteLineAsync($"Try: kubectl --kubeconfig {kubeconfig} get nodes");
        }

        await context.Out.FlushAsync(ct);
        context.ServerStarted?.Invoke(host.Address);
        try
        {
            await host.WaitForShutdownAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        await context.Out.WriteLineAsync("Shutting down.");
        return 0;
    }

    private static void WriteBanner(CliContext context, Uri address, string kubeconfig)
    {
        var local = Path.GetFullPath(KubeconfigLocator.LocalKubeconfig, context.CurrentDirectory);
        var found = string.Equals(local, kubeconfig, StringComparison.Ordinal);
        Terminal.WriteTitle(context, $"Verge {VersionInfo.Verge} is up at {address.ToString().TrimEnd('/')}");
        var lines = new List<string>
        {
            $"Admin kubeconfig: {kubeconfig}",
            "",
            found
                ? "From this directory, in another terminal, try:"
                : $"Point the client at the cluster (export KUBECONFIG={kubeconfig} or pass --kubeconfig), then try:",
            "  verge get namespaces",
            "  verge apply -f examples/edge-microservice.yaml",
            "  verge get deployments -o wide",
            $"  kubectl --kubeconfig {kubeconfig} get nodes",
            "",
            "Press Ctrl-C to stop.",
        };
        foreach (var line in lines)
        {
            context.Out.WriteLine(line);
        }
    }
}
