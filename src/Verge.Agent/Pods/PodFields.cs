using System.Globalization;
using System.Text;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>
/// The downward API's values, shared by environment variables and downwardAPI volume files: pod fields by path (as
/// the kubelet's ExtractFieldPathAsString and podFieldSelectorRuntimeValue) and container resources with a divisor
/// (as its ExtractResourceValueByContainerNameAndNodeAllocatable).
/// </summary>
internal static class PodFields
{
    /// <summary>The value of a field selector on the pod; throws <see cref="ContainerConfigException"/> for a path that has none.</summary>
    public static string Value(Pod pod, ObjectFieldSelector selector, PodRuntimeFacts facts)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentNullException.ThrowIfNull(facts);
        var (path, error) = PodFieldPaths.Convert(string.IsNullOrEmpty(selector.ApiVersion) ? "v1" : selector.ApiVersion, selector.FieldPath);
        if (path is null)
        {
            throw new ContainerConfigException(error!);
        }

        switch (path)
        {
            case "metadata.name":
                return pod.Metadata.Name ?? "";
            case "metadata.namespace":
                return pod.Metadata.Namespace ?? "";
            case "metadata.uid":
                return pod.Metadata.Uid ?? "";
            case "metadata.labels":
                return FormatMap(pod.Metadata.Labels);
            case "metadata.annotations":
                return FormatMap(pod.Metadata.Annotations);
            case "spec.nodeName":
                return pod.Spec.NodeName ?? facts.NodeName;
            case "spec.serviceAccountName":
                return pod.Spec.ServiceAccountName ?? "";
            case "spec.restartPolicy":
                return pod.Spec.RestartPolicy ?? "";
            case "spec.schedulerName":
                return pod.Spec.SchedulerName ?? "";
            case "status.hostIP":
            case "status.hostIPs":
                return facts.HostIp ?? "";
            case "status.podIP":
            case "status.podIPs":
                return facts.PodIp ?? "";
        }

        if (PodFieldPaths.TrySplitSubscript(path, out var map, out var key))
        {
            var values = map == "metadata.labels" ? pod.Metadata.Labels : pod.Metadata.Annotations;
            return values?.GetValueOrDefault(key) ?? "";
        }

        throw new ContainerConfigException($"unsupported fieldPath: {path}");
    }

    /// <summary>
    /// A container resource (cpu, memory, ephemeral-storage, hugepages-SIZE) scaled by the divisor and rounded up; an
    /// unset limit is the node's capacity (none for hugepages), an unset request the limit. A CPU value that rounds to
    /// nothing is 1, as the kubelet reports it.
    /// </summary>
    public static string ResourceValue(Container container, ResourceFieldSelector selector, PodRuntimeFacts facts)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentNullException.ThrowIfNull(facts);
        var limits = container.Resources?.Limits ?? [];
        var requests = container.Resources?.Requests ?? [];
        var dot = selector.Resource.IndexOf('.', StringComparison.Ordinal);
        var (kind, resource) = dot < 0 ? ("", selector.Resource) : (selector.Resource[..dot], selector.Resource[(dot + 1)..]);
        if (kind is not ("limits" or "requests") || resource is not ("cpu" or "memory" or "ephemeral-storage") && !resource.StartsWith("hugepages-", StringComparison.Ordinal))
        {
            throw new ContainerConfigException($"unsupported container resource: {selector.Resource}");
        }

        decimal? nodeCapacity = resource switch
        {
            "cpu" => facts.NodeCpuMillis / 1000m,
            "memory" => facts.NodeMemoryBytes,
            "ephemeral-storage" => facts.NodeEphemeralStorageBytes,
            _ => null,
        };
        var (dictionary, fallback) = kind == "limits"
            ? (limits, nodeCapacity)
            : (requests, limits.TryGetValue(resource, out var limit) ? limit.ToDecimal() : 0m);
        var amount = dictionary.TryGetValue(resource, out var q) ? q.ToDecimal() : fallback ?? 0m;
        var divisor = selector.Divisor is { IsValid: true, IsZero: false } d ? d.ToDecimal() : 1m;
        var scaled = decimal.Ceiling(amount / divisor);
        if (resource == "cpu" && scaled < 1 && amount > 0)
        {
            scaled = 1;
        }

        return scaled.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The kubelet's FormatMap: one <c>key="value"</c> line per entry, sorted by key, the value quoted as Go's %q
    /// quotes it; no newline after the last.
    /// </summary>
    public static string FormatMap(IReadOnlyDictionary<string, string>? map) =>
        string.Join('\n', (map ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={GoQuote(p.Value)}"));

    /// <summary>Go's strconv.Quote: printable characters as they are, the rest escaped (\n, \t, \x1b, \u00a0, ...).</summary>
    public static string GoQuote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var rune in value.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '"':
                    text.Append("\\\"");
                    continue;
                case '\\':
                    text.Append("\\\\");
                    continue;
                case '\a':
                    text.Append("\\a");
                    continue;
                case '\b':
                    text.Append("\\b");
                    continue;
                case '\f':
                    text.Append("\\f");
                    continue;
                case '\n':
                    text.Append("\\n");
                    continue;
                case '\r':
                    text.Append("\\r");
                    continue;
                case '\t':
                    text.Append("\\t");
                    continue;
                case '\v':
                    text.Append("\\v");
                    continue;
            }

            if (rune.Value == ' ' || IsPrintable(rune))
            {
                text.Append(rune.ToString());
            }
            else if (rune.Value < 0x80)
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
            }
            else if (rune.Value <= 0xFFFF)
            {
                text.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:x8}");
            }
        }

        return text.Append('"').ToString();
    }

    /// <summary>Go's unicode.IsPrint without the ASCII space: letters, marks, numbers, punctuation and symbols.</summary>
    private static bool IsPrintable(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };
}
