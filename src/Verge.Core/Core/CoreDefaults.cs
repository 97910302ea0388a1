using Verge.Core.Quantities;

namespace Verge.Core.Core;

/// <summary>Defaulting of core/v1 kinds, as Kubernetes' SetDefaults_* functions do it.</summary>
public static class CoreDefaults
{
    public const string DefaultSchedulerName = "default-scheduler";
    public const string DefaultTerminationMessagePath = "/dev/termination-log";
    public const int DefaultVolumeMode = 420; // 0644

    public static void Pod(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        PodSpec(pod.Spec ??= new PodSpec());
    }

    /// <summary>Pod spec defaults, shared by pods and the pod templates of workloads.</summary>
    public static void PodSpec(PodSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.RestartPolicy = string.IsNullOrEmpty(spec.RestartPolicy) ? "Always" : spec.RestartPolicy;
        spec.TerminationGracePeriodSeconds ??= 30;
        spec.DnsPolicy = string.IsNullOrEmpty(spec.DnsPolicy) ? "ClusterFirst" : spec.DnsPolicy;
        spec.SchedulerName = string.IsNullOrEmpty(spec.SchedulerName) ? DefaultSchedulerName : spec.SchedulerName;
        spec.SecurityContext ??= new PodSecurityContext();

        // serviceAccount is the deprecated name of serviceAccountName: one fills the other, as Kubernetes converts them.
        if (string.IsNullOrEmpty(spec.ServiceAccountName))
        {
            spec.ServiceAccountName = string.IsNullOrEmpty(spec.ServiceAccount) ? spec.ServiceAccountName : spec.ServiceAccount;
        }

        spec.ServiceAccount = string.IsNullOrEmpty(spec.ServiceAccountName) ? spec.ServiceAccount : spec.ServiceAccountName;
        foreach (var container in spec.InitContainers ?? [])
        {
            Container(container);
        }

        foreach (var container in spec.Containers ?? [])
        {
            Container(container);
        }

        foreach (var volume in spec.Volumes ?? [])
        {
            if (volume.ConfigMap is { } configMap)
            {
                configMap.DefaultMode ??= DefaultVolumeMode;
            }

            if (volume.Secret is { } secret)
            {
                secret.DefaultMode ??= DefaultVolumeMode;
            }

            if (volume.HostPath is { } hostPath)
            {
                hostPath.Type ??= "";
            }

            if (volume.DownwardAPI is { } downwardApi)
            {
                downwardApi.DefaultMode ??= DefaultVolumeMode;
                DownwardApiFiles(downwardApi.Items);
            }

            if (volume.Projected is { } projected)
            {
                projected.DefaultMode ??= DefaultVolumeMode;
                foreach (var source in projected.Sources ?? [])
                {
                    DownwardApiFiles(source.DownwardAPI?.Items);
                    if (source.ServiceAccountToken is { } token)
                    {
                        token.ExpirationSeconds ??= 3600;
                    }
                }
            }
        }
    }

    /// <summary>A downward API file's field selector is written against v1 unless it says otherwise.</summary>
    private static void DownwardApiFiles(List<DownwardApiVolumeFile>? items)
    {
        foreach (var item in items ?? [])
        {
            if (item.FieldRef is { } fieldRef && string.IsNullOrEmpty(fieldRef.ApiVersion))
            {
                fieldRef.ApiVersion = "v1";
            }
        }
    }

    public static void Container(Container container)
    {
        ArgumentNullException.ThrowIfNull(container);
        if (string.IsNullOrEmpty(container.ImagePullPolicy))
        {
            container.ImagePullPolicy = ImageTag(container.Image) == "latest" ? "Always" : "IfNotPresent";
        }

        container.TerminationMessagePath = string.IsNullOrEmpty(container.TerminationMessagePath) ? DefaultTerminationMessagePath : container.TerminationMessagePath;
        container.TerminationMessagePolicy = string.IsNullOrEmpty(container.TerminationMessagePolicy) ? "File" : container.TerminationMessagePolicy;
        foreach (var port in container.Ports ?? [])
        {
            port.Protocol = string.IsNullOrEmpty(port.Protocol) ? "TCP" : port.Protocol;
        }

        foreach (var env in container.Env ?? [])
        {
            if (env.ValueFrom?.FieldRef is { } fieldRef && string.IsNullOrEmpty(fieldRef.ApiVersion))
            {
                fieldRef.ApiVersion = "v1";
            }
        }

        // Requests default to limits for every resource that has a limit and no request.
        if (container.Resources?.Limits is { Count: > 0 } limits)
        {
            var requests = container.Resources.Requests ??= [];
            foreach (var (name, limit) in limits)
            {
                if (limit.IsValid)
                {
                    requests.TryAdd(name, limit);
                }
            }
        }

        Probe(container.LivenessProbe);
        Probe(container.ReadinessProbe);
        Probe(container.StartupProbe);
    }

    private static void Probe(Probe? probe)
    {
        if (probe is null)
        {
            return;
        }

        probe.TimeoutSeconds = probe.TimeoutSeconds is null or 0 ? 1 : probe.TimeoutSeconds;
        probe.PeriodSeconds = probe.PeriodSeconds is null or 0 ? 10 : probe.PeriodSeconds;
        probe.SuccessThreshold = probe.SuccessThreshold is null or 0 ? 1 : probe.SuccessThreshold;
        probe.FailureThreshold = probe.FailureThreshold is null or 0 ? 3 : probe.FailureThreshold;
        if (probe.HttpGet is { } http)
        {
            http.Path = string.IsNullOrEmpty(http.Path) ? "/" : http.Path;
            http.Scheme = string.IsNullOrEmpty(http.Scheme) ? "HTTP" : http.Scheme;
        }
    }

    /// <summary>
    /// The tag of an image reference as Kubernetes' ParseImageName reads it: <c>latest</c> when there is neither a tag
    /// nor a digest, empty when there is only a digest.
    /// </summary>
    public static string ImageTag(string? image)
    {
        if (string.IsNullOrEmpty(image))
        {
            return "latest";
        }

        var at = image.IndexOf('@', StringComparison.Ordinal);
        var hasDigest = at >= 0;
        var name = hasDigest ? image[..at] : image;
        var colon = name.LastIndexOf(':');
        var slash = name.LastIndexOf('/');
        if (colon > slash)
        {
            return name[(colon + 1)..];
        }

        return hasDigest ? "" : "latest";
    }

    public static void Namespace(Namespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        ns.Status ??= new NamespaceStatus();
        ns.Status.Phase = string.IsNullOrEmpty(ns.Status.Phase) ? "Active" : ns.Status.Phase;
    }

    /// <summary>Type Opaque; <c>stringData</c> is merged into <c>data</c> and dropped, as the API server does.</summary>
    public static void Secret(Secret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        secret.Type = string.IsNullOrEmpty(secret.Type) ? "Opaque" : secret.Type;
        if (secret.StringData is { Count: > 0 } stringData)
        {
            secret.Data ??= [];
            foreach (var (key, value) in stringData)
            {
                secret.Data[key] = System.Text.Encoding.UTF8.GetBytes(value);
            }
        }

        secret.StringData = null;
    }

    /// <summary>Allocatable defaults to capacity, as Kubernetes does for a node status that omits it.</summary>
    public static void Node(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.Status is { Capacity: { Count: > 0 } capacity } status && status.Allocatable is null)
        {
            status.Allocatable = new Dictionary<string, Quantity>(capacity);
        }
    }
}
