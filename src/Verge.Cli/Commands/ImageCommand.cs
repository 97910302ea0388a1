using System.CommandLine;
using System.Text.Json.Nodes;
using Verge.Cli.Client;

namespace Verge.Cli.Commands;

/// <summary>
/// <c>verge image import FILE.tar [--node NAME]</c>: streams an OCI image archive (or docker-archive) through the
/// control plane into a node's image cache, so pods can run it with no registry. Without --node the archive goes to
/// every node connected now; one line per node says what it imported or why not.
/// </summary>
internal static class ImageCommand
{
    public const string ContentType = "application/x-tar";

    public static Command Create(CliContext context)
    {
        var command = new Command("image", "Manage the images in the nodes' image caches");
        command.Subcommands.Add(ImportVerb(context));
        return command;
    }

    private static Command ImportVerb(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "An OCI image archive or docker-archive (.tar, or .tar.gz)" };
        var node = new Option<string?>("--node") { Description = "The node to import to (default: every connected node)" };
        var options = new ClientOptions();
        var command = new Command("import", "Import an image archive into a node's image cache, through the control plane");
        command.Arguments.Add(file);
        command.Options.Add(node);
        options.AddTo(command, withNamespace: false);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () =>
            ImportAsync(context, parse, options, parse.GetValue(file)!, parse.GetValue(node), ct)));
        return command;
    }

    private static async Task<int> ImportAsync(CliContext context, ParseResult parse, ClientOptions options, string file, string? node, CancellationToken ct)
    {
        var path = Path.GetFullPath(file, context.CurrentDirectory);
        if (!File.Exists(path))
        {
            throw new CliException($"error: the image archive \"{file}\" does not exist");
        }

        using var session = options.Open(context, parse);
        if (node is not null)
        {
            var references = await ImportToAsync(session.Client, path, node, ct);
            foreach (var reference in references)
            {
                await context.Out.WriteLineAsync($"{node}: imported {reference}");
            }

            return 0;
        }

        var nodes = await session.Client.GetAsync("/api/v1/nodes", ct);
        var names = (nodes["items"] as JsonArray ?? []).Select(n => n?["metadata"]?["name"]?.GetValue<string>()).OfType<string>().Order(StringComparer.Ordinal).ToList();
        var imported = 0;
        var failed = 0;
        foreach (var name in names)
        {
            try
            {
                var references = await ImportToAsync(session.Client, path, name, ct);
                await context.Out.WriteLineAsync($"{name}: imported {string.Join(", ", references)}");
                imported++;
            }
            catch (ApiStatusException e) when (e.Code == 503)
            {
                // Not connected now: not a target.
                await context.Out.WriteLineAsync($"{name}: skipped, not connected");
            }
            catch (ApiStatusException e)
            {
                await context.Out.WriteLineAsync($"{name}: failed: {e.Message}");
                failed++;
            }
        }

        if (imported == 0 && failed == 0)
        {
            throw new CliException(names.Count == 0
                ? "error: the cluster has no nodes to import the image to"
                : "error: no node is connected to the control plane: nothing was imported");
        }

        return failed == 0 ? 0 : 1;
    }

    private static async Task<IReadOnlyList<string>> ImportToAsync(KubeClient client, string path, string node, CancellationToken ct)
    {
        await using var archive = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 256 * 1024, useAsync: true);
        var response = await client.UploadAsync($"/verge/v1/nodes/{Uri.EscapeDataString(node)}/images", archive, ContentType, ct);
        return (response.Body?["references"] as JsonArray ?? []).Select(r => r?.GetValue<string>()).OfType<string>().ToList();
    }
}
