using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Core.Validation;

/// <summary>
/// The pod fields that become files on the node (hosts entries, resolver settings, downward API and projected
/// volumes) and the pod's OS, validated as Kubernetes v1.32 validates them.
/// </summary>
public static partial class PodValidation
{
    /// <summary>Kubernetes' MaxDNSNameservers, MaxDNSSearchPaths and MaxDNSSearchListChars (expanded DNS config, GA).</summary>
    public const int MaxDnsNameservers = 3;
    public const int MaxDnsSearchPaths = 32;
    public const int MaxDnsSearchListChars = 2048;

    private const string IpMessage = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
    private const string FileModeMessage = "must be a number between 0 and 0777 (octal), both inclusive";
    private const string WindowsForbidden = "cannot be set for a windows pod";
    private static readonly string[] OperatingSystems = ["linux", "windows"];
    private static readonly string[] VolumeFieldPaths = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];
    private static readonly string[] ResourceFieldPaths = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"];
    private static readonly HashSet<string> CpuDivisors = new(StringComparer.Ordinal) { "1m", "1" };
    private static readonly HashSet<string> ByteDivisors = new(StringComparer.Ordinal)
    {
        "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
    };

    /// <summary>Kubernetes' ValidateHostAliases: each ip an IP address, each hostname a DNS-1123 subdomain.</summary>
    private static void ValidateHostAliases(List<HostAlias>? aliases, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (aliases?.Count ?? 0); i++)
        {
            var alias = aliases![i];
            if (!IsIp(alias.Ip ?? ""))
            {
                errors.Add(FieldError.Invalid($"{path}[{i}].ip", alias.Ip ?? "", IpMessage));
            }

            for (var j = 0; j < (alias.Hostnames?.Count ?? 0); j++)
            {
                var hostname = alias.Hostnames![j] ?? "";
                foreach (var message in NameValidation.IsDns1123Subdomain(hostname))
                {
                    errors.Add(FieldError.Invalid($"{path}[{i}].hostnames[{j}]", hostname, message));
                }
            }
        }
    }

    /// <summary>
    /// Kubernetes' validatePodDNSConfig: policy None needs a dnsConfig with a nameserver; at most 3 nameservers, each
    /// an IP; at most 32 search paths and 2048 characters in the joined list, each a subdomain (a trailing dot is
    /// fine); every option named.
    /// </summary>
    private static void ValidateDnsConfig(PodDnsConfig? config, string? policy, string path, List<FieldError> errors)
    {
        if (policy == "None")
        {
            if (config is null)
            {
                errors.Add(FieldError.Required(path, "must provide `dnsConfig` when `dnsPolicy` is None"));
                return;
            }

            if (config.Nameservers is not { Count: > 0 })
            {
                errors.Add(FieldError.Required($"{path}.nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None"));
                return;
            }
        }

        if (config is null)
        {
            return;
        }

        var nameservers = config.Nameservers ?? [];
        if (nameservers.Count > MaxDnsNameservers)
        {
            errors.Add(FieldError.Invalid($"{path}.nameservers", new GoValue(GoValue.Strings(nameservers)), $"must not have more than {MaxDnsNameservers} nameservers"));
        }

        for (var i = 0; i < nameservers.Count; i++)
        {
            if (!IsIp(nameservers[i] ?? ""))
            {
                errors.Add(FieldError.Invalid($"{path}.nameservers[{i}]", nameservers[i] ?? "", IpMessage));
            }
        }

        var searches = config.Searches ?? [];
        if (searches.Count > MaxDnsSearchPaths)
        {
            errors.Add(FieldError.Invalid($"{path}.searches", new GoValue(GoValue.Strings(searches)), $"must not have more than {MaxDnsSearchPaths} search paths"));
        }

        if (string.Join(' ', searches).Length > MaxDnsSearchListChars)
        {
            errors.Add(FieldError.Invalid($"{path}.searches", new GoValue(GoValue.Strings(searches)), $"must not have more than {MaxDnsSearchListChars} characters (including spaces) in the search list"));
        }

        for (var i = 0; i < searches.Count; i++)
        {
            var search = searches[i] ?? "";
            search = search.EndsWith('.') ? search[..^1] : search;
            foreach (var message in NameValidation.IsDns1123Subdomain(search))
            {
                errors.Add(FieldError.Invalid($"{path}.searches[{i}]", search, message));
            }
        }

        for (var i = 0; i < (config.Options?.Count ?? 0); i++)
        {
            if (string.IsNullOrEmpty(config.Options![i].Name))
            {
                errors.Add(FieldError.Required($"{path}.options[{i}]", "must not be empty"));
            }
        }
    }

    /// <summary>
    /// Kubernetes' validateOS and validateWindows: the name is linux or windows, and a windows pod sets none of the
    /// Linux-only security settings Verge models (runAsUser, runAsGroup, fsGroup, fsGroupChangePolicy,
    /// supplementalGroups, seccompProfile and sysctls of the pod; seccompProfile, capabilities, runAsUser, runAsGroup,
    /// readOnlyRootFilesystem, privileged and allowPrivilegeEscalation of each container).
    /// </summary>
    private static void ValidateOS(PodSpec spec, string path, List<FieldError> errors)
    {
        if (spec.OS is not { } os)
        {
            return;
        }

        if (string.IsNullOrEmpty(os.Name))
        {
            errors.Add(FieldError.Required($"{path}.os.name", "cannot be empty"));
            return;
        }

        if (!OperatingSystems.Contains(os.Name))
        {
            errors.Add(FieldError.NotSupported($"{path}.os", os.Name, OperatingSystems));
            return;
        }

        if (os.Name != "windows")
        {
            return;
        }

        if (spec.SecurityContext is { } pod)
        {
            var podPath = $"{path}.securityContext";
            Forbid(pod.RunAsUser is not null, $"{podPath}.runAsUser");
            Forbid(pod.RunAsGroup is not null, $"{podPath}.runAsGroup");
            Forbid(pod.FsGroup is not null, $"{podPath}.fsGroup");
            Forbid(pod.SupplementalGroups is { Count: > 0 }, $"{podPath}.supplementalGroups");
            Forbid(pod.SeccompProfile is not null, $"{podPath}.seccompProfile");
            Forbid(pod.Sysctls is { Count: > 0 }, $"{podPath}.sysctls");
            Forbid(pod.FsGroupChangePolicy is not null, $"{podPath}.fsGroupChangePolicy");
        }

        foreach (var (containers, list) in new[] { (spec.InitContainers, "initContainers"), (spec.Containers, "containers") })
        {
            for (var i = 0; i < (containers?.Count ?? 0); i++)
            {
                if (containers![i].SecurityContext is not { } container)
                {
                    continue;
                }

                var containerPath = $"{path}.{list}[{i}].securityContext";
                Forbid(container.SeccompProfile is not null, $"{containerPath}.seccompProfile");
                Forbid(container.Capabilities is not null, $"{containerPath}.capabilities");
                Forbid(container.ReadOnlyRootFilesystem is not null, $"{containerPath}.readOnlyRootFilesystem");
                Forbid(container.Privileged is not null, $"{containerPath}.privileged");
                Forbid(container.AllowPrivilegeEscalation is not null, $"{containerPath}.allowPrivilegeEscalation");
                Forbid(container.RunAsUser is not null, $"{containerPath}.runAsUser");
                Forbid(container.RunAsGroup is not null, $"{containerPath}.runAsGroup");
            }
        }

        void Forbid(bool set, string field)
        {
            if (set)
            {
                errors.Add(FieldError.Forbidden(field, WindowsForbidden));
            }
        }
    }

    /// <summary>Kubernetes' validateDownwardAPIVolumeSource: the default mode, then each file (errors under the source's path).</summary>
    private static void ValidateDownwardApiVolume(DownwardApiVolumeSource source, string path, List<FieldError> errors)
    {
        ValidateMode(source.DefaultMode, $"{path}.defaultMode", errors);
        foreach (var file in source.Items ?? [])
        {
            ValidateDownwardApiFile(file, path, errors);
        }
    }

    /// <summary>
    /// Kubernetes' validateProjectedVolumeSource: the default mode; per source one kind, a name for ConfigMaps and
    /// Secrets, valid items, and no path twice across sources. Service account tokens and cluster trust bundles
    /// are refused: Verge issues no tokens and has no ClusterTrustBundle kind.
    /// </summary>
    private static void ValidateProjectedVolume(ProjectedVolumeSource source, string path, List<FieldError> errors)
    {
        ValidateMode(source.DefaultMode, $"{path}.defaultMode", errors);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (source.Sources?.Count ?? 0); i++)
        {
            var projection = source.Sources![i];
            var sourcePath = $"{path}.sources[{i}]";
            var kinds = 0;
            foreach (var (keys, kind) in new[] { (projection.Secret, "secret"), (projection.ConfigMap, "configMap") })
            {
                if (keys is null)
                {
                    continue;
                }

                kinds++;
                if (string.IsNullOrEmpty(keys.Name))
                {
                    errors.Add(FieldError.Required($"{sourcePath}.{kind}.name"));
                }

                ValidateKeyToPaths(keys.Items, $"{sourcePath}.{kind}.items", errors);
                foreach (var item in keys.Items ?? [])
                {
                    if (!string.IsNullOrEmpty(item.Path) && !paths.Add(item.Path))
                    {
                        errors.Add(FieldError.Invalid(path, keys.Name ?? "", "conflicting duplicate paths"));
                    }
                }
            }

            if (projection.DownwardAPI is { } downwardApi)
            {
                kinds++;
                foreach (var file in downwardApi.Items ?? [])
                {
                    ValidateDownwardApiFile(file, $"{sourcePath}.downwardAPI", errors);
                    if (!string.IsNullOrEmpty(file.Path) && !paths.Add(file.Path))
                    {
                        errors.Add(FieldError.Invalid(path, file.Path, "conflicting duplicate paths"));
                    }
                }
            }

            if (projection.ServiceAccountToken is not null)
            {
                kinds++;
                errors.Add(FieldError.Forbidden($"{sourcePath}.serviceAccountToken", "not supported by Verge, which issues no service account tokens"));
            }

            if (projection.ClusterTrustBundle is not null)
            {
                kinds++;
                errors.Add(FieldError.Forbidden($"{sourcePath}.clusterTrustBundle", "not supported by Verge, which has no ClusterTrustBundle kind"));
            }

            if (kinds > 1)
            {
                errors.Add(FieldError.Forbidden(sourcePath, "may not specify more than 1 volume type"));
            }
        }
    }

    /// <summary>Kubernetes' validateDownwardAPIVolumeFile: a safe relative path and exactly one of fieldRef and resourceFieldRef.</summary>
    private static void ValidateDownwardApiFile(DownwardApiVolumeFile file, string path, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(file.Path))
        {
            errors.Add(FieldError.Required($"{path}.path"));
        }

        ValidateLocalNonReservedPath(file.Path ?? "", $"{path}.path", errors);
        if (file.FieldRef is { } fieldRef)
        {
            ValidateObjectFieldSelector(fieldRef, VolumeFieldPaths, $"{path}.fieldRef", errors);
            if (file.ResourceFieldRef is not null)
            {
                errors.Add(FieldError.Invalid(path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
            }
        }
        else if (file.ResourceFieldRef is { } resourceRef)
        {
            ValidateResourceFieldSelector(resourceRef, $"{path}.resourceFieldRef", errors, volume: true);
        }
        else
        {
            errors.Add(FieldError.Required(path, "one of fieldRef and resourceFieldRef is required"));
        }

        ValidateMode(file.Mode, $"{path}.mode", errors);
    }

    /// <summary>
    /// Kubernetes' validateObjectFieldSelector: an apiVersion and a field path that converts, a subscript only on
    /// labels and annotations (with a valid key), anything else one of <paramref name="allowed"/>.
    /// </summary>
    private static void ValidateObjectFieldSelector(ObjectFieldSelector selector, string[] allowed, string path, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(selector.ApiVersion))
        {
            errors.Add(FieldError.Required($"{path}.apiVersion"));
            return;
        }

        if (string.IsNullOrEmpty(selector.FieldPath))
        {
            errors.Add(FieldError.Required($"{path}.fieldPath"));
            return;
        }

        var (converted, error) = PodFieldPaths.Convert(selector.ApiVersion, selector.FieldPath);
        if (converted is null)
        {
            errors.Add(FieldError.Invalid($"{path}.fieldPath", selector.FieldPath, $"error converting fieldPath: {error}"));
            return;
        }

        if (PodFieldPaths.TrySplitSubscript(converted, out var field, out var key))
        {
            var messages = field == "metadata.annotations"
                ? NameValidation.IsQualifiedName(key.ToLowerInvariant())
                : NameValidation.IsQualifiedName(key);
            foreach (var message in messages)
            {
                errors.Add(FieldError.Invalid(path, key, message));
            }
        }
        else if (!allowed.Contains(converted))
        {
            errors.Add(FieldError.NotSupported($"{path}.fieldPath", converted, allowed));
        }
    }

    /// <summary>
    /// Kubernetes' validateContainerResourceFieldSelector: a container name (in volumes), a supported resource and a
    /// divisor of that resource's unit (1m or 1 for CPU; 1, 1k, ..., 1Ei for bytes).
    /// </summary>
    private static void ValidateResourceFieldSelector(ResourceFieldSelector selector, string path, List<FieldError> errors, bool volume)
    {
        var resource = selector.Resource ?? "";
        if (volume && string.IsNullOrEmpty(selector.ContainerName))
        {
            errors.Add(FieldError.Required($"{path}.containerName"));
        }
        else if (resource.Length == 0)
        {
            errors.Add(FieldError.Required($"{path}.resource"));
        }
        else if (!ResourceFieldPaths.Contains(resource) && !resource.StartsWith("limits.hugepages-", StringComparison.Ordinal)
            && !resource.StartsWith("requests.hugepages-", StringComparison.Ordinal))
        {
            errors.Add(FieldError.NotSupported($"{path}.resource", resource, ResourceFieldPaths));
        }

        if (selector.Divisor is not { } divisor)
        {
            return;
        }

        if (!ValidateQuantity(divisor, $"{path}.divisor", errors) || divisor.IsZero)
        {
            return;
        }

        var text = divisor.ToString();
        var (allowed, unit) = resource switch
        {
            "limits.cpu" or "requests.cpu" => (CpuDivisors, "1m and 1 are supported with the cpu resource"),
            "limits.memory" or "requests.memory" => (ByteDivisors, "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"),
            "limits.ephemeral-storage" or "requests.ephemeral-storage" => (ByteDivisors, "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource"),
            _ when resource.StartsWith("limits.hugepages-", StringComparison.Ordinal) || resource.StartsWith("requests.hugepages-", StringComparison.Ordinal)
                => (ByteDivisors, "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource"),
            _ => (null, ""),
        };
        if (allowed is not null && !allowed.Contains(text))
        {
            errors.Add(FieldError.Invalid($"{path}.divisor", resource, "only divisor's values " + unit));
        }
    }

    /// <summary>Kubernetes' validateLocalNonReservedPath: relative, no ".." element, not starting with "..".</summary>
    private static void ValidateLocalNonReservedPath(string value, string path, List<FieldError> errors)
    {
        if (value.StartsWith('/'))
        {
            errors.Add(FieldError.Invalid(path, value, "must be a relative path"));
        }

        var backsteps = value.Split('/').Contains("..");
        if (backsteps)
        {
            errors.Add(FieldError.Invalid(path, value, "must not contain '..'"));
        }

        if (value.StartsWith("..", StringComparison.Ordinal) && !value.StartsWith("../", StringComparison.Ordinal))
        {
            errors.Add(FieldError.Invalid(path, value, "must not start with '..'"));
        }
    }
}
