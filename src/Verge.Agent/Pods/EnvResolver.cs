using System.Text;
using Verge.Agent.Drivers;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>Where the pod workers read the ConfigMaps and Secrets pods refer to (the node's local state).</summary>
internal interface IPodConfigSource
{
    ConfigMap? GetConfigMap(string configMapNamespace, string name);

    Secret? GetSecret(string secretNamespace, string name);
}

/// <summary>A container cannot be configured: kubelet's CreateContainerConfigError, with kubelet's message.</summary>
internal sealed class ContainerConfigException : Exception
{
    public ContainerConfigException(string message)
        : base(message)
    {
    }

    public ContainerConfigException()
    {
    }

    public ContainerConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The waiting reason: CreateContainerConfigError, or a more precise one of the kubelet's (SysctlForbidden).</summary>
    public string Reason { get; init; } = "CreateContainerConfigError";
}

/// <summary>What the downward API may need besides the pod itself.</summary>
internal sealed record PodRuntimeFacts(string NodeName, string? HostIp, string? PodIp, long NodeCpuMillis, long NodeMemoryBytes, long NodeEphemeralStorageBytes = 0);

/// <summary>
/// Resolves a container's environment the way kubelet does: envFrom first (with its prefix, keys that are not valid
/// variable names skipped), then env in order, each value expanded against the variables defined before it
/// ($(VAR) replaced when VAR is defined and kept as written otherwise, $$ for a literal $). A missing ConfigMap,
/// Secret or key that is not optional fails with kubelet's CreateContainerConfigError message.
/// </summary>
internal static class EnvResolver
{
    public static IReadOnlyList<KeyValuePair<string, string>> Resolve(Pod pod, Container container, IPodConfigSource source, PodRuntimeFacts facts)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(facts);
        var ns = pod.Metadata.Namespace ?? "default";
        var values = new OrderedEnvironment();
        void Set(string name, string value) => values.Set(name, value);

        foreach (var from in container.EnvFrom ?? [])
        {
            var prefix = from.Prefix ?? "";
            if (from.ConfigMapRef is { } cmRef)
            {
                var cm = source.GetConfigMap(ns, cmRef.Name ?? "");
                if (cm is null)
                {
                    if (cmRef.Optional == true)
                    {
                        continue;
                    }

                    throw new ContainerConfigException($"configmap \"{cmRef.Name}\" not found");
                }

                foreach (var (key, value) in (cm.Data ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (IsEnvVarName(prefix + key))
                    {
                        Set(prefix + key, value);
                    }
                }
            }

            if (from.SecretRef is { } secretRef)
            {
                var secret = source.GetSecret(ns, secretRef.Name ?? "");
                if (secret is null)
                {
                    if (secretRef.Optional == true)
                    {
                        continue;
                    }

                    throw new ContainerConfigException($"secret \"{secretRef.Name}\" not found");
                }

                foreach (var (key, value) in SecretData(secret).OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (IsEnvVarName(prefix + key))
                    {
                        Set(prefix + key, Encoding.UTF8.GetString(value));
                    }
                }
            }
        }

        foreach (var env in container.Env ?? [])
        {
            if (env.ValueFrom is null)
            {
                Set(env.Name, Expand(env.Value ?? "", values.Values));
                continue;
            }

            var resolved = ResolveSource(pod, container, env.ValueFrom, ns, source, facts);
            if (resolved is not null)
            {
                Set(env.Name, resolved);
            }
        }

        return values.ToPairs();
    }

    /// <summary>Expands $(VAR) in a command or args entry against the resolved environment, as kubelet does.</summary>
    public static IReadOnlyList<string>? ExpandAll(IReadOnlyList<string>? items, IReadOnlyList<KeyValuePair<string, string>> env)
    {
        if (items is null)
        {
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in env)
        {
            map[name] = value;
        }

        return [.. items.Select(i => Expand(i, map))];
    }

    /// <summary>Kubernetes' expansion: $(NAME) when NAME is defined, $$ as $, anything else as written.</summary>
    public static string Expand(string input, IReadOnlyDictionary<string, string> defined)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(defined);
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }

        var output = new StringBuilder(input.Length);
        var checkpoint = 0;
        for (var cursor = 0; cursor < input.Length; cursor++)
        {
            if (input[cursor] != '$' || cursor + 1 >= input.Length)
            {
                continue;
            }

            output.Append(input, checkpoint, cursor - checkpoint);
            var next = input[cursor + 1];
            var advance = 1;
            if (next == '$')
            {
                output.Append('$');
            }
            else if (next == '(')
            {
                var close = input.IndexOf(')', cursor + 2);
                if (close < 0)
                {
                    output.Append("$(");
                }
                else
                {
                    var name = input[(cursor + 2)..close];
                    output.Append(defined.TryGetValue(name, out var value) ? value : $"$({name})");
                    advance = close - cursor;
                }
            }
            else
            {
                output.Append('$').Append(next);
            }

            cursor += advance;
            checkpoint = cursor + 1;
        }

        output.Append(input, checkpoint, input.Length - checkpoint);
        return output.ToString();
    }

    internal static IEnumerable<KeyValuePair<string, byte[]>> SecretData(Secret secret)
    {
        var data = new Dictionary<string, byte[]>(secret.Data ?? [], StringComparer.Ordinal);
        foreach (var (key, value) in secret.StringData ?? [])
        {
            data[key] = Encoding.UTF8.GetBytes(value);
        }

        return data;
    }

    private static string? ResolveSource(Pod pod, Container container, EnvVarSource from, string ns, IPodConfigSource source, PodRuntimeFacts facts)
    {
        if (from.ConfigMapKeyRef is { } cmKey)
        {
            var cm = source.GetConfigMap(ns, cmKey.Name ?? "");
            if (cm is null)
            {
                return cmKey.Optional == true ? null : throw new ContainerConfigException($"configmap \"{cmKey.Name}\" not found");
            }

            if (cm.Data?.TryGetValue(cmKey.Key, out var value) == true)
            {
                return value;
            }

            if (cm.BinaryData?.TryGetValue(cmKey.Key, out var bytes) == true)
            {
                return Encoding.UTF8.GetString(bytes);
            }

            return cmKey.Optional == true ? null : throw new ContainerConfigException($"couldn't find key {cmKey.Key} in ConfigMap {ns}/{cmKey.Name}");
        }

        if (from.SecretKeyRef is { } secretKey)
        {
            var secret = source.GetSecret(ns, secretKey.Name ?? "");
            if (secret is null)
            {
                return secretKey.Optional == true ? null : throw new ContainerConfigException($"secret \"{secretKey.Name}\" not found");
            }

            foreach (var (key, value) in SecretData(secret))
            {
                if (key == secretKey.Key)
                {
                    return Encoding.UTF8.GetString(value);
                }
            }

            return secretKey.Optional == true ? null : throw new ContainerConfigException($"couldn't find key {secretKey.Key} in Secret {ns}/{secretKey.Name}");
        }

        if (from.FieldRef is { } field)
        {
            return PodFields.Value(pod, field, facts);
        }

        if (from.ResourceFieldRef is { } resource)
        {
            var target = resource.ContainerName is { Length: > 0 } name
                ? pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).FirstOrDefault(c => c.Name == name)
                    ?? throw new ContainerConfigException($"container {name} not found")
                : container;
            return PodFields.ResourceValue(target, resource, facts);
        }

        return "";
    }

    private static bool IsEnvVarName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}
