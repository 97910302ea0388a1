using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Http;
using Verge.ApiServer.Registry;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.ApiServer.Nodes;

/// <summary>What the node authorizer decided, and why when it refused.</summary>
internal readonly record struct NodeDecision(bool Allowed, string? Reason, string? RequiredCreateName = null)
{
    public static NodeDecision Allow() => new(true, null);

    public static NodeDecision AllowCreateNamed(string name) => new(true, null, name);

    public static NodeDecision Deny(string reason) => new(false, reason);
}

/// <summary>
/// Kubernetes' node authorizer, for users <c>system:node:NAME</c> in <c>system:nodes</c>: a node reaches only what
/// its own pods need. It may get, list and watch the pods bound to it (list and watch must select
/// <c>spec.nodeName=NAME</c>), update their status, get the ConfigMaps and Secrets those pods reference (volumes,
/// env valueFrom, envFrom, imagePullSecrets), get, create, update and patch its own Node and its status, list and
/// watch Nodes, get, create and update its own Lease in kube-node-lease, and create Events. Creates name the object
/// in the body, so an allowed create carries the name the object must have (the NodeRestriction admission check).
/// </summary>
internal sealed class NodeAuthorizer(ResourceService service)
{
    public const string NodeLeaseNamespace = Verge.Core.Coordination.Lease.NodeLeaseNamespace;

    private static readonly ResourceType PodType = ResourceCatalog.For<Pod>();

    public async Task<NodeDecision> AuthorizeAsync(string node, string verb, ResourcePath path, IQueryCollection query, CancellationToken ct)
    {
        var type = path.Type;
        return (type.Group, type.Kind) switch
        {
            ("", "Pod") => await PodAsync(node, verb, path, query, ct),
            ("", "ConfigMap") or ("", "Secret") => await ReferencedAsync(node, verb, path, ct),
            ("", "Node") => NodeObject(node, verb, path),
            ("coordination.k8s.io", "Lease") => Lease(node, verb, path),
            ("", "Event") or ("events.k8s.io", "Event") when verb == "create" && !path.IsItem => NodeDecision.Allow(),
            _ => NodeDecision.Deny($"node \"{node}\" may not {verb} {type.Plural}"),
        };
    }

    private async Task<NodeDecision> PodAsync(string node, string verb, ResourcePath path, IQueryCollection query, CancellationToken ct)
    {
        switch (verb)
        {
            case "list" or "watch" when path.Subresource is null:
                if (!FieldSelectorExpression.TryParse(query["fieldSelector"].ToString(), out var selector, out _)
                    || !selector.Requirements.Any(r => r.Field == "spec.nodeName" && !r.Negated && r.Value == node))
                {
                    return NodeDecision.Deny($"node \"{node}\" may {verb} pods only with the field selector spec.nodeName={node}");
                }

                return NodeDecision.Allow();
            case "get" when path.IsItem && path.Subresource is null or "status":
            case "update" or "patch" when path.IsItem && path.Subresource == "status":
                var kv = await service.GetRawAsync(PodType, path.Namespace, path.Name!, ct);
                if (kv is not null && ObjectCodec.Decode(PodType, kv.Value.Span, kv.ModRevision) is Pod pod && pod.Spec.NodeName == node)
                {
                    return NodeDecision.Allow();
                }

                return NoRelationship(node);
            default:
                return NodeDecision.Deny($"node \"{node}\" may not {verb} pods{(path.Subresource is null ? "" : "/" + path.Subresource)}");
        }
    }

    private async Task<NodeDecision> ReferencedAsync(string node, string verb, ResourcePath path, CancellationToken ct)
    {
        if (verb != "get" || !path.IsItem || path.Subresource is not null)
        {
            return NodeDecision.Deny($"node \"{node}\" may only get individual {path.Type.Plural}");
        }

        var isSecret = path.Type.Kind == "Secret";
        var prefix = ObjectCodec.Prefix(PodType, path.Namespace);
        string? start = null;
        while (true)
        {
            var page = await service.Store.ListAsync(prefix, 0, 500, start, ct);
            foreach (var kv in page.Items)
            {
                if (ObjectCodec.Decode(PodType, kv.Value.Span, kv.ModRevision) is Pod pod && pod.Spec.NodeName == node
                    && (isSecret ? SecretNames(pod.Spec) : ConfigMapNames(pod.Spec)).Contains(path.Name!))
                {
                    return NodeDecision.Allow();
                }
            }

            if (!page.HasMore || page.Items.Count == 0)
            {
                return NoRelationship(node);
            }

            start = page.Items[^1].Key;
        }
    }

    private static NodeDecision NodeObject(string node, string verb, ResourcePath path) => verb switch
    {
        "list" or "watch" when path.Subresource is null => NodeDecision.Allow(),
        "create" when !path.IsItem => NodeDecision.AllowCreateNamed(node),
        "get" or "update" or "patch" when path.Name == node && path.Subresource is null or "status" => NodeDecision.Allow(),
        _ => NodeDecision.Deny($"node \"{node}\" may only {verb} its own Node object"),
    };

    private static NodeDecision Lease(string node, string verb, ResourcePath path)
    {
        if (path.Namespace != NodeLeaseNamespace || path.Subresource is not null)
        {
            return NodeDecision.Deny($"node \"{node}\" may only use its own lease in {NodeLeaseNamespace}");
        }

        return verb switch
        {
            "create" when !path.IsItem => NodeDecision.AllowCreateNamed(node),
            "get" or "update" when path.Name == node => NodeDecision.Allow(),
            _ => NodeDecision.Deny($"node \"{node}\" may only get, create and update its own lease in {NodeLeaseNamespace}"),
        };
    }

    private static NodeDecision NoRelationship(string node) =>
        NodeDecision.Deny($"no relationship found between node '{node}' and this object");

    /// <summary>The Secrets a pod uses: secret volumes, env and envFrom references, and image pull secrets.</summary>
    internal static HashSet<string> SecretNames(PodSpec spec)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var volume in spec.Volumes ?? [])
        {
            AddName(names, volume.Secret?.SecretName);
        }

        foreach (var pull in spec.ImagePullSecrets ?? [])
        {
            AddName(names, pull.Name);
        }

        foreach (var container in AllContainers(spec))
        {
            foreach (var env in container.Env ?? [])
            {
                AddName(names, env.ValueFrom?.SecretKeyRef?.Name);
            }

            foreach (var from in container.EnvFrom ?? [])
            {
                AddName(names, from.SecretRef?.Name);
            }
        }

        return names;
    }

    /// <summary>The ConfigMaps a pod uses: configMap volumes and env and envFrom references.</summary>
    internal static HashSet<string> ConfigMapNames(PodSpec spec)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var volume in spec.Volumes ?? [])
        {
            AddName(names, volume.ConfigMap?.Name);
        }

        foreach (var container in AllContainers(spec))
        {
            foreach (var env in container.Env ?? [])
            {
                AddName(names, env.ValueFrom?.ConfigMapKeyRef?.Name);
            }

            foreach (var from in container.EnvFrom ?? [])
            {
                AddName(names, from.ConfigMapRef?.Name);
            }
        }

        return names;
    }

    private static IEnumerable<Container> AllContainers(PodSpec spec) => (spec.InitContainers ?? []).Concat(spec.Containers);

    private static void AddName(HashSet<string> names, string? name)
    {
        if (!string.IsNullOrEmpty(name))
        {
            names.Add(name);
        }
    }
}
