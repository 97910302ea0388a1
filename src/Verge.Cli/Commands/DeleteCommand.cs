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
        var gracePeriod = new Option<int>("--grace-period")
        {
            Description = "Seconds a pod's node has to stop it (negative: the pod's own terminationGracePeriodSeconds); 0 needs --force",
            DefaultValueFactory = _ => -1,
        };
        var force = new Option<bool>("--force")
        {
            Description = "Remove pods from the API at once, without waiting for their nodes to confirm that they stopped",
        };
        var options = new ClientOptions();
        var command = new Command("delete", "Delete objects by kind and name, or those in manifests");
        command.Arguments.Add(words);
        command.Options.Add(files);
        command.Options.Add(ignoreNotFound);
        command.Options.Add(gracePeriod);
        command.Options.Add(force);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () => RunAsync(
            context, parse, options, parse.GetValue(words) ?? [], parse.GetValue(files) ?? [], parse.GetValue(ignoreNotFound),
            GracePeriodSeconds(context, parse.GetValue(gracePeriod), parse.GetValue(force)), ct)));
        return command;
    }

    /// <summary>
    /// The <c>gracePeriodSeconds</c> to send, as kubectl decides it: <c>--force</c> alone means 0 (with kubectl's
    /// warning), <c>--grace-period=0</c> without <c>--force</c> becomes 1 so that nothing is removed by accident, and
    /// a negative value sends none (each pod's own grace period applies).
    /// </summary>
    internal static int? GracePeriodSeconds(CliContext context, int gracePeriod, bool force)
    {
        if (force && gracePeriod < 0)
        {
            gracePeriod = 0;
        }

        if (gracePeriod == 0 && !force)
        {
            gracePeriod = 1;
        }

        if (force && gracePeriod == 0)
        {
            context.Error.WriteLine("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.");
        }

        return gracePeriod < 0 ? null : gracePeriod;
    }

    private static async Task<int> RunAsync(
        CliContext context, ParseResult parse, ClientOptions options, string[] words, string[] files, bool ignoreNotFound, int? gracePeriodSeconds, CancellationToken ct)
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

        // An object of a manifest that cannot be deleted (a kind the server does not serve, a namespace that
        // contradicts -n) is reported in its place among the others, which are still deleted, as kubectl does and as
        // apply does.
        var targets = new List<(ApiResource? Resource, string? Namespace, string Name, string? Error)>();
        if (files.Length > 0)
        {
            foreach (var manifest in manifests)
            {
                try
                {
                    var resource = await session.Discovery.FindByKindAsync(manifest.ApiVersion!, manifest.Kind!, ct)
                        ?? throw manifest.KindNotServed();
                    var target = ApplyPlanner.Plan(manifest, resource, namespaceFlag, session.ContextNamespace);
                    targets.Add((resource, target.Namespace, target.Name, null));
                }
                catch (CliException e) when (e.InnerException is null)
                {
                    targets.Add((null, null, manifest.Name!, e.Message));
                }
            }
        }
        else
        {
            var (kind, names) = KindAndNames(words);
            var resource = await session.Discovery.ResolveAsync(kind, ct);
            var ns = resource.Namespaced ? session.NamespaceOr(namespaceFlag) : null;
            targets.AddRange(names.Select(n => ((ApiResource?)resource, ns, n, (string?)null)));
        }

        var failed = false;
        foreach (var (resource, ns, name, error) in targets)
        {
            if (resource is null)
            {
                Output.Terminal.WriteError(context, error!);
                failed = true;
                continue;
            }

            try
            {
                var path = resource.ItemPath(ns, name) + (gracePeriodSeconds is { } grace ? $"?gracePeriodSeconds={grace.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "");
                await session.Client.SendAsync(HttpMethod.Delete, path, null, null, "application/json", ct);
                context.Out.WriteLine($"{resource.DisplayName} \"{name}\" {(gracePeriodSeconds == 0 ? "force deleted" : "deleted")}");
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
