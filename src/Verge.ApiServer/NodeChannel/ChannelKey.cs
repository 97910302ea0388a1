using Verge.Core.Core;
using Verge.NodeChannel.Protocol;

namespace Verge.ApiServer.NodeChannel;

/// <summary>One object of a node's desired set, as the protocol names it.</summary>
internal readonly record struct ChannelKey(ObjectKind Kind, string Namespace, string Name)
{
    public static ChannelKey From(ObjectKey key) => new(key.Kind, key.Namespace, key.Name);

    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}

/// <summary>
/// An object as the hub keeps it: its revision and its Kubernetes JSON (with resourceVersion), bytes nothing changes
/// once made (the watch cache's event bytes are kept as they are, not copied).
/// </summary>
internal sealed record HubObject(ChannelKey Key, long Revision, ReadOnlyMemory<byte> Json);

/// <summary>The ConfigMaps and Secrets a pod uses: volumes, env valueFrom, envFrom and imagePullSecrets.</summary>
internal static class PodReferences
{
    public static ChannelKey[] Of(Pod pod)
    {
        var ns = pod.Metadata.Namespace ?? "";
        var keys = new HashSet<ChannelKey>();
        void ConfigMap(string? name)
        {
            if (!string.IsNullOrEmpty(name))
            {
                keys.Add(new ChannelKey(ObjectKind.ConfigMap, ns, name));
            }
        }

        void Secret(string? name)
        {
            if (!string.IsNullOrEmpty(name))
            {
                keys.Add(new ChannelKey(ObjectKind.Secret, ns, name));
            }
        }

        var spec = pod.Spec;
        foreach (var volume in spec.Volumes ?? [])
        {
            ConfigMap(volume.ConfigMap?.Name);
            Secret(volume.Secret?.SecretName);
        }

        foreach (var container in (spec.InitContainers ?? []).Concat(spec.Containers ?? []))
        {
            foreach (var env in container.Env ?? [])
            {
                ConfigMap(env.ValueFrom?.ConfigMapKeyRef?.Name);
                Secret(env.ValueFrom?.SecretKeyRef?.Name);
            }

            foreach (var from in container.EnvFrom ?? [])
            {
                ConfigMap(from.ConfigMapRef?.Name);
                Secret(from.SecretRef?.Name);
            }
        }

        foreach (var pull in spec.ImagePullSecrets ?? [])
        {
            Secret(pull.Name);
        }

        return [.. keys];
    }
}
