using System.Text;
using Verge.Core.Core;
using Verge.Core.Validation;

namespace Verge.Agent.Drivers.Runc;

/// <summary>A container's resolver settings: what /etc/resolv.conf says, in order.</summary>
internal sealed record ResolverSettings(IReadOnlyList<string> Nameservers, IReadOnlyList<string> Searches, IReadOnlyList<string> Options)
{
    public static ResolverSettings Empty { get; } = new([], [], []);
}

/// <summary>
/// The /etc/hosts and /etc/resolv.conf a container gets, computed as the kubelet computes them (its
/// hostsEntriesFromHostAliases, nodeHostsFileContent and the DNS configurer's GetPodDNS) and written as containerd
/// writes a pod's resolv.conf. Pure: the caller reads the node's files and writes the results.
/// </summary>
internal static class EtcFiles
{
    /// <summary>
    /// The hosts file of a pod with its own network: localhost entries, the hostname at the pod's address, then the
    /// pod's host aliases.
    /// </summary>
    public static string PodHosts(string hostname, string address, IReadOnlyList<HostAlias>? aliases) =>
        $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{address}\t{hostname}\n" + AliasEntries(aliases);

    /// <summary>The hosts file of a pod on the host network: the node's own hosts file, then the pod's host aliases.</summary>
    public static string HostNetworkHosts(string nodeHosts, IReadOnlyList<HostAlias>? aliases) => nodeHosts + AliasEntries(aliases);

    /// <summary>
    /// The kubelet's block for spec.hostAliases: a blank line, a comment, then one line per alias with the IP and
    /// its hostnames separated by tabs. Nothing when there are no aliases.
    /// </summary>
    public static string AliasEntries(IReadOnlyList<HostAlias>? aliases)
    {
        if (aliases is not { Count: > 0 })
        {
            return "";
        }

        var text = new StringBuilder("\n# Entries added by HostAliases.\n");
        foreach (var alias in aliases)
        {
            text.Append(alias.Ip).Append('\t').AppendJoin('\t', alias.Hostnames ?? []).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// Reads a resolv.conf as the kubelet's parseResolvConf does: nameserver lines accumulate, the last search line
    /// wins (trailing dots dropped, and the root domain "." with them), options lines accumulate (a later option of
    /// the same name wins), comments ('#' or ';') and other lines are skipped.
    /// </summary>
    public static ResolverSettings ParseResolvConf(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var nameservers = new List<string>();
        IReadOnlyList<string> searches = [];
        IReadOnlyList<string> options = [];
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith('#') || trimmed.StartsWith(';'))
            {
                continue;
            }

            var fields = trimmed.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (fields)
            {
                case ["nameserver", var server, ..]:
                    nameservers.Add(server);
                    break;
                case ["search", .. var domains]:
                    searches = [.. domains.Where(d => d != ".").Select(d => d.EndsWith('.') ? d[..^1] : d)];
                    break;
                case ["options", .. var values]:
                    options = MergeOptions([.. options, .. values], []);
                    break;
            }
        }

        return new ResolverSettings(nameservers, searches, options);
    }

    /// <summary>
    /// A pod's resolver settings from the node's and its spec, as the kubelet's GetPodDNS without cluster DNS: policy
    /// None starts empty; every other policy (Default, and ClusterFirst and ClusterFirstWithHostNet, which fall back to
    /// Default when there is no cluster DNS) starts from the node's resolv.conf. The pod's dnsConfig is then merged in
    /// (nameservers and searches appended without duplicates, options overriding by name) and the result cut to the
    /// resolver's limits. <paramref name="warnings"/> receives the kubelet's DNSConfigForming messages.
    /// </summary>
    public static ResolverSettings PodResolver(ResolverSettings node, string? dnsPolicy, PodDnsConfig? dnsConfig, List<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        var settings = dnsPolicy == "None" ? ResolverSettings.Empty : node;
        if (dnsConfig is not null)
        {
            settings = new ResolverSettings(
                Distinct(settings.Nameservers.Concat(dnsConfig.Nameservers ?? [])),
                Distinct(settings.Searches.Concat(dnsConfig.Searches ?? [])),
                MergeOptions(settings.Options, dnsConfig.Options ?? []));
        }

        return FitLimits(settings, warnings);
    }

    /// <summary>The file containerd writes for a pod's DNS settings: search, nameserver and options lines.</summary>
    public static string RenderResolvConf(ResolverSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var text = new StringBuilder();
        if (settings.Searches.Count > 0)
        {
            text.Append("search ").AppendJoin(' ', settings.Searches).Append('\n');
        }

        foreach (var server in settings.Nameservers)
        {
            text.Append("nameserver ").Append(server).Append('\n');
        }

        if (settings.Options.Count > 0)
        {
            text.Append("options ").AppendJoin(' ', settings.Options).Append('\n');
        }

        return text.ToString();
    }

    private static List<string> Distinct(IEnumerable<string> values) => [.. values.Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// The kubelet's mergeDNSOptions: options keyed by the name before ':', the pod's value replacing the node's.
    /// The kubelet's order follows a Go map; here the node's options keep their order and new ones follow.
    /// </summary>
    private static List<string> MergeOptions(IReadOnlyList<string> existing, List<PodDnsConfigOption> added)
    {
        var merged = new List<KeyValuePair<string, string>>();
        void Set(string name, string value)
        {
            var index = merged.FindIndex(p => p.Key == name);
            if (index >= 0)
            {
                merged[index] = new(name, value);
            }
            else
            {
                merged.Add(new(name, value));
            }
        }

        foreach (var option in existing)
        {
            var colon = option.IndexOf(':', StringComparison.Ordinal);
            Set(colon >= 0 ? option[..colon] : option, colon >= 0 ? option[(colon + 1)..] : "");
        }

        foreach (var option in added)
        {
            Set(option.Name ?? "", option.Value ?? "");
        }

        return [.. merged.Select(p => p.Value.Length > 0 ? $"{p.Key}:{p.Value}" : p.Key)];
    }

    /// <summary>
    /// The kubelet's formDNSConfigFitsLimits: at most 3 nameservers; at most 32 search paths, none longer than 253
    /// characters, and at most 2048 characters joined (dropping from the end).
    /// </summary>
    private static ResolverSettings FitLimits(ResolverSettings settings, List<string>? warnings)
    {
        var nameservers = settings.Nameservers;
        if (nameservers.Count > PodValidation.MaxDnsNameservers)
        {
            nameservers = [.. nameservers.Take(PodValidation.MaxDnsNameservers)];
            warnings?.Add($"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: {string.Join(' ', nameservers)}");
        }

        var exceeded = settings.Searches.Count > PodValidation.MaxDnsSearchPaths;
        var searches = settings.Searches.Take(PodValidation.MaxDnsSearchPaths).ToList();
        exceeded |= searches.RemoveAll(s => s.Length > Verge.Core.Validation.NameValidation.Dns1123SubdomainMaxLength) > 0;
        while (searches.Count > 0 && string.Join(' ', searches).Length > PodValidation.MaxDnsSearchListChars)
        {
            searches.RemoveAt(searches.Count - 1);
            exceeded = true;
        }

        if (exceeded)
        {
            warnings?.Add($"Search Line limits were exceeded, some search paths have been omitted, the applied search line is: {string.Join(' ', searches)}");
        }

        return new ResolverSettings(nameservers, searches, settings.Options);
    }
}
