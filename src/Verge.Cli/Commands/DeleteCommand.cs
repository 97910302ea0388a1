using System.CommandLine;
using Verge.Cli.Client;
using Verge.Cli.Manifests;

namespace Verge.Cli.Commands;

/// <summary><c>verge delete KIND NAME...</c> or <c>verge delete -f FILE</c>.</summary>
internal static class DeleteCommand
{
    public static Command Create(CliContext context)
    {
        var words = new Argument<string[]>("KIND NAME") { Description = "The kind and the names to delete", Arity = ArgumentArity.ZeroOrMore };
        var files = new Option<string[]>("--filename", "-f") { Description = "Delete the objects of a manifest file, directory or - (stdin)" };
        var ignoreNotFound = new Option<bool>("--ignore-not-found") { Description = "Treat objects that do not exist as deleted" };
        var options = new ClientOptions();
        var command = new Command("delete", "Delete objects by kind and name, or those in manifests");
        command.Arguments.Add(words);
        command.Options.Add(files);
        command.Options.Add(ignoreNotFound);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () => RunAsync(
            context, parse, options, parse.GetValue(words) ?? [], parse.GetValue(files) ?? [], parse.GetValue(ignoreNotFound), ct)));
        return command;
    }

    private static async Task<int> RunAsync(
        CliContext context, ParseResult parse, ClientOptions options, string[] words, string[] files, bool ignoreNotFound, CancellationToken ct)
    {
        if (files.Length > 0 && words.Length > 0)
        {
            throw new CliException("error: pass either KIND NAME... or -f FILE, not both");
        }

        if (files.Length == 0 && words.Length == 0)
        {
            throw new CliException("error: you must specify the kind and name(s) to delete, or -f FILE");
        }

        var manifests = files.Length > 0 ? await ManifestLoader.LoadAsync(files, context, ct) : [];
        using var session = options.Open(context, parse);
        var namespaceFlag = parse.GetValue(options.Namespace);
        var targets = new List<(ApiResource Resource, string? Namespace, string Name)>();
        if (files.Length > 0)
        {
            foreach (var manifest in manifests)
            {
                var resource = await session.Discovery.FindByKindAsync(manifest.ApiVersion!, manifest.Kind!, ct)
                    ?? throw new CliException($"error: no matches for kind \"{manifest.Kind}\" in version \"{manifest.ApiVersion}\" (from \"{manifest.Source}\")");
                var target = ApplyPlanner.Plan(manifest, resource, namespaceFlag, session.ContextNamespace);
                targets.Add((resource, target.Namespace, target.Name));
            }
        }
        else
        {
            var (kind, names) = KindAndNames(words);
            var resource = await session.Discovery.ResolveAsync(kind, ct);
            var ns = resource.Namespaced ? session.NamespaceOr(namespaceFlag) : null;
            targets.AddRange(names.Select(n => (resource, ns, n)));
        }

        var failed = false;
        foreach (var (resource, ns, name) in targets)
        {
            try
            {
                await session.Client.SendAsync(HttpMethod.Delete, resource.ItemPath(ns, name), null, null, "application/json", ct);
                context.Out.WriteLine($"{resource.DisplayName} \"{name}\" deleted");
            }
            catch (ApiStatusException e) when (e.IsNotFound && ignoreNotFound)
            {
            }
            catch (ApiStatusException e)
            {
                Output.Terminal.WriteError(context, e.ToErrorLine());
                failed = true;
            }
        }

        return failed ? 1 : 0;
    }

    /// <summary>KIND NAME... or KIND/NAME...</summary>
    internal static (string Kind, IReadOnlyList<string> Names) KindAndNames(IReadOnlyList<string> words)
    {
        if (words[0].Contains('/', StringComparison.Ordinal))
        {
            var kinds = words.Select(w => w.Split('/', 2)).ToList();
            if (kinds.Any(k => k.Length != 2 || k[1].Length == 0) || kinds.Select(k => k[0]).Distinct(StringComparer.OrdinalIgnoreCase).Count() != 1)
            {
                throw new CliException("error: arguments in KIND/NAME form must all name the same kind");
            }

            return (kinds[0][0], kinds.Select(k => k[1]).ToList());
        }

        if (words.Count < 2)
        {
            throw new CliException($"error: resource(s) were provided, but no name was specified (try `verge delete {words[0]} NAME`)");
        }

        return (words[0], words.Skip(1).ToList());
    }
}
