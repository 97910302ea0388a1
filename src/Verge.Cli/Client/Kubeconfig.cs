using System.Text;
using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization;

namespace Verge.Cli.Client;

/// <summary>Where to reach a cluster and how to prove who we are: what one kubeconfig context resolves to.</summary>
internal sealed record ClusterConnection(
    Uri Server,
    byte[]? CertificateAuthorityPem,
    bool InsecureSkipTlsVerify,
    byte[]? ClientCertificatePem,
    byte[]? ClientKeyPem,
    string? Token,
    string Namespace);

/// <summary>
/// A kubeconfig (one file, or several merged as KUBECONFIG lists them): clusters, users and contexts by name, and the
/// current context. File references (certificate-authority, client-certificate, client-key, tokenFile) are
/// resolved against the directory of the file that names them.
/// </summary>
internal sealed class Kubeconfig
{
    private readonly Dictionary<string, Entry> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _contexts = new(StringComparer.Ordinal);

    public string? CurrentContext { get; private set; }

    public IReadOnlyCollection<string> ContextNames => _contexts.Keys;

    /// <summary>Reads and merges the files in order; for each name the first file that defines it wins.</summary>
    public static Kubeconfig Load(IEnumerable<string> paths)
    {
        var config = new Kubeconfig();
        foreach (var path in paths)
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"error: unable to read kubeconfig {path}: {e.Message}", e);
            }

            config.Merge(text, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", path);
        }

        return config;
    }

    /// <summary>Parses one kubeconfig document.</summary>
    public static Kubeconfig Parse(string yaml, string baseDirectory, string source = "kubeconfig")
    {
        var config = new Kubeconfig();
        config.Merge(yaml, baseDirectory, source);
        return config;
    }

    /// <summary>The connection of the named context, or of the current context when none is named.</summary>
    public ClusterConnection Resolve(string? contextName)
    {
        var name = string.IsNullOrEmpty(contextName) ? CurrentContext : contextName;
        if (string.IsNullOrEmpty(name))
        {
            throw new CliException("error: unable to read kubeconfig: no current-context is set (pass --context)");
        }

        if (!_contexts.TryGetValue(name, out var context))
        {
            throw new CliException($"error: unable to read kubeconfig: context \"{name}\" does not exist");
        }

        var clusterName = Text(context.Node, "cluster");
        var userName = Text(context.Node, "user");
        if (clusterName is null || !_clusters.TryGetValue(clusterName, out var cluster))
        {
            throw new CliException($"error: unable to read kubeconfig: context \"{name}\" refers to cluster \"{clusterName}\", which does not exist");
        }

        var serverText = Text(cluster.Node, "server");
        if (serverText is null || !Uri.TryCreate(serverText, UriKind.Absolute, out var server))
        {
            throw new CliException($"error: unable to read kubeconfig: cluster \"{clusterName}\" has no valid server address");
        }

        Entry? user = null;
        if (!string.IsNullOrEmpty(userName) && !_users.TryGetValue(userName, out user))
        {
            throw new CliException($"error: unable to read kubeconfig: context \"{name}\" refers to user \"{userName}\", which does not exist");
        }

        var token = user is null ? null : Text(user.Node, "token");
        if (token is null && user is not null && ReadBytes(user, "tokenFile", null) is { } tokenBytes)
        {
            token = Encoding.UTF8.GetString(tokenBytes).Trim();
        }

        var ns = Text(context.Node, "namespace");
        return new ClusterConnection(
            server,
            ReadBytes(cluster, "certificate-authority", "certificate-authority-data"),
            cluster.Node["insecure-skip-tls-verify"] is JsonValue v && v.TryGetValue<bool>(out var insecure) && insecure,
            user is null ? null : ReadBytes(user, "client-certificate", "client-certificate-data"),
            user is null ? null : ReadBytes(user, "client-key", "client-key-data"),
            token,
            string.IsNullOrEmpty(ns) ? "default" : ns);
    }

    private void Merge(string yaml, string baseDirectory, string source)
    {
        JsonNode? root;
        try
        {
            root = YamlReader.ReadSingle(yaml);
        }
        catch (YamlFormatException e)
        {
            throw new CliException($"error: unable to read kubeconfig {source}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // The YAML parser reports some truncated documents this way rather than as a YAML error.
            throw new CliException($"error: unable to read kubeconfig {source}: yaml: the document ended unexpectedly", e);
        }

        if (root is null)
        {
            return;
        }

        if (root is not JsonObject obj)
        {
            throw new CliException($"error: unable to read kubeconfig {source}: not a kubeconfig (expected a mapping)");
        }

        MergeList(obj, "clusters", "cluster", _clusters, baseDirectory, source);
        MergeList(obj, "users", "user", _users, baseDirectory, source);
        MergeList(obj, "contexts", "context", _contexts, baseDirectory, source);
        if (CurrentContext is null && Text(obj, "current-context") is { Length: > 0 } current)
        {
            CurrentContext = current;
        }
    }

    private static void MergeList(JsonObject root, string listKey, string itemKey, Dictionary<string, Entry> into, string baseDirectory, string source)
    {
        if (root[listKey] is null)
        {
            return;
        }

        if (root[listKey] is not JsonArray list)
        {
            throw new CliException($"error: unable to read kubeconfig {source}: {listKey} must be a list");
        }

        foreach (var item in list)
        {
            if (item is not JsonObject named || Text(named, "name") is not { Length: > 0 } name)
            {
                throw new CliException($"error: unable to read kubeconfig {source}: every entry of {listKey} needs a name");
            }

            var body = named[itemKey] as JsonObject ?? [];
            into.TryAdd(name, new Entry(body, baseDirectory, source));
        }
    }

    private static byte[]? ReadBytes(Entry entry, string fileKey, string? dataKey)
    {
        if (dataKey is not null && Text(entry.Node, dataKey) is { Length: > 0 } data)
        {
            try
            {
                return Convert.FromBase64String(data);
            }
            catch (FormatException e)
            {
                throw new CliException($"error: unable to read kubeconfig {entry.Source}: {dataKey} is not valid base64", e);
            }
        }

        if (Text(entry.Node, fileKey) is not { Length: > 0 } file)
        {
            return null;
        }

        var path = Path.IsPathRooted(file) ? file : Path.Combine(entry.BaseDirectory, file);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"error: unable to read kubeconfig {entry.Source}: {fileKey} {path}: {e.Message}", e);
        }
    }

    private static string? Text(JsonNode? node, string key) =>
        node?[key] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private sealed record Entry(JsonObject Node, string BaseDirectory, string Source);
}
