using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Scheduling;
using Verge.Core.Selectors;
using Verge.Core.Serialization;

namespace Verge.Core.Validation;

/// <summary>Validation of pods and pod templates, following Kubernetes' ValidatePodSpec and its helpers.</summary>
public static partial class PodValidation
{
    private static readonly string[] RestartPolicies = ["Always", "OnFailure", "Never"];
    private static readonly string[] DnsPolicies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    private static readonly string[] PullPolicies = ["Always", "IfNotPresent", "Never"];
    private static readonly string[] MessagePolicies = ["File", "FallbackToLogsOnError"];
    private static readonly string[] Protocols = ["SCTP", "TCP", "UDP"];
    private static readonly string[] TaintEffects = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    private static readonly string[] TolerationOperators = ["Equal", "Exists"];
    private static readonly string[] SpreadActions = ["DoNotSchedule", "ScheduleAnyway"];
    private static readonly string[] NodeInclusionPolicies = ["Honor", "Ignore"];
    private static readonly string[] Schemes = ["HTTP", "HTTPS"];
    private static readonly string[] HostPathTypes = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
    private static readonly string[] NodeSelectorOperators = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"];
    private static readonly HashSet<string> StandardContainerResources = new(StringComparer.Ordinal) { "cpu", "memory", "ephemeral-storage" };

    /// <summary>Validates a pod's spec under <c>spec</c>.</summary>
    public static List<FieldError> ValidatePod(Pod pod, Pod? old)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var errors = new List<FieldError>();
        ValidatePodSpec(pod.Spec, "spec", errors);
        if (pod.Spec.SchedulingGates is { Count: > 0 } && !string.IsNullOrEmpty(pod.Spec.NodeName) && string.IsNullOrEmpty(old?.Spec.NodeName))
        {
            errors.Add(FieldError.Forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"));
        }

        if (old is not null)
        {
            ValidateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, errors);
            ValidatePodSpecUpdate(pod.Spec, old.Spec, errors);
        }

        return errors;
    }

    /// <summary>
    /// Kubernetes' validateOnlyDeletedSchedulingGates: a pod's scheduling gates may be removed after its creation, never
    /// added.
    /// </summary>
    private static void ValidateOnlyDeletedSchedulingGates(List<PodSchedulingGate>? gates, List<PodSchedulingGate>? old, List<FieldError> errors)
    {
        for (var i = 0; i < (gates?.Count ?? 0); i++)
        {
            var name = gates![i].Name;
            if (old?.Any(g => g.Name == name) != true)
            {
                errors.Add(FieldError.Forbidden($"spec.schedulingGates[{i}].name", $"only deletion is allowed, but found new scheduling gate '{name}'"));
            }
        }
    }

    /// <summary>
    /// Validates a write to a pod's <c>status</c>, as Kubernetes' ValidatePodStatusUpdate: condition types, a nominated
    /// node name that changed, and the pod's and host's IPs. Spec and metadata are the stored pod's and are not checked
    /// again.
    /// </summary>
    public static List<FieldError> ValidatePodStatusUpdate(Pod pod, Pod old)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(old);
        var errors = new List<FieldError>();
        if (pod.Status is not { } status)
        {
            return errors;
        }

        for (var i = 0; i < (status.Conditions?.Count ?? 0); i++)
        {
            var type = status.Conditions![i].Type;
            if (!PodConditionTypes.Contains(type))
            {
                foreach (var message in NameValidation.IsQualifiedName(type))
                {
                    errors.Add(FieldError.Invalid($"status.conditions[{i}].type", type, message));
                }
            }
        }

        if (status.NominatedNodeName is { Length: > 0 } nominated && nominated != old.Status?.NominatedNodeName)
        {
            foreach (var message in NameValidation.IsDns1123Subdomain(nominated))
            {
                errors.Add(FieldError.Invalid("status.nominatedNodeName", nominated, message));
            }
        }

        ValidateStatusIps(status.PodIP, status.PodIPs?.Select(ip => ip.Ip).ToList(), "status.podIPs", errors);
        ValidateStatusIps(status.HostIP, status.HostIPs?.Select(ip => ip.Ip).ToList(), "status.hostIPs", errors);
        return errors;
    }

    /// <summary>The condition types Kubernetes itself sets on pods, which need not be qualified names.</summary>
    private static readonly HashSet<string> PodConditionTypes = new(StringComparer.Ordinal)
    {
        "PodScheduled", "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "DisruptionTarget",
    };

    /// <summary>Kubernetes' validatePodIPs and validateHostIPs: every IP valid, none twice, the first the singular field.</summary>
    private static void ValidateStatusIps(string? single, List<string>? ips, string path, List<FieldError> errors)
    {
        if (ips is not { Count: > 0 })
        {
            return;
        }

        if (ips[0] != single)
        {
            errors.Add(FieldError.Invalid($"{path}[0].ip", ips[0], $"must be equal to {path[..^1]}"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ips.Count; i++)
        {
            if (!IsIp(ips[i]))
            {
                errors.Add(FieldError.Invalid($"{path}[{i}].ip", ips[i], "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
            }
            else if (!seen.Add(ips[i]))
            {
                errors.Add(FieldError.Duplicate($"{path}[{i}].ip", ips[i]));
            }
        }
    }

    /// <summary>
    /// An IPv4 address in four dotted parts or an IPv6 address without a zone, as Go's ParseIP takes them (not the short
    /// forms like "10", nor "fe80::1%2", that .NET's parsing also takes).
    /// </summary>
    private static bool IsIp(string value) =>
        !value.Contains('%', StringComparison.Ordinal)
        && System.Net.IPAddress.TryParse(value, out _) && (value.Contains(':', StringComparison.Ordinal) || value.Count(c => c == '.') == 3);

    private const string PodUpdateForbidden =
        "pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

    /// <summary>
    /// A pod's spec is immutable but for the fields Kubernetes lets an update change: container images, the active
    /// deadline, added tolerations, a negative grace period set to 1, and (in Verge, where binding is how a pod gets
    /// its node) a node name that was empty.
    /// </summary>
    private static void ValidatePodSpecUpdate(PodSpec spec, PodSpec old, List<FieldError> errors)
    {
        // Most pod updates (status writes, labels, finalizers) leave the spec as it was, and a binding only sets an
        // empty node name: either way one comparison of the encoded specs needs no walk.
        if (ReferenceEquals(spec, old) || SameSpecButABinding(spec, old))
        {
            return;
        }

        var before = JsonSerializer.SerializeToNode(old, VergeJsonContext.Default.PodSpec)!.AsObject();
        var after = JsonSerializer.SerializeToNode(spec, VergeJsonContext.Default.PodSpec)!.AsObject();
        CopyImages(before, after, "containers");
        CopyImages(before, after, "initContainers");
        CopyField(before, after, "activeDeadlineSeconds");
        CopyField(before, after, "schedulingGates");
        if (string.IsNullOrEmpty(old.NodeName))
        {
            CopyField(before, after, "nodeName");
        }

        if (old.TerminationGracePeriodSeconds < 0 && spec.TerminationGracePeriodSeconds == 1)
        {
            CopyField(before, after, "terminationGracePeriodSeconds");
        }

        if (before["tolerations"] is not JsonArray oldTolerations || (after["tolerations"] is JsonArray newTolerations
            && oldTolerations.All(t => newTolerations.Any(n => JsonNode.DeepEquals(t, n)))))
        {
            CopyField(before, after, "tolerations");
        }

        if (!JsonNode.DeepEquals(before, after))
        {
            errors.Add(FieldError.Forbidden("spec", PodUpdateForbidden));
        }
    }

    /// <summary>
    /// Whether the specs encode alike, the node name left out when it goes from empty to set (a binding). The node name
    /// is put back as it was whatever the comparison does.
    /// </summary>
    private static bool SameSpecButABinding(PodSpec spec, PodSpec old)
    {
        if (!string.IsNullOrEmpty(old.NodeName) || string.IsNullOrEmpty(spec.NodeName))
        {
            return VergeJson.SameEncoding(old, spec, VergeJsonContext.Default.PodSpec);
        }

        var nodeName = spec.NodeName;
        try
        {
            spec.NodeName = old.NodeName;
            return VergeJson.SameEncoding(old, spec, VergeJsonContext.Default.PodSpec);
        }
        finally
        {
            spec.NodeName = nodeName;
        }
    }

    private static void CopyField(JsonObject target, JsonObject source, string name)
    {
        target.Remove(name);
        if (source[name] is { } value)
        {
            target[name] = value.DeepClone();
        }
    }

    private static void CopyImages(JsonObject target, JsonObject source, string list)
    {
        if (target[list] is JsonArray to && source[list] is JsonArray from && to.Count == from.Count)
        {
            for (var i = 0; i < to.Count; i++)
            {
                if (to[i] is JsonObject container && from[i] is JsonObject updated)
                {
                    CopyField(container, updated, "image");
                }
            }
        }
    }

    /// <summary>Validates a pod template: its labels and annotations under <c>path.labels</c> (as Kubernetes does) and its spec.</summary>
    public static void ValidatePodTemplateSpec(PodTemplateSpec template, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(errors);
        MetadataValidation.ValidateLabels(template.Metadata?.Labels, $"{path}.labels", errors);
        MetadataValidation.ValidateAnnotations(template.Metadata?.Annotations, $"{path}.annotations", errors);
        if (template.Spec is null)
        {
            errors.Add(FieldError.Required($"{path}.spec"));
            return;
        }

        ValidatePodSpec(template.Spec, $"{path}.spec", errors);
    }

    public static void ValidatePodSpec(PodSpec spec, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(errors);
        var volumeNames = ValidateVolumes(spec.Volumes, $"{path}.volumes", errors);
        var containerNames = new HashSet<string>(StringComparer.Ordinal);
        ValidateContainers(spec.InitContainers, $"{path}.initContainers", volumeNames, containerNames, errors, required: false);
        ValidateContainers(spec.Containers, $"{path}.containers", volumeNames, containerNames, errors, required: true);
        ValidateInitContainerKinds(spec, path, errors);
        for (var i = 0; i < (spec.Containers?.Count ?? 0); i++)
        {
            ValidateLifecycle(spec.Containers![i].Lifecycle, spec.TerminationGracePeriodSeconds, $"{path}.containers[{i}].lifecycle", errors);
            if (spec.Containers[i].RestartPolicy is not null)
            {
                errors.Add(FieldError.Forbidden($"{path}.containers[{i}].restartPolicy", "may not be set for non-init containers"));
            }
        }

        if (spec.RestartPolicy is null or "")
        {
            errors.Add(FieldError.Required($"{path}.restartPolicy"));
        }
        else if (!RestartPolicies.Contains(spec.RestartPolicy))
        {
            errors.Add(FieldError.NotSupported($"{path}.restartPolicy", spec.RestartPolicy, RestartPolicies));
        }

        if (spec.DnsPolicy is { Length: > 0 } dnsPolicy && !DnsPolicies.Contains(dnsPolicy))
        {
            errors.Add(FieldError.NotSupported($"{path}.dnsPolicy", dnsPolicy, DnsPolicies));
        }

        ValidateDnsConfig(spec.DnsConfig, spec.DnsPolicy, $"{path}.dnsConfig", errors);
        ValidateHostAliases(spec.HostAliases, $"{path}.hostAliases", errors);
        ValidateOS(spec, path, errors);

        if (spec.PreemptionPolicy is { } preemption
            && preemption is not (PriorityClasses.PreemptLowerPriority or PriorityClasses.Never))
        {
            errors.Add(FieldError.NotSupported($"{path}.preemptionPolicy", preemption,
                [PriorityClasses.Never, PriorityClasses.PreemptLowerPriority]));
        }

        MetadataValidation.ValidateLabels(spec.NodeSelector, $"{path}.nodeSelector", errors);
        if (spec.TerminationGracePeriodSeconds is < 0)
        {
            errors.Add(FieldError.Invalid($"{path}.terminationGracePeriodSeconds", spec.TerminationGracePeriodSeconds.Value, "must be greater than or equal to 0"));
        }

        if (spec.ActiveDeadlineSeconds is { } deadline && (deadline <= 0 || deadline > uint.MaxValue))
        {
            errors.Add(FieldError.Invalid($"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 4294967295, inclusive"));
        }

        if (!string.IsNullOrEmpty(spec.ServiceAccountName))
        {
            foreach (var message in NameValidation.IsDns1123Subdomain(spec.ServiceAccountName))
            {
                errors.Add(FieldError.Invalid($"{path}.serviceAccountName", spec.ServiceAccountName, message));
            }
        }

        if (!string.IsNullOrEmpty(spec.NodeName))
        {
            foreach (var message in NameValidation.IsDns1123Subdomain(spec.NodeName))
            {
                errors.Add(FieldError.Invalid($"{path}.nodeName", spec.NodeName, message));
            }
        }

        foreach (var (value, field) in new[] { (spec.Hostname, "hostname"), (spec.Subdomain, "subdomain") })
        {
            if (!string.IsNullOrEmpty(value))
            {
                foreach (var message in NameValidation.IsDns1123Label(value))
                {
                    errors.Add(FieldError.Invalid($"{path}.{field}", value, message));
                }
            }
        }

        // Accepted when they ask for what Verge does anyway; refused when they ask for isolation it cannot give, which
        // a server that dropped them (Kubernetes' non-strict decoding of an unknown field) would silently withhold.
        if (spec.ShareProcessNamespace == true)
        {
            errors.Add(FieldError.Forbidden($"{path}.shareProcessNamespace", "not supported by Verge: its pods have no process to hold a shared process namespace"));
        }

        if (spec.HostUsers == false)
        {
            errors.Add(FieldError.Forbidden($"{path}.hostUsers", "not supported by Verge: it runs no pods in user namespaces"));
        }

        for (var i = 0; i < (spec.ImagePullSecrets?.Count ?? 0); i++)
        {
            if (string.IsNullOrEmpty(spec.ImagePullSecrets![i].Name))
            {
                errors.Add(FieldError.Required($"{path}.imagePullSecrets[{i}].name"));
            }
        }

        SecurityContextValidation.ValidatePodSecurityContext(spec.SecurityContext, spec.HostNetwork == true, $"{path}.securityContext", errors);
        ValidateTolerations(spec.Tolerations, $"{path}.tolerations", errors);
        ValidateAffinity(spec.Affinity, $"{path}.affinity", errors);
        ValidateTopologySpreadConstraints(spec.TopologySpreadConstraints, $"{path}.topologySpreadConstraints", errors);
        ValidateGates(spec, path, errors);
    }

    /// <summary>
    /// Kubernetes' validateInitContainers: an init container's restartPolicy may only be Always (a sidecar); a sidecar
    /// may have lifecycle hooks and probes, any other init container none.
    /// </summary>
    private static void ValidateInitContainerKinds(PodSpec spec, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (spec.InitContainers?.Count ?? 0); i++)
        {
            var container = spec.InitContainers![i];
            var itemPath = $"{path}.initContainers[{i}]";
            if (container.RestartPolicy is { } policy && policy != Sidecars.RestartAlways)
            {
                errors.Add(FieldError.NotSupported($"{itemPath}.restartPolicy", policy, [Sidecars.RestartAlways]));
            }

            if (container.IsSidecar())
            {
                ValidateLifecycle(container.Lifecycle, spec.TerminationGracePeriodSeconds, $"{itemPath}.lifecycle", errors);
                continue;
            }

            foreach (var (field, value) in new (string, object?)[]
            {
                ("lifecycle", container.Lifecycle), ("livenessProbe", container.LivenessProbe),
                ("readinessProbe", container.ReadinessProbe), ("startupProbe", container.StartupProbe),
            })
            {
                if (value is not null)
                {
                    errors.Add(FieldError.Forbidden($"{itemPath}.{field}", "may not be set for init containers without restartPolicy=Always"));
                }
            }
        }
    }

    /// <summary>
    /// Kubernetes' validateReadinessGates and validateSchedulingGates: qualified names, and no scheduling gate twice.
    /// </summary>
    private static void ValidateGates(PodSpec spec, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (spec.ReadinessGates?.Count ?? 0); i++)
        {
            var type = spec.ReadinessGates![i].ConditionType;
            foreach (var message in NameValidation.IsQualifiedName(type))
            {
                errors.Add(FieldError.Invalid($"{path}.readinessGates[{i}].conditionType", type, message));
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (spec.SchedulingGates?.Count ?? 0); i++)
        {
            var name = spec.SchedulingGates![i].Name;
            foreach (var message in NameValidation.IsQualifiedName(name))
            {
                errors.Add(FieldError.Invalid($"{path}.schedulingGates[{i}]", name, message));
            }

            if (!seen.Add(name))
            {
                errors.Add(FieldError.Duplicate($"{path}.schedulingGates[{i}]", name));
            }
        }
    }

    private static HashSet<string> ValidateVolumes(List<Volume>? volumes, string path, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (volumes?.Count ?? 0); i++)
        {
            var volume = volumes![i];
            var itemPath = $"{path}[{i}]";
            if (string.IsNullOrEmpty(volume.Name))
            {
                errors.Add(FieldError.Required($"{itemPath}.name"));
            }
            else
            {
                foreach (var message in NameValidation.IsDns1123Label(volume.Name))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.name", volume.Name, message));
                }

                if (!names.Add(volume.Name))
                {
                    errors.Add(FieldError.Duplicate($"{itemPath}.name", volume.Name));
                }
            }

            var sources = 0;
            if (volume.EmptyDir is { } emptyDir)
            {
                sources++;
                if (emptyDir.SizeLimit is { } sizeLimit)
                {
                    ValidateQuantity(sizeLimit, $"{itemPath}.emptyDir.sizeLimit", errors);
                }
            }

            if (volume.HostPath is { } hostPath)
            {
                if (sources++ > 0)
                {
                    errors.Add(FieldError.Forbidden($"{itemPath}.hostPath", "may not specify more than 1 volume type"));
                }
                else
                {
                    if (string.IsNullOrEmpty(hostPath.Path))
                    {
                        errors.Add(FieldError.Required($"{itemPath}.hostPath.path"));
                    }

                    if (hostPath.Type is { } type && !HostPathTypes.Contains(type))
                    {
                        errors.Add(FieldError.NotSupported($"{itemPath}.hostPath.type", type, HostPathTypes));
                    }
                }
            }

            if (volume.ConfigMap is { } configMap)
            {
                if (sources++ > 0)
                {
                    errors.Add(FieldError.Forbidden($"{itemPath}.configMap", "may not specify more than 1 volume type"));
                }
                else
                {
                    if (string.IsNullOrEmpty(configMap.Name))
                    {
                        errors.Add(FieldError.Required($"{itemPath}.configMap.name"));
                    }

                    ValidateKeyToPaths(configMap.Items, $"{itemPath}.configMap.items", errors);
                    ValidateMode(configMap.DefaultMode, $"{itemPath}.configMap.defaultMode", errors);
                }
            }

            if (volume.Secret is { } secret)
            {
                if (sources++ > 0)
                {
                    errors.Add(FieldError.Forbidden($"{itemPath}.secret", "may not specify more than 1 volume type"));
                }
                else
                {
                    if (string.IsNullOrEmpty(secret.SecretName))
                    {
                        errors.Add(FieldError.Required($"{itemPath}.secret.secretName"));
                    }

                    ValidateKeyToPaths(secret.Items, $"{itemPath}.secret.items", errors);
                    ValidateMode(secret.DefaultMode, $"{itemPath}.secret.defaultMode", errors);
                }
            }

            if (volume.DownwardAPI is { } downwardApi)
            {
                if (sources++ > 0)
                {
                    errors.Add(FieldError.Forbidden($"{itemPath}.downwardAPI", "may not specify more than 1 volume type"));
                }
                else
                {
                    ValidateDownwardApiVolume(downwardApi, $"{itemPath}.downwardAPI", errors);
                }
            }

            if (volume.Projected is { } projected)
            {
                if (sources++ > 0)
                {
                    errors.Add(FieldError.Forbidden($"{itemPath}.projected", "may not specify more than 1 volume type"));
                }
                else
                {
                    ValidateProjectedVolume(projected, $"{itemPath}.projected", errors);
                }
            }

            if (sources == 0)
            {
                errors.Add(FieldError.Required(itemPath, "must specify a volume type"));
            }
        }

        return names;
    }

    private static void ValidateKeyToPaths(List<KeyToPath>? items, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = items![i];
            if (string.IsNullOrEmpty(item.Key))
            {
                errors.Add(FieldError.Required($"{path}[{i}].key"));
            }

            if (string.IsNullOrEmpty(item.Path))
            {
                errors.Add(FieldError.Required($"{path}[{i}].path"));
            }

            ValidateLocalNonReservedPath(item.Path ?? "", $"{path}[{i}].path", errors);

            ValidateMode(item.Mode, $"{path}[{i}].mode", errors);
        }
    }

    private static void ValidateMode(int? mode, string path, List<FieldError> errors)
    {
        if (mode is < 0 or > 0x1FF) // 0777 octal: C# has no octal literals
        {
            errors.Add(FieldError.Invalid(path, mode.Value, "must be a number between 0 and 0777 (octal), both inclusive"));
        }
    }

    private static void ValidateContainers(
        List<Container>? containers, string path, HashSet<string> volumeNames, HashSet<string> allNames, List<FieldError> errors, bool required)
    {
        if (containers is null || containers.Count == 0)
        {
            if (required)
            {
                errors.Add(FieldError.Required(path));
            }

            return;
        }

        for (var i = 0; i < containers.Count; i++)
        {
            var container = containers[i];
            var itemPath = $"{path}[{i}]";
            if (string.IsNullOrEmpty(container.Name))
            {
                errors.Add(FieldError.Required($"{itemPath}.name"));
            }
            else
            {
                foreach (var message in NameValidation.IsDns1123Label(container.Name))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.name", container.Name, message));
                }

                if (!allNames.Add(container.Name))
                {
                    errors.Add(FieldError.Duplicate($"{itemPath}.name", container.Name));
                }
            }

            if (string.IsNullOrEmpty(container.Image))
            {
                errors.Add(FieldError.Required($"{itemPath}.image"));
            }
            else if (container.Image.Length != container.Image.Trim().Length)
            {
                errors.Add(FieldError.Invalid($"{itemPath}.image", container.Image, "must not have leading or trailing whitespace"));
            }

            if (container.ImagePullPolicy is { Length: > 0 } pullPolicy && !PullPolicies.Contains(pullPolicy))
            {
                errors.Add(FieldError.NotSupported($"{itemPath}.imagePullPolicy", pullPolicy, PullPolicies));
            }

            if (container.TerminationMessagePolicy is { Length: > 0 } messagePolicy && !MessagePolicies.Contains(messagePolicy))
            {
                errors.Add(FieldError.NotSupported($"{itemPath}.terminationMessagePolicy", messagePolicy, MessagePolicies));
            }

            ValidatePorts(container.Ports, $"{itemPath}.ports", errors);
            ValidateEnv(container.Env, $"{itemPath}.env", errors);
            ValidateEnvFrom(container.EnvFrom, $"{itemPath}.envFrom", errors);
            ValidateResources(container.Resources, $"{itemPath}.resources", errors);
            ValidateVolumeMounts(container.VolumeMounts, $"{itemPath}.volumeMounts", volumeNames, errors);
            ValidateProbe(container.LivenessProbe, $"{itemPath}.livenessProbe", errors, successMustBeOne: true);
            ValidateProbe(container.ReadinessProbe, $"{itemPath}.readinessProbe", errors, successMustBeOne: false);
            ValidateProbe(container.StartupProbe, $"{itemPath}.startupProbe", errors, successMustBeOne: true);
            SecurityContextValidation.ValidateSecurityContext(container.SecurityContext, $"{itemPath}.securityContext", errors);
        }
    }

    private static void ValidatePorts(List<ContainerPort>? ports, string path, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (ports?.Count ?? 0); i++)
        {
            var port = ports![i];
            var itemPath = $"{path}[{i}]";
            if (!string.IsNullOrEmpty(port.Name))
            {
                var messages = NameValidation.IsValidPortName(port.Name);
                foreach (var message in messages)
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.name", port.Name, message));
                }

                if (messages.Count == 0 && !names.Add(port.Name))
                {
                    errors.Add(FieldError.Duplicate($"{itemPath}.name", port.Name));
                }
            }

            if (port.Port == 0)
            {
                errors.Add(FieldError.Required($"{itemPath}.containerPort"));
            }
            else
            {
                foreach (var message in NameValidation.IsValidPortNumber(port.Port))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.containerPort", port.Port, message));
                }
            }

            if (port.HostPort is { } hostPort and not 0)
            {
                foreach (var message in NameValidation.IsValidPortNumber(hostPort))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.hostPort", hostPort, message));
                }
            }

            if (port.Protocol is { Length: > 0 } protocol && !Protocols.Contains(protocol))
            {
                errors.Add(FieldError.NotSupported($"{itemPath}.protocol", protocol, Protocols));
            }
        }
    }

    private static void ValidateEnv(List<EnvVar>? env, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (env?.Count ?? 0); i++)
        {
            var variable = env![i];
            var itemPath = $"{path}[{i}]";
            if (string.IsNullOrEmpty(variable.Name))
            {
                errors.Add(FieldError.Required($"{itemPath}.name"));
            }
            else
            {
                foreach (var message in NameValidation.IsEnvVarName(variable.Name))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.name", variable.Name, message));
                }
            }

            if (variable.ValueFrom is not { } source)
            {
                continue;
            }

            var sourcePath = $"{itemPath}.valueFrom";
            var sources = (source.ConfigMapKeyRef is null ? 0 : 1) + (source.SecretKeyRef is null ? 0 : 1)
                + (source.FieldRef is null ? 0 : 1) + (source.ResourceFieldRef is null ? 0 : 1);
            if (sources == 0)
            {
                errors.Add(FieldError.Invalid(sourcePath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
            }
            else if (sources > 1)
            {
                errors.Add(FieldError.Invalid(sourcePath, "", "may not have more than one field specified at a time"));
            }

            if (!string.IsNullOrEmpty(variable.Value) && sources > 0)
            {
                errors.Add(FieldError.Invalid(sourcePath, "", "may not be specified when `value` is not empty"));
            }

            foreach (var (reference, name) in new[] { (source.ConfigMapKeyRef, "configMapKeyRef"), (source.SecretKeyRef, "secretKeyRef") })
            {
                if (reference is null)
                {
                    continue;
                }

                if (string.IsNullOrEmpty(reference.Name))
                {
                    errors.Add(FieldError.Required($"{sourcePath}.{name}.name"));
                }

                if (string.IsNullOrEmpty(reference.Key))
                {
                    errors.Add(FieldError.Required($"{sourcePath}.{name}.key"));
                }
                else
                {
                    foreach (var message in NameValidation.IsConfigMapKey(reference.Key))
                    {
                        errors.Add(FieldError.Invalid($"{sourcePath}.{name}.key", reference.Key, message));
                    }
                }
            }

            if (source.FieldRef is { } fieldRef && string.IsNullOrEmpty(fieldRef.FieldPath))
            {
                errors.Add(FieldError.Required($"{sourcePath}.fieldRef.fieldPath"));
            }

            if (source.ResourceFieldRef is { } resourceRef)
            {
                if (string.IsNullOrEmpty(resourceRef.Resource))
                {
                    errors.Add(FieldError.Required($"{sourcePath}.resourceFieldRef.resource"));
                }

                if (resourceRef.Divisor is { } divisor)
                {
                    ValidateQuantity(divisor, $"{sourcePath}.resourceFieldRef.divisor", errors);
                }
            }
        }
    }

    private static void ValidateEnvFrom(List<EnvFromSource>? sources, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (sources?.Count ?? 0); i++)
        {
            var source = sources![i];
            var itemPath = $"{path}[{i}]";
            if (source.ConfigMapRef is null && source.SecretRef is null)
            {
                errors.Add(FieldError.Invalid(itemPath, "", "must specify one of: `configMapRef` or `secretRef`"));
            }
            else if (source.ConfigMapRef is not null && source.SecretRef is not null)
            {
                errors.Add(FieldError.Invalid(itemPath, "", "may not have more than one field specified at a time"));
            }

            if (!string.IsNullOrEmpty(source.Prefix))
            {
                foreach (var message in NameValidation.IsEnvVarName(source.Prefix))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.prefix", source.Prefix, message));
                }
            }

            if (source.ConfigMapRef is { Name: null or "" })
            {
                errors.Add(FieldError.Required($"{itemPath}.configMapRef.name"));
            }

            if (source.SecretRef is { Name: null or "" })
            {
                errors.Add(FieldError.Required($"{itemPath}.secretRef.name"));
            }
        }
    }

    /// <summary>Resource names, quantities (parsable, non-negative) and requests no greater than limits.</summary>
    public static void ValidateResources(ResourceRequirements? resources, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (resources is null)
        {
            return;
        }

        foreach (var (name, quantity) in (resources.Limits ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var itemPath = $"{path}.limits[{name}]";
            ValidateResourceName(name, itemPath, errors);
            ValidateQuantity(quantity, itemPath, errors);
        }

        foreach (var (name, quantity) in (resources.Requests ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var itemPath = $"{path}.requests[{name}]";
            ValidateResourceName(name, itemPath, errors);
            if (!ValidateQuantity(quantity, itemPath, errors))
            {
                continue;
            }

            if (resources.Limits is not null && resources.Limits.TryGetValue(name, out var limit) && limit.IsValid)
            {
                var overcommitAllowed = !name.StartsWith("hugepages-", StringComparison.Ordinal);
                if (!overcommitAllowed && quantity != limit)
                {
                    errors.Add(FieldError.Invalid(itemPath, quantity.ToString(), $"must be equal to {name} limit of {limit}"));
                }
                else if (quantity > limit)
                {
                    errors.Add(FieldError.Invalid(itemPath, quantity.ToString(), $"must be less than or equal to {name} limit of {limit}"));
                }
            }
        }
    }

    private static void ValidateResourceName(string name, string path, List<FieldError> errors)
    {
        var messages = NameValidation.IsQualifiedName(name);
        foreach (var message in messages)
        {
            errors.Add(FieldError.Invalid(path, name, message));
        }

        if (messages.Count == 0 && !name.Contains('/', StringComparison.Ordinal)
            && !StandardContainerResources.Contains(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal))
        {
            errors.Add(FieldError.Invalid(path, name, "must be a standard resource for containers"));
        }
    }

    /// <summary>
    /// An unparsable quantity (kept by the JSON converter) becomes an Invalid error with Kubernetes' parse message;
    /// a negative one "must be greater than or equal to 0". Returns whether the quantity is usable.
    /// </summary>
    public static bool ValidateQuantity(Quantity quantity, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!quantity.IsValid)
        {
            errors.Add(FieldError.Invalid(path, quantity.RawText, quantity.Error!));
            return false;
        }

        if (quantity.Sign < 0)
        {
            errors.Add(FieldError.Invalid(path, quantity.ToString(), "must be greater than or equal to 0"));
            return false;
        }

        return true;
    }

    private static void ValidateVolumeMounts(List<VolumeMount>? mounts, string path, HashSet<string> volumeNames, List<FieldError> errors)
    {
        var mountPoints = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (mounts?.Count ?? 0); i++)
        {
            var mount = mounts![i];
            var itemPath = $"{path}[{i}]";
            if (string.IsNullOrEmpty(mount.Name))
            {
                errors.Add(FieldError.Required($"{itemPath}.name"));
            }
            else if (!volumeNames.Contains(mount.Name))
            {
                errors.Add(FieldError.NotFound($"{itemPath}.name", mount.Name));
            }

            if (string.IsNullOrEmpty(mount.MountPath))
            {
                errors.Add(FieldError.Required($"{itemPath}.mountPath"));
            }
            else if (!mountPoints.Add(mount.MountPath))
            {
                errors.Add(FieldError.Invalid($"{itemPath}.mountPath", mount.MountPath, "must be unique"));
            }

            if (!string.IsNullOrEmpty(mount.SubPath))
            {
                if (mount.SubPath.StartsWith('/'))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.subPath", mount.SubPath, "must be a relative path"));
                }
                else if (mount.SubPath.Split('/').Contains(".."))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.subPath", mount.SubPath, "must not contain '..'"));
                }
            }
        }
    }

    /// <summary>Kubernetes' validateLifecycle: each hook has exactly one handler; a sleep fits the grace period.</summary>
    private static void ValidateLifecycle(Lifecycle? lifecycle, long? gracePeriod, string path, List<FieldError> errors)
    {
        foreach (var (hook, name) in new[] { (lifecycle?.PostStart, "postStart"), (lifecycle?.PreStop, "preStop") })
        {
            if (hook is null)
            {
                continue;
            }

            var hookPath = $"{path}.{name}";
            var handlers = ValidateHandler(hook.Exec, hook.HttpGet, hook.TcpSocket, hookPath, errors);
            if (hook.Sleep is { } sleep)
            {
                if (handlers++ > 0)
                {
                    errors.Add(FieldError.Forbidden($"{hookPath}.sleep", "may not specify more than 1 handler type"));
                }
                else if (gracePeriod is { } grace && (sleep.Seconds <= 0 || sleep.Seconds > grace))
                {
                    errors.Add(FieldError.Invalid($"{hookPath}.sleep", sleep.Seconds, string.Create(CultureInfo.InvariantCulture,
                        $"must be greater than 0 and less than terminationGracePeriodSeconds ({grace}). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.")));
                }
            }

            if (handlers == 0)
            {
                errors.Add(FieldError.Required(hookPath, "must specify a handler type"));
            }
        }
    }

    private static void ValidateProbe(Probe? probe, string path, List<FieldError> errors, bool successMustBeOne)
    {
        if (probe is null)
        {
            return;
        }

        if (ValidateHandler(probe.Exec, probe.HttpGet, probe.TcpSocket, path, errors) == 0)
        {
            errors.Add(FieldError.Required(path, "must specify a handler type"));
        }

        NonNegative(probe.InitialDelaySeconds, $"{path}.initialDelaySeconds", errors);
        AtLeastOne(probe.TimeoutSeconds, $"{path}.timeoutSeconds", errors);
        AtLeastOne(probe.PeriodSeconds, $"{path}.periodSeconds", errors);
        AtLeastOne(probe.SuccessThreshold, $"{path}.successThreshold", errors);
        AtLeastOne(probe.FailureThreshold, $"{path}.failureThreshold", errors);
        if (successMustBeOne && probe.SuccessThreshold is { } success and > 0 and not 1)
        {
            errors.Add(FieldError.Invalid($"{path}.successThreshold", success, "must be 1"));
        }

        if (probe.TerminationGracePeriodSeconds is { } grace and <= 0)
        {
            errors.Add(FieldError.Invalid($"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"));
        }
    }

    /// <summary>The handlers probes and hooks share (Kubernetes' validateHandler); returns how many are set.</summary>
    private static int ValidateHandler(ExecAction? execAction, HttpGetAction? httpGet, TcpSocketAction? tcpSocket, string path, List<FieldError> errors)
    {
        var handlers = 0;
        if (execAction is { } exec)
        {
            handlers++;
            if (exec.Command is not { Count: > 0 })
            {
                errors.Add(FieldError.Required($"{path}.exec.command"));
            }
        }

        if (httpGet is { } http)
        {
            if (handlers++ > 0)
            {
                errors.Add(FieldError.Forbidden($"{path}.httpGet", "may not specify more than 1 handler type"));
            }
            else
            {
                if (string.IsNullOrEmpty(http.Path))
                {
                    errors.Add(FieldError.Required($"{path}.httpGet.path"));
                }

                ValidatePortNumberOrName(http.Port, $"{path}.httpGet.port", errors);
                if (http.Scheme is { Length: > 0 } scheme && !Schemes.Contains(scheme))
                {
                    errors.Add(FieldError.NotSupported($"{path}.httpGet.scheme", scheme, Schemes));
                }
            }
        }

        if (tcpSocket is { } tcp)
        {
            if (handlers++ > 0)
            {
                errors.Add(FieldError.Forbidden($"{path}.tcpSocket", "may not specify more than 1 handler type"));
            }
            else
            {
                ValidatePortNumberOrName(tcp.Port, $"{path}.tcpSocket.port", errors);
            }
        }

        return handlers;
    }

    private static void NonNegative(int? value, string path, List<FieldError> errors)
    {
        if (value is < 0)
        {
            errors.Add(FieldError.Invalid(path, value.Value, "must be greater than or equal to 0"));
        }
    }

    private static void AtLeastOne(int? value, string path, List<FieldError> errors)
    {
        if (value is < 0)
        {
            errors.Add(FieldError.Invalid(path, value.Value, "must be greater than or equal to 0"));
        }
        else if (value is 0)
        {
            errors.Add(FieldError.Invalid(path, 0, "must be greater than or equal to 1"));
        }
    }

    /// <summary>A port given as a number (1-65535) or as a port name.</summary>
    public static void ValidatePortNumberOrName(IntOrString port, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (port.IsString)
        {
            foreach (var message in NameValidation.IsValidPortName(port.StringValue))
            {
                errors.Add(FieldError.Invalid(path, port.StringValue, message));
            }
        }
        else
        {
            foreach (var message in NameValidation.IsValidPortNumber(port.IntValue))
            {
                errors.Add(FieldError.Invalid(path, port.IntValue, message));
            }
        }
    }

    /// <summary>A taint effect: NoSchedule, PreferNoSchedule or NoExecute (empty allowed where it means "any").</summary>
    public static void ValidateTaintEffect(string? effect, bool allowEmpty, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrEmpty(effect))
        {
            if (!allowEmpty)
            {
                errors.Add(FieldError.Required(path));
            }

            return;
        }

        if (!TaintEffects.Contains(effect))
        {
            errors.Add(FieldError.NotSupported(path, effect, TaintEffects));
        }
    }

    private static void ValidateTolerations(List<Toleration>? tolerations, string path, List<FieldError> errors)
    {
        for (var i = 0; i < (tolerations?.Count ?? 0); i++)
        {
            var toleration = tolerations![i];
            var itemPath = $"{path}[{i}]";
            var key = toleration.Key ?? "";
            var op = toleration.Operator ?? "";
            if (key.Length > 0)
            {
                foreach (var message in NameValidation.IsQualifiedName(key))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.key", key, message));
                }
            }

            if (key.Length == 0 && op != "Exists")
            {
                errors.Add(FieldError.Invalid($"{itemPath}.operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
            }

            if (toleration.TolerationSeconds is not null && toleration.Effect != "NoExecute")
            {
                errors.Add(FieldError.Invalid($"{itemPath}.effect", toleration.Effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
            }

            switch (op)
            {
                case "Equal" or "":
                    var messages = NameValidation.IsValidLabelValue(toleration.Value ?? "");
                    if (messages.Count > 0)
                    {
                        errors.Add(FieldError.Invalid($"{itemPath}.operator", toleration.Value ?? "", string.Join(";", messages)));
                    }

                    break;
                case "Exists":
                    if (!string.IsNullOrEmpty(toleration.Value))
                    {
                        errors.Add(FieldError.Invalid($"{itemPath}.operator", toleration.Value, "value must be empty when `operator` is 'Exists'"));
                    }

                    break;
                default:
                    errors.Add(FieldError.NotSupported($"{itemPath}.operator", op, TolerationOperators));
                    break;
            }

            ValidateTaintEffect(toleration.Effect, allowEmpty: true, $"{itemPath}.effect", errors);
        }
    }

    private static void ValidateAffinity(Affinity? affinity, string path, List<FieldError> errors)
    {
        if (affinity is null)
        {
            return;
        }

        if (affinity.NodeAffinity is { } nodeAffinity)
        {
            var nodePath = $"{path}.nodeAffinity";
            if (nodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution is { } required)
            {
                var requiredPath = $"{nodePath}.requiredDuringSchedulingIgnoredDuringExecution";
                if (required.NodeSelectorTerms is not { Count: > 0 })
                {
                    errors.Add(FieldError.Required($"{requiredPath}.nodeSelectorTerms", "must have at least one node selector term"));
                }

                for (var i = 0; i < (required.NodeSelectorTerms?.Count ?? 0); i++)
                {
                    ValidateNodeSelectorTerm(required.NodeSelectorTerms![i], $"{requiredPath}.nodeSelectorTerms[{i}]", errors);
                }
            }

            for (var i = 0; i < (nodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution?.Count ?? 0); i++)
            {
                var term = nodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution![i];
                var termPath = $"{nodePath}.preferredDuringSchedulingIgnoredDuringExecution[{i}]";
                ValidateWeight(term.Weight, $"{termPath}.weight", errors);
                ValidateNodeSelectorTerm(term.Preference, $"{termPath}.preference", errors);
            }
        }

        ValidatePodAffinity(affinity.PodAffinity, $"{path}.podAffinity", errors);
        ValidatePodAffinity(affinity.PodAntiAffinity, $"{path}.podAntiAffinity", errors);
    }

    private static void ValidateWeight(int weight, string path, List<FieldError> errors)
    {
        if (weight is <= 0 or > 100)
        {
            errors.Add(FieldError.Invalid(path, weight, "must be in the range 1-100"));
        }
    }

    private static void ValidateNodeSelectorTerm(NodeSelectorTerm? term, string path, List<FieldError> errors)
    {
        if (term is null)
        {
            return;
        }

        for (var i = 0; i < (term.MatchExpressions?.Count ?? 0); i++)
        {
            ValidateNodeSelectorRequirement(term.MatchExpressions![i], $"{path}.matchExpressions[{i}]", errors, isField: false);
        }

        for (var i = 0; i < (term.MatchFields?.Count ?? 0); i++)
        {
            ValidateNodeSelectorRequirement(term.MatchFields![i], $"{path}.matchFields[{i}]", errors, isField: true);
        }
    }

    private static void ValidateNodeSelectorRequirement(NodeSelectorRequirement requirement, string path, List<FieldError> errors, bool isField)
    {
        var count = requirement.Values?.Count ?? 0;
        switch (requirement.Operator)
        {
            case "In" or "NotIn":
                if (count == 0)
                {
                    errors.Add(FieldError.Required($"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"));
                }

                break;
            case "Exists" or "DoesNotExist":
                if (count > 0)
                {
                    errors.Add(FieldError.Forbidden($"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
                }

                break;
            case "Gt" or "Lt":
                if (count != 1)
                {
                    errors.Add(FieldError.Required($"{path}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'"));
                }

                break;
            default:
                errors.Add(FieldError.NotSupported($"{path}.operator", requirement.Operator, NodeSelectorOperators));
                break;
        }

        if (isField)
        {
            if (requirement.Key != "metadata.name")
            {
                errors.Add(FieldError.NotSupported($"{path}.key", requirement.Key, ["metadata.name"]));
            }
        }
        else
        {
            foreach (var message in NameValidation.IsQualifiedName(requirement.Key))
            {
                errors.Add(FieldError.Invalid($"{path}.key", requirement.Key, message));
            }
        }
    }

    private static void ValidatePodAffinity(PodAffinity? affinity, string path, List<FieldError> errors)
    {
        if (affinity is null)
        {
            return;
        }

        for (var i = 0; i < (affinity.RequiredDuringSchedulingIgnoredDuringExecution?.Count ?? 0); i++)
        {
            ValidatePodAffinityTerm(affinity.RequiredDuringSchedulingIgnoredDuringExecution![i], $"{path}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", errors);
        }

        for (var i = 0; i < (affinity.PreferredDuringSchedulingIgnoredDuringExecution?.Count ?? 0); i++)
        {
            var weighted = affinity.PreferredDuringSchedulingIgnoredDuringExecution![i];
            var termPath = $"{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]";
            ValidateWeight(weighted.Weight, $"{termPath}.weight", errors);
            ValidatePodAffinityTerm(weighted.PodAffinityTerm, $"{termPath}.podAffinityTerm", errors);
        }
    }

    private static void ValidatePodAffinityTerm(PodAffinityTerm term, string path, List<FieldError> errors)
    {
        SelectorValidation.ValidateLabelSelector(term.LabelSelector, $"{path}.labelSelector", errors);
        foreach (var ns in term.Namespaces ?? [])
        {
            foreach (var message in NameValidation.IsDns1123Label(ns))
            {
                errors.Add(FieldError.Invalid($"{path}.namespace", ns, message));
            }
        }

        if (string.IsNullOrEmpty(term.TopologyKey))
        {
            errors.Add(FieldError.Required($"{path}.topologyKey", "can not be empty"));
        }
        else
        {
            foreach (var message in NameValidation.IsQualifiedName(term.TopologyKey))
            {
                errors.Add(FieldError.Invalid($"{path}.topologyKey", term.TopologyKey, message));
            }
        }
    }

    private static void ValidateTopologySpreadConstraints(List<TopologySpreadConstraint>? constraints, string path, List<FieldError> errors)
    {
        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < (constraints?.Count ?? 0); i++)
        {
            var constraint = constraints![i];
            var itemPath = $"{path}[{i}]";
            if (constraint.MaxSkew <= 0)
            {
                errors.Add(FieldError.Invalid($"{itemPath}.maxSkew", constraint.MaxSkew, "must be greater than zero"));
            }

            if (string.IsNullOrEmpty(constraint.TopologyKey))
            {
                errors.Add(FieldError.Required($"{itemPath}.topologyKey", "can not be empty"));
            }
            else
            {
                foreach (var message in NameValidation.IsQualifiedName(constraint.TopologyKey))
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.topologyKey", constraint.TopologyKey, message));
                }
            }

            if (!SpreadActions.Contains(constraint.WhenUnsatisfiable))
            {
                errors.Add(FieldError.NotSupported($"{itemPath}.whenUnsatisfiable", constraint.WhenUnsatisfiable, SpreadActions));
            }

            if (!seen.Add((constraint.TopologyKey, constraint.WhenUnsatisfiable)))
            {
                errors.Add(FieldError.Duplicate($"{itemPath}.{{topologyKey, whenUnsatisfiable}}", new GoValue($"{{{constraint.TopologyKey}, {constraint.WhenUnsatisfiable}}}")));
            }

            if (constraint.MinDomains is { } minDomains)
            {
                if (minDomains <= 0)
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.minDomains", minDomains, "must be greater than zero"));
                }

                if (constraint.WhenUnsatisfiable != "DoNotSchedule")
                {
                    errors.Add(FieldError.Invalid($"{itemPath}.minDomains", minDomains, $"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {constraint.WhenUnsatisfiable}"));
                }
            }

            ValidateNodeInclusionPolicy(constraint.NodeAffinityPolicy, $"{itemPath}.nodeAffinityPolicy", errors);
            ValidateNodeInclusionPolicy(constraint.NodeTaintsPolicy, $"{itemPath}.nodeTaintsPolicy", errors);
            ValidateMatchLabelKeys(constraint.MatchLabelKeys, constraint.LabelSelector, $"{itemPath}.matchLabelKeys", errors);
            SelectorValidation.ValidateLabelSelector(constraint.LabelSelector, $"{itemPath}.labelSelector", errors);
        }
    }

    private static void ValidateNodeInclusionPolicy(string? policy, string path, List<FieldError> errors)
    {
        if (policy is not null && !NodeInclusionPolicies.Contains(policy))
        {
            errors.Add(FieldError.NotSupported(path, policy, NodeInclusionPolicies));
        }
    }

    /// <summary>
    /// Kubernetes v1.32's ValidateMatchLabelKeysInTopologySpread: the keys need a labelSelector to be ANDed with, must
    /// be label names, and must not be keys the labelSelector already names.
    /// </summary>
    private static void ValidateMatchLabelKeys(List<string>? keys, LabelSelector? selector, string path, List<FieldError> errors)
    {
        if (keys is not { Count: > 0 })
        {
            return;
        }

        var selectorKeys = new HashSet<string>(StringComparer.Ordinal);
        if (selector is null)
        {
            errors.Add(FieldError.Forbidden(path, "must not be specified when labelSelector is not set"));
        }
        else
        {
            selectorKeys.UnionWith(selector.MatchLabels?.Keys.AsEnumerable() ?? []);
            selectorKeys.UnionWith(selector.MatchExpressions?.Select(e => e.Key) ?? []);
        }

        for (var i = 0; i < keys.Count; i++)
        {
            foreach (var message in NameValidation.IsQualifiedName(keys[i]))
            {
                errors.Add(FieldError.Invalid($"{path}[{i}]", keys[i], message));
            }

            if (selectorKeys.Contains(keys[i]))
            {
                errors.Add(FieldError.Invalid($"{path}[{i}]", keys[i], "exists in both matchLabelKeys and labelSelector"));
            }
        }
    }
}
