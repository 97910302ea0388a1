using System.CommandLine;
using Verge.Cli.Client;
using Verge.Cli.Manifests;

namespace Verge.Cli.Commands;

/// <summary><c>verge apply -f FILE|DIR|-</c>: server-side apply of every object in the manifests.</summary>
internal static class ApplyCommand
{
    public static Command Create(CliContext context)
    {
        var files = new Option<string[]>("--filename", "-f")
        {
            Description = "A manifest file, a directory of them, or - for stdin (repeatable)",
            Required = true,
        };
        var options = new ClientOptions();
        var command = new Command("apply", "Create or update objects from manifests with server-side apply");
        command.Options.Add(files);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () => RunAsync(context, parse, options, parse.GetValue(files) ?? [], ct)));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, ParseResult parse, ClientOptions options, string[] files, CancellationToken ct)
    {
        var manifests = await ManifestLoader.LoadAsync(files, context, ct);
        if (manifests.Count == 0)
        {
            throw new CliException("error: no objects passed to apply");
        }

        using var session = options.Open(context, parse);
        var namespaceFlag = parse.GetValue(options.Namespace);
        var failed = false;
        foreach (var manifest in manifests)
        {
            try
            {
                var resource = await session.Discovery.FindByKindAsync(manifest.ApiVersion!, manifest.Kind!, ct)
                    ?? throw manifest.KindNotServed();
                var target = ApplyPlanner.Plan(manifest, resource, namespaceFlag, session.ContextNamespace);
                var before = await session.Client.TryGetAsync(target.ItemPath, ct);
                var response = await session.Client.SendAsync(
                    HttpMethod.Patch, target.PatchPath, target.Body, ApplyPlanner.ContentType, "application/json", ct);
                var outcome = ApplyPlanner.Outcome(response.Code, ResourceVersion(before), ResourceVersion(response.Body));
                context.Out.WriteLine(ApplyPlanner.Message(target, outcome));
            }
            catch (ApiStatusException e)
            {
                Output.Terminal.WriteError(context, e.ToErrorLine());
                failed = true;
            }
            catch (CliException e) when (e.InnerException is null)
            {
                // A problem with this object only; the others are still applied.
                Output.Terminal.WriteError(context, e.Message);
                failed = true;
            }
        }

        return failed ? 1 : 0;
    }

    private static string? ResourceVersion(System.Text.Json.Nodes.JsonNode? obj) =>
        obj?["metadata"]?["resourceVersion"]?.GetValue<string>();
}
