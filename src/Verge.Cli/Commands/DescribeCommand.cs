using System.CommandLine;
using System.Text.Json.Nodes;
using Verge.Cli.Client;
using Verge.Cli.Output;

namespace Verge.Cli.Commands;

/// <summary><c>verge describe KIND NAME</c>: a readable view of one object and its events.</summary>
internal static class DescribeCommand
{
    public static Command Create(CliContext context)
    {
        var words = new Argument<string[]>("KIND NAME") { Description = "The kind and the name(s), or KIND/NAME", Arity = ArgumentArity.OneOrMore };
        var options = new ClientOptions();
        var command = new Command("describe", "Show one object in detail, with its events");
        command.Arguments.Add(words);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () => RunAsync(context, parse, options, parse.GetValue(words) ?? [], ct)));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, ParseResult parse, ClientOptions options, string[] words, CancellationToken ct)
    {
        var (kind, names) = DeleteCommand.KindAndNames(words);
        using var session = options.Open(context, parse);
        var resource = await session.Discovery.ResolveAsync(kind, ct);
        var ns = resource.Namespaced ? session.NamespaceOr(parse.GetValue(options.Namespace)) : null;
        var first = true;
        var failed = false;
        foreach (var name in names)
        {
            JsonObject obj;
            try
            {
                obj = (JsonObject)await session.Client.GetAsync(resource.ItemPath(ns, name), ct);
            }
            catch (ApiStatusException e) when (names.Count > 1)
            {
                // As kubectl: say so and go on with the others; the exit code tells that one was missing.
                Terminal.WriteError(context, e.ToErrorLine());
                failed = true;
                continue;
            }

            obj["apiVersion"] ??= resource.ApiVersion;
            obj["kind"] ??= resource.Kind;
            var events = await EventsAsync(session, resource, ns, name, ct);
            if (!first)
            {
                await context.Out.WriteLineAsync();
            }

            await context.Out.WriteAsync(DescribePrinter.Render(obj, events, context.Time.GetUtcNow()));
            first = false;
        }

        return failed ? 1 : 0;
    }

    /// <summary>The events about the object; none when the server has no events or cannot filter them.</summary>
    private static async Task<IReadOnlyList<JsonObject>> EventsAsync(ClientSession session, ApiResource resource, string? ns, string name, CancellationToken ct)
    {
        var selector = $"involvedObject.name={name},involvedObject.kind={resource.Kind}";
        if (ns is not null)
        {
            selector += $",involvedObject.namespace={ns}";
        }

        var path = (ns is null ? "/api/v1/events" : $"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/events")
            + "?fieldSelector=" + Uri.EscapeDataString(selector);
        try
        {
            var list = await session.Client.GetAsync(path, ct);
            return (list["items"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        }
        catch (ApiStatusException)
        {
            return [];
        }
    }
}
