using System.CommandLine;
using System.Text.Json.Nodes;
using Verge.Cli.Client;
using Verge.Cli.Output;

namespace Verge.Cli.Commands;

/// <summary><c>verge get KIND [NAME]</c>: tables from the server's Table output, or the objects as YAML, JSON or names.</summary>
internal static class GetCommand
{
    public static Command Create(CliContext context)
    {
        var kind = new Argument<string>("KIND") { Description = "The kind: plural, singular, short name or Kind, optionally kind.group" };
        var name = new Argument<string?>("NAME") { Description = "One object's name", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string?>("--output", "-o") { Description = "wide, yaml, json or name" };
        output.AcceptOnlyFromAmong("wide", "yaml", "json", "name");
        var allNamespaces = new Option<bool>("--all-namespaces", "-A") { Description = "List across all namespaces" };
        var selector = new Option<string?>("--selector", "-l") { Description = "Label selector, e.g. app=web,tier!=db" };
        var watch = new Option<bool>("--watch", "-w") { Description = "After listing, print a line per change until Ctrl-C" };
        var noHeaders = new Option<bool>("--no-headers") { Description = "Omit the header line of tables" };
        var options = new ClientOptions();
        var command = new Command("get", "List objects of a kind, or show one");
        command.Arguments.Add(kind);
        command.Arguments.Add(name);
        command.Options.Add(output);
        command.Options.Add(allNamespaces);
        command.Options.Add(selector);
        command.Options.Add(watch);
        command.Options.Add(noHeaders);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, () =>
        {
            var request = new GetRequest(
                parse.GetValue(kind)!,
                parse.GetValue(name),
                parse.GetValue(output),
                parse.GetValue(allNamespaces),
                parse.GetValue(selector),
                parse.GetValue(watch),
                parse.GetValue(noHeaders));
            return RunAsync(context, parse, options, request, ct);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, ParseResult parse, ClientOptions options, GetRequest request, CancellationToken ct)
    {
        var typed = request.Kind;
        var name = request.Name;
        if (name is null && typed.Contains('/', StringComparison.Ordinal))
        {
            var parts = typed.Split('/', 2);
            (typed, name) = (parts[0], parts[1]);
            if (typed.Length == 0 || name.Length == 0)
            {
                throw new CliException("error: arguments in resource/name form must have a single resource and name");
            }
        }

        if (name is not null && request.AllNamespaces)
        {
            throw new CliException("error: a resource cannot be retrieved by name across all namespaces");
        }

        using var session = options.Open(context, parse);
        var resource = await session.Discovery.ResolveAsync(typed, ct);
        var allNamespaces = request.AllNamespaces && resource.Namespaced && name is null;
        var ns = !resource.Namespaced || allNamespaces ? null : session.NamespaceOr(parse.GetValue(options.Namespace));
        var query = Query(request.Selector, request.Watch ? name : null);
        var path = name is not null && !request.Watch ? resource.ItemPath(ns, name) : resource.CollectionPath(ns) + query;
        try
        {
            return request.Output switch
            {
                "yaml" or "json" or "name" => await PrintObjectsAsync(context, session, resource, path, ns, name, request, query, ct),
                _ => await PrintTableAsync(context, session, resource, path, ns, name, request, allNamespaces, query, ct),
            };
        }
        catch (OperationCanceledException) when (request.Watch && ct.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static async Task<int> PrintTableAsync(
        CliContext context, ClientSession session, ApiResource resource, string path, string? ns, string? name,
        GetRequest request, bool allNamespaces, string query, CancellationToken ct)
    {
        var tableNode = await session.Client.GetAsync(path, ct, KubeClient.TableAccept);
        var table = TableData.Parse(tableNode);
        var renderer = new TableRenderer(table.Columns, new TableOptions(request.Output == "wide", allNamespaces, request.NoHeaders));
        if (table.Rows.Count == 0 && name is not null)
        {
            throw new ApiStatusException(404, "NotFound", $"{resource.QualifiedName} \"{name}\" not found");
        }

        if (table.Rows.Count == 0 && !request.Watch)
        {
            context.Error.WriteLine(TableRenderer.NoResources(ns));
            return 0;
        }

        if (!request.Watch)
        {
            Terminal.WriteTable(context, renderer, table.Rows);
            return 0;
        }

        // Watch: plain lines so that later rows line up with the first table.
        foreach (var line in renderer.Render(table.Rows))
        {
            await context.Out.WriteLineAsync(line);
        }

        await context.Out.FlushAsync(ct);
        var rv = tableNode["metadata"]?["resourceVersion"]?.GetValue<string>();
        await foreach (var frame in session.Client.WatchAsync(WatchPath(resource, ns, query, rv), KubeClient.TableAccept, ct))
        {
            var type = frame["type"]?.GetValue<string>();
            if (type == "ERROR")
            {
                throw ApiStatusException.FromResponse(frame["object"]?["code"]?.GetValue<int>() ?? 500, frame["object"]?.ToJsonString() ?? "");
            }

            if (type is "BOOKMARK" || frame["object"] is not JsonObject eventTable)
            {
                continue;
            }

            foreach (var row in TableData.Parse(eventTable).Rows)
            {
                await context.Out.WriteLineAsync(renderer.Line(renderer.Cells(row)));
            }

            await context.Out.FlushAsync(ct);
        }

        return 0;
    }

    private static async Task<int> PrintObjectsAsync(
        CliContext context, ClientSession session, ApiResource resource, string path, string? ns, string? name,
        GetRequest request, string query, CancellationToken ct)
    {
        var node = await session.Client.GetAsync(path, ct);
        JsonNode result;
        var items = new List<JsonObject>();
        if (node["items"] is JsonArray list)
        {
            foreach (var item in list.OfType<JsonObject>())
            {
                item["apiVersion"] ??= resource.ApiVersion;
                item["kind"] ??= resource.Kind;
                items.Add(item);
            }

            if (name is not null && items.Count == 0)
            {
                throw new ApiStatusException(404, "NotFound", $"{resource.QualifiedName} \"{name}\" not found");
            }

            result = name is not null && items.Count == 1
                ? items[0].DeepClone()
                : new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "List",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = "" },
                    ["items"] = new JsonArray([.. items.Select(i => i.DeepClone())]),
                };
        }
        else
        {
            items.Add((JsonObject)node);
            result = node;
        }

        var documents = 0;
        if (request.Output == "name")
        {
            foreach (var item in items)
            {
                await context.Out.WriteLineAsync($"{resource.DisplayName}/{item["metadata"]?["name"]?.GetValue<string>()}");
            }
        }
        else if (!request.Watch)
        {
            await context.Out.WriteAsync(Render(result, request.Output!));
        }
        else
        {
            // As kubectl get -w: the objects one by one, not as a List, and YAML documents apart with ---.
            foreach (var item in items)
            {
                await context.Out.WriteAsync(Document(item, request.Output!, documents++ > 0));
            }
        }

        if (!request.Watch)
        {
            if (items.Count == 0 && request.Output == "name")
            {
                context.Error.WriteLine(TableRenderer.NoResources(ns));
            }

            return 0;
        }

        var rv = node["metadata"]?["resourceVersion"]?.GetValue<string>();
        await foreach (var frame in session.Client.WatchAsync(WatchPath(resource, ns, query, rv), "application/json", ct))
        {
            var type = frame["type"]?.GetValue<string>();
            if (type == "ERROR")
            {
                throw ApiStatusException.FromResponse(frame["object"]?["code"]?.GetValue<int>() ?? 500, frame["object"]?.ToJsonString() ?? "");
            }

            if (type is "BOOKMARK" || frame["object"] is not JsonObject obj)
            {
                continue;
            }

            await context.Out.WriteAsync(request.Output == "name"
                ? $"{resource.DisplayName}/{obj["metadata"]?["name"]?.GetValue<string>()}\n"
                : Document(obj, request.Output!, documents++ > 0));
            await context.Out.FlushAsync(ct);
        }

        return 0;
    }

    /// <summary>One object of a watch's output: a YAML document after the first starts with <c>---</c>.</summary>
    private static string Document(JsonNode node, string output, bool afterAnother) =>
        (afterAnother && output == "yaml" ? "---\n" : "") + Render(node, output);

    private static string Render(JsonNode node, string output) =>
        output == "json" ? YamlOutput.ToJson(node) + "\n" : YamlOutput.ToYaml(node);

    private static string Query(string? selector, string? name)
    {
        var parts = new List<string>();
        if (!string.IsNullOrEmpty(selector))
        {
            parts.Add("labelSelector=" + Uri.EscapeDataString(selector));
        }

        if (name is not null)
        {
            parts.Add("fieldSelector=" + Uri.EscapeDataString("metadata.name=" + name));
        }

        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static string WatchPath(ApiResource resource, string? ns, string query, string? resourceVersion)
    {
        var path = resource.CollectionPath(ns) + (query.Length == 0 ? "?" : query + "&") + "watch=1";
        return string.IsNullOrEmpty(resourceVersion) ? path : path + "&resourceVersion=" + Uri.EscapeDataString(resourceVersion);
    }

    private sealed record GetRequest(string Kind, string? Name, string? Output, bool AllNamespaces, string? Selector, bool Watch, bool NoHeaders);
}
