using System.CommandLine;
using Verge.ApiServer.Hosting;

namespace Verge.Cli.Commands;

/// <summary><c>verge version</c>: the client's version and the server's gitVersion from /version.</summary>
internal static class VersionCommand
{
    public static Command Create(CliContext context)
    {
        var clientOnly = new Option<bool>("--client") { Description = "Print the client version only" };
        var options = new ClientOptions();
        var command = new Command("version", "Print the client and server versions");
        command.Options.Add(clientOnly);
        options.AddTo(command, withNamespace: false);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            await context.Out.WriteLineAsync($"Client Version: {VersionInfo.Verge} (Kubernetes API {VersionInfo.GitVersion})");
            if (parse.GetValue(clientOnly))
            {
                return 0;
            }

            using var session = options.Open(context, parse);
            var version = await session.Client.GetAsync("/version", ct);
            await context.Out.WriteLineAsync($"Server Version: {version["gitVersion"]?.GetValue<string>() ?? "unknown"}");
            return 0;
        }));
        return command;
    }
}
