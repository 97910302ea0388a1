namespace Verge.Core.Core;

/// <summary>
/// The pod field paths the downward API names (<c>metadata.name</c>, <c>metadata.labels['app']</c>, ...), read as
/// Kubernetes reads them: the API server converts and validates them, the agent resolves them.
/// </summary>
public static class PodFieldPaths
{
    /// <summary>The paths a v1 field selector may name on a pod (Kubernetes' ConvertDownwardAPIFieldLabel).</summary>
    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
        "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
        "status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
    };

    /// <summary>
    /// Splits <c>metadata.labels['key']</c> into its path and subscript, as Kubernetes' SplitMaybeSubscriptedPath:
    /// false (and the path unchanged) when there is no subscript.
    /// </summary>
    public static bool TrySplitSubscript(string fieldPath, out string path, out string subscript)
    {
        ArgumentNullException.ThrowIfNull(fieldPath);
        path = fieldPath;
        subscript = "";
        if (!fieldPath.EndsWith("']", StringComparison.Ordinal))
        {
            return false;
        }

        var open = fieldPath.IndexOf("['", StringComparison.Ordinal);
        if (open <= 0 || open + 2 > fieldPath.Length - 2)
        {
            return false;
        }

        path = fieldPath[..open];
        subscript = fieldPath[(open + 2)..^2];
        return true;
    }

    /// <summary>
    /// The internal form of a field path written against <paramref name="apiVersion"/>, or an error worded as
    /// Kubernetes words it (<c>unsupported pod version: v2</c>, <c>field label not supported: spec.foo</c>).
    /// <c>spec.host</c>, the old name of <c>spec.nodeName</c>, is converted.
    /// </summary>
    public static (string? Path, string? Error) Convert(string apiVersion, string fieldPath)
    {
        ArgumentNullException.ThrowIfNull(fieldPath);
        if (apiVersion != "v1")
        {
            return (null, $"unsupported pod version: {apiVersion}");
        }

        if (TrySplitSubscript(fieldPath, out var path, out _))
        {
            return path is "metadata.annotations" or "metadata.labels"
                ? (fieldPath, null)
                : (null, $"field label does not support subscript: {fieldPath}");
        }

        if (fieldPath == "spec.host")
        {
            return ("spec.nodeName", null);
        }

        return Supported.Contains(fieldPath) ? (fieldPath, null) : (null, $"field label not supported: {fieldPath}");
    }
}
