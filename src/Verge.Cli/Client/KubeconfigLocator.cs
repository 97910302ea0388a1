namespace Verge.Cli.Client;

/// <summary>
/// Finds the kubeconfig the client verbs use, in this order: --kubeconfig, KUBECONFIG (a path list, merged),
/// ./.verge/admin.kubeconfig when present (what <c>verge up</c> writes), then ~/.kube/config.
/// </summary>
internal static class KubeconfigLocator
{
    public const string LocalKubeconfig = ".verge/admin.kubeconfig";

    public static IReadOnlyList<string> Locate(string? explicitPath, CliContext context)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            var path = Path.GetFullPath(explicitPath, context.CurrentDirectory);
            if (!File.Exists(path))
            {
                throw new CliException($"error: unable to read kubeconfig {explicitPath}: the file does not exist");
            }

            return [path];
        }

        var variable = context.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(variable))
        {
            var paths = variable
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => Path.GetFullPath(p, context.CurrentDirectory))
                .Where(File.Exists)
                .ToList();
            if (paths.Count == 0)
            {
                throw new CliException($"error: unable to read kubeconfig: no file in KUBECONFIG ({variable}) exists");
            }

            return paths;
        }

        var local = Path.Combine(context.CurrentDirectory, LocalKubeconfig);
        if (File.Exists(local))
        {
            return [local];
        }

        var home = Path.Combine(context.HomeDirectory, ".kube", "config");
        if (File.Exists(home))
        {
            return [home];
        }

        throw new CliException(
            "error: unable to read kubeconfig: none found (tried --kubeconfig, KUBECONFIG, ./.verge/admin.kubeconfig, ~/.kube/config); start a cluster with `verge up`");
    }
}
