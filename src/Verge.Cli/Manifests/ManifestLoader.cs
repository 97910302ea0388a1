using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization;

namespace Verge.Cli.Manifests;

/// <summary>An object read from a manifest, with where it came from for messages.</summary>
internal sealed record ManifestObject(string Source, JsonObject Object)
{
    public string? ApiVersion => Text("apiVersion");

    public string? Kind => Text("kind");

    public string? Name => Object["metadata"]?["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public string? Namespace => Object["metadata"]?["namespace"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    /// <summary>
    /// kubectl's error for an object whose kind the server does not serve, with its hint on a second line; the
    /// namespace is the object's own, as kubectl prints it.
    /// </summary>
    public CliException KindNotServed() => new(
        $"error: resource mapping not found for name: \"{Name}\" namespace: \"{Namespace}\" from \"{Source}\": no matches for kind \"{Kind}\" in version \"{ApiVersion}\"\n"
        + "ensure CRDs are installed first");

    private string? Text(string key) => Object[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}

/// <summary>
/// Reads the objects of <c>-f</c> arguments: a file, a directory (its .yaml, .yml and .json files, sorted, not
/// recursive) or <c>-</c> for stdin; each file may hold many YAML documents, and a <c>kind: List</c> is expanded
/// into its items. Every object must have apiVersion, kind and metadata.name.
/// </summary>
internal static class ManifestLoader
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    public static async Task<IReadOnlyList<ManifestObject>> LoadAsync(IEnumerable<string> arguments, CliContext context, CancellationToken ct)
    {
        var objects = new List<ManifestObject>();
        foreach (var argument in arguments)
        {
            foreach (var (source, text) in await ReadSourcesAsync(argument, context, ct))
            {
                objects.AddRange(Parse(text, source));
            }
        }

        return objects;
    }

    /// <summary>The objects of one manifest text.</summary>
    public static IReadOnlyList<ManifestObject> Parse(string text, string source)
    {
        List<JsonNode> documents;
        try
        {
            documents = YamlReader.ReadDocuments(text);
        }
        catch (YamlFormatException e)
        {
            throw new CliException($"error: error parsing {source}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // The YAML parser reports some truncated documents this way rather than as a YAML error.
            throw new CliException($"error: error parsing {source}: yaml: the document ended unexpectedly", e);
        }

        var objects = new List<ManifestObject>();
        foreach (var document in documents)
        {
            if (document is not JsonObject obj)
            {
                throw new CliException($"error: error parsing {source}: each document must be a mapping (an object)");
            }

            if (obj["kind"]?.GetValueKind() == System.Text.Json.JsonValueKind.String
                && obj["kind"]!.GetValue<string>() == "List"
                && obj["items"] is JsonArray items)
            {
                foreach (var item in items)
                {
                    if (item is not JsonObject itemObject)
                    {
                        throw new CliException($"error: error parsing {source}: every item of a List must be an object");
                    }

                    objects.Add(Validate(new ManifestObject(source, (JsonObject)itemObject.DeepClone()), source));
                }

                continue;
            }

            objects.Add(Validate(new ManifestObject(source, obj), source));
        }

        return objects;
    }

    private static ManifestObject Validate(ManifestObject manifest, string source)
    {
        if (manifest.ApiVersion is null)
        {
            throw new CliException($"error: error validating \"{source}\": apiVersion not set");
        }

        if (manifest.Kind is null)
        {
            throw new CliException($"error: error validating \"{source}\": kind not set");
        }

        if (manifest.Name is null)
        {
            throw new CliException($"error: error validating \"{source}\": a {manifest.Kind} has no metadata.name");
        }

        return manifest;
    }

    /// <summary>
    /// Reads standard input to its end, giving up when <paramref name="ct"/> is cancelled (Ctrl-C). The console's
    /// reader blocks in the read itself and never looks at a token, so the read runs apart and is left behind: the
    /// process ends anyway, without waiting for input that may never come.
    /// </summary>
    internal static Task<string> ReadStdinAsync(TextReader input, CancellationToken ct) =>
        Task.Run(input.ReadToEnd, CancellationToken.None).WaitAsync(ct);

    private static async Task<IReadOnlyList<(string Source, string Text)>> ReadSourcesAsync(string argument, CliContext context, CancellationToken ct)
    {
        if (argument == "-")
        {
            return [("STDIN", await ReadStdinAsync(context.In, ct))];
        }

        var path = Path.GetFullPath(argument, context.CurrentDirectory);
        try
        {
            if (Directory.Exists(path))
            {
                var files = Directory.EnumerateFiles(path)
                    .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (files.Count == 0)
                {
                    throw new CliException($"error: no objects passed: the directory \"{argument}\" has no .yaml, .yml or .json files");
                }

                var result = new List<(string, string)>();
                foreach (var file in files)
                {
                    result.Add((Path.Combine(argument, Path.GetFileName(file)), await File.ReadAllTextAsync(file, ct)));
                }

                return result;
            }

            if (!File.Exists(path))
            {
                throw new CliException($"error: the path \"{argument}\" does not exist");
            }

            return [(argument, await File.ReadAllTextAsync(path, ct))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"error: unable to read \"{argument}\": {e.Message}", e);
        }
    }
}
