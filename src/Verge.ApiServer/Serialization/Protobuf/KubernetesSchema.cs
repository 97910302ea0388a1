using System.Collections.Frozen;

namespace Verge.ApiServer.Serialization.Protobuf;

/// <summary>
/// The protobuf messages of the kinds whose bodies Verge accepts in <c>application/vnd.kubernetes.protobuf</c>, with
/// field numbers from Kubernetes' generated.proto files (k8s.io/api core/v1 and apps/v1, k8s.io/apimachinery meta/v1,
/// api/resource and util/intstr) and JSON names and presence from the Go types behind them. Field numbers not listed
/// here are skipped as protobuf does, and reported to the caller.
/// </summary>
internal static class KubernetesSchema
{
    /// <summary>Keep zero values in JSON: the Go field is a pointer or has no <c>omitempty</c>.</summary>
    private const bool Keep = true;

    private static readonly Dictionary<string, ProtoMessage> Defined = [];

    static KubernetesSchema()
    {
        DefineMeta();
        DefineCore();
        DefinePodSpec();
        DefineVolumes();
        DefinePodStatus();
        DefineApps();
        DefinePolicyAndScheduling();
        Messages = Defined.ToFrozenDictionary();
        foreach (var message in Messages.Values)
        {
            foreach (var field in message.Fields.Values.Where(f => f.MessageName is not null))
            {
                field.Message = Messages.TryGetValue(field.MessageName!, out var nested)
                    ? nested
                    : throw new InvalidOperationException($"{message.Name}.{field.JsonName} refers to undefined message {field.MessageName}");
            }
        }

        Kinds = new Dictionary<(string, string), ProtoMessage>
        {
            [("v1", "Namespace")] = Messages["Namespace"],
            [("v1", "ConfigMap")] = Messages["ConfigMap"],
            [("v1", "Secret")] = Messages["Secret"],
            [("v1", "Pod")] = Messages["Pod"],
            [("apps/v1", "Deployment")] = Messages["Deployment"],
            [("apps/v1", "ReplicaSet")] = Messages["ReplicaSet"],
            [("apps/v1", "DaemonSet")] = Messages["DaemonSet"],
            [("autoscaling/v1", "Scale")] = Messages["Scale"],
            [("policy/v1", "Eviction")] = Messages["Eviction"],
            [("policy/v1", "PodDisruptionBudget")] = Messages["PodDisruptionBudget"],
            [("scheduling.k8s.io/v1", "PriorityClass")] = Messages["PriorityClass"],
        }.ToFrozenDictionary();
    }

    /// <summary>
    /// The message of a kind: one of <see cref="Kinds"/>, or DeleteOptions, which Kubernetes registers in every group
    /// version (a client encodes it with the apiVersion of the resource it deletes).
    /// </summary>
    public static ProtoMessage? MessageOf(string apiVersion, string kind) =>
        kind == "DeleteOptions" ? Messages["DeleteOptions"] : Kinds.GetValueOrDefault((apiVersion, kind));

    /// <summary>Every message, by name.</summary>
    public static FrozenDictionary<string, ProtoMessage> Messages { get; }

    /// <summary>The top-level message of each (apiVersion, kind) that can be decoded.</summary>
    public static FrozenDictionary<(string ApiVersion, string Kind), ProtoMessage> Kinds { get; }

    private static void DefineMeta()
    {
        Add("ObjectMeta",
            Str(1, "name"),
            Str(2, "generateName"),
            Str(3, "namespace"),
            Str(4, "selfLink"),
            Str(5, "uid"),
            Str(6, "resourceVersion"),
            I64(7, "generation"),
            Time(8, "creationTimestamp"),
            Time(9, "deletionTimestamp"),
            I64(10, "deletionGracePeriodSeconds", Keep),
            StrMap(11, "labels"),
            StrMap(12, "annotations"),
            Msgs(13, "ownerReferences", "OwnerReference"),
            Strs(14, "finalizers"),
            Msgs(17, "managedFields", "ManagedFieldsEntry"));
        Add("OwnerReference",
            Str(5, "apiVersion", Keep),
            Str(1, "kind", Keep),
            Str(3, "name", Keep),
            Str(4, "uid", Keep),
            Bool(6, "controller", Keep),
            Bool(7, "blockOwnerDeletion", Keep));
        Add("ManagedFieldsEntry",
            Str(1, "manager"),
            Str(2, "operation"),
            Str(3, "apiVersion"),
            Time(4, "time"),
            Str(6, "fieldsType"),
            FieldsV1(7, "fieldsV1"),
            Str(8, "subresource"));
        Add("LabelSelector",
            StrMap(1, "matchLabels"),
            Msgs(2, "matchExpressions", "LabelSelectorRequirement"));
        Add("LabelSelectorRequirement",
            Str(1, "key", Keep),
            Str(2, "operator", Keep),
            Strs(3, "values"));
    }

    private static void DefineCore()
    {
        Add("Namespace",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "NamespaceSpec"),
            Msg(3, "status", "NamespaceStatus"));
        Add("NamespaceSpec",
            Strs(1, "finalizers"));
        Add("NamespaceStatus",
            Str(1, "phase"),
            Msgs(2, "conditions", "NamespaceCondition"));
        Add("NamespaceCondition",
            Str(1, "type", Keep),
            Str(2, "status", Keep),
            Time(4, "lastTransitionTime"),
            Str(5, "reason"),
            Str(6, "message"));

        Add("ConfigMap",
            Msg(1, "metadata", "ObjectMeta"),
            Bool(4, "immutable", Keep),
            StrMap(2, "data"),
            BytesMap(3, "binaryData"));

        Add("Secret",
            Msg(1, "metadata", "ObjectMeta"),
            Bool(5, "immutable", Keep),
            BytesMap(2, "data"),
            StrMap(4, "stringData"),
            Str(3, "type"));

        Add("Pod",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "PodSpec"),
            Msg(3, "status", "PodStatus"));
        Add("PodTemplateSpec",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "PodSpec"));

        Add("Scale",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "ScaleSpec"),
            Msg(3, "status", "ScaleStatus"));
        Add("ScaleSpec",
            I32(1, "replicas"));
        Add("ScaleStatus",
            I32(1, "replicas", Keep),
            Str(2, "selector"));
    }

    private static void DefinePodSpec()
    {
        Add("PodSpec",
            Msgs(1, "volumes", "Volume"),
            Msgs(20, "initContainers", "Container"),
            Msgs(2, "containers", "Container"),
            Msgs(34, "ephemeralContainers", "EphemeralContainer"),
            Str(3, "restartPolicy"),
            I64(4, "terminationGracePeriodSeconds", Keep),
            I64(5, "activeDeadlineSeconds", Keep),
            Str(6, "dnsPolicy"),
            StrMap(7, "nodeSelector"),
            Str(8, "serviceAccountName"),
            Str(9, "serviceAccount"),
            Bool(21, "automountServiceAccountToken", Keep),
            Str(10, "nodeName"),
            Bool(11, "hostNetwork"),
            Bool(12, "hostPID"),
            Bool(13, "hostIPC"),
            Bool(27, "shareProcessNamespace", Keep),
            Msg(14, "securityContext", "PodSecurityContext"),
            Msgs(15, "imagePullSecrets", "LocalObjectReference"),
            Str(16, "hostname"),
            Str(17, "subdomain"),
            Msg(18, "affinity", "Affinity"),
            Str(19, "schedulerName"),
            Msgs(22, "tolerations", "Toleration"),
            Msgs(23, "hostAliases", "HostAlias"),
            Str(24, "priorityClassName"),
            I32(25, "priority", Keep),
            Msg(26, "dnsConfig", "PodDNSConfig"),
            Msgs(28, "readinessGates", "PodReadinessGate"),
            Str(29, "runtimeClassName", Keep),
            Bool(30, "enableServiceLinks", Keep),
            Str(31, "preemptionPolicy", Keep),
            QtyMap(32, "overhead"),
            Msgs(33, "topologySpreadConstraints", "TopologySpreadConstraint"),
            Bool(35, "setHostnameAsFQDN", Keep),
            Msg(36, "os", "PodOS"),
            Bool(37, "hostUsers", Keep),
            Msgs(38, "schedulingGates", "PodSchedulingGate"),
            Msgs(39, "resourceClaims", "PodResourceClaim"),
            Msg(40, "resources", "ResourceRequirements"),
            Str(41, "hostnameOverride", Keep),
            Msg(42, "workloadRef", "WorkloadReference"));

        Add("Container",
            Str(1, "name", Keep),
            Str(2, "image"),
            Strs(3, "command"),
            Strs(4, "args"),
            Str(5, "workingDir"),
            Msgs(6, "ports", "ContainerPort"),
            Msgs(19, "envFrom", "EnvFromSource"),
            Msgs(7, "env", "EnvVar"),
            Msg(8, "resources", "ResourceRequirements"),
            Msgs(23, "resizePolicy", "ContainerResizePolicy"),
            Str(24, "restartPolicy", Keep),
            Msgs(25, "restartPolicyRules", "ContainerRestartRule"),
            Msgs(9, "volumeMounts", "VolumeMount"),
            Msgs(21, "volumeDevices", "VolumeDevice"),
            Msg(10, "livenessProbe", "Probe"),
            Msg(11, "readinessProbe", "Probe"),
            Msg(22, "startupProbe", "Probe"),
            Msg(12, "lifecycle", "Lifecycle"),
            Str(13, "terminationMessagePath"),
            Str(20, "terminationMessagePolicy"),
            Str(14, "imagePullPolicy"),
            Msg(15, "securityContext", "SecurityContext"),
            Bool(16, "stdin"),
            Bool(17, "stdinOnce"),
            Bool(18, "tty"));
        Add("EphemeralContainer",
            Inline(1, "Container"),
            Str(2, "targetContainerName"));
        Add("ContainerPort",
            Str(1, "name"),
            I32(2, "hostPort"),
            I32(3, "containerPort", Keep),
            Str(4, "protocol"),
            Str(5, "hostIP"));
        Add("ContainerResizePolicy",
            Str(1, "resourceName", Keep),
            Str(2, "restartPolicy", Keep));
        Add("ContainerRestartRule",
            Str(1, "action", Keep),
            Msg(2, "exitCodes", "ContainerRestartRuleOnExitCodes"));
        Add("ContainerRestartRuleOnExitCodes",
            Str(1, "operator", Keep),
            I32s(2, "values"));
        Add("EnvFromSource",
            Str(1, "prefix"),
            Msg(2, "configMapRef", "ConfigMapEnvSource"),
            Msg(3, "secretRef", "SecretEnvSource"));
        Add("ConfigMapEnvSource",
            Inline(1, "LocalObjectReference"),
            Bool(2, "optional", Keep));
        Add("SecretEnvSource",
            Inline(1, "LocalObjectReference"),
            Bool(2, "optional", Keep));
        Add("EnvVar",
            Str(1, "name", Keep),
            Str(2, "value"),
            Msg(3, "valueFrom", "EnvVarSource"));
        Add("EnvVarSource",
            Msg(1, "fieldRef", "ObjectFieldSelector"),
            Msg(2, "resourceFieldRef", "ResourceFieldSelector"),
            Msg(3, "configMapKeyRef", "ConfigMapKeySelector"),
            Msg(4, "secretKeyRef", "SecretKeySelector"),
            Msg(5, "fileKeyRef", "FileKeySelector"));
        Add("ObjectFieldSelector",
            Str(1, "apiVersion"),
            Str(2, "fieldPath", Keep));
        Add("ResourceFieldSelector",
            Str(1, "containerName"),
            Str(2, "resource", Keep),
            Qty(3, "divisor"));
        Add("ConfigMapKeySelector",
            Inline(1, "LocalObjectReference"),
            Str(2, "key", Keep),
            Bool(3, "optional", Keep));
        Add("SecretKeySelector",
            Inline(1, "LocalObjectReference"),
            Str(2, "key", Keep),
            Bool(3, "optional", Keep));
        Add("FileKeySelector",
            Str(1, "volumeName", Keep),
            Str(2, "path", Keep),
            Str(3, "key", Keep),
            Bool(4, "optional", Keep));
        Add("LocalObjectReference",
            Str(1, "name"));
        Add("ResourceRequirements",
            QtyMap(1, "limits"),
            QtyMap(2, "requests"),
            Msgs(3, "claims", "ResourceClaim"));
        Add("ResourceClaim",
            Str(1, "name", Keep),
            Str(2, "request"));
        Add("VolumeMount",
            Str(1, "name", Keep),
            Bool(2, "readOnly"),
            Str(7, "recursiveReadOnly", Keep),
            Str(3, "mountPath", Keep),
            Str(4, "subPath"),
            Str(5, "mountPropagation", Keep),
            Str(6, "subPathExpr"));
        Add("VolumeDevice",
            Str(1, "name", Keep),
            Str(2, "devicePath", Keep));

        Add("Probe",
            Inline(1, "ProbeHandler"),
            I32(2, "initialDelaySeconds"),
            I32(3, "timeoutSeconds"),
            I32(4, "periodSeconds"),
            I32(5, "successThreshold"),
            I32(6, "failureThreshold"),
            I64(7, "terminationGracePeriodSeconds", Keep));
        Add("ProbeHandler",
            Msg(1, "exec", "ExecAction"),
            Msg(2, "httpGet", "HTTPGetAction"),
            Msg(3, "tcpSocket", "TCPSocketAction"),
            Msg(4, "grpc", "GRPCAction"));
        Add("Lifecycle",
            Msg(1, "postStart", "LifecycleHandler"),
            Msg(2, "preStop", "LifecycleHandler"),
            Str(3, "stopSignal", Keep));
        Add("LifecycleHandler",
            Msg(1, "exec", "ExecAction"),
            Msg(2, "httpGet", "HTTPGetAction"),
            Msg(3, "tcpSocket", "TCPSocketAction"),
            Msg(4, "sleep", "SleepAction"));
        Add("ExecAction",
            Strs(1, "command"));
        Add("HTTPGetAction",
            Str(1, "path"),
            IntOrStr(2, "port"),
            Str(3, "host"),
            Str(4, "scheme"),
            Msgs(5, "httpHeaders", "HTTPHeader"));
        Add("HTTPHeader",
            Str(1, "name", Keep),
            Str(2, "value", Keep));
        Add("TCPSocketAction",
            IntOrStr(1, "port"),
            Str(2, "host"));
        Add("GRPCAction",
            I32(1, "port", Keep),
            Str(2, "service", Keep));
        Add("SleepAction",
            I64(1, "seconds", Keep));

        Add("SecurityContext",
            Msg(1, "capabilities", "Capabilities"),
            Bool(2, "privileged", Keep),
            Msg(3, "seLinuxOptions", "SELinuxOptions"),
            Msg(10, "windowsOptions", "WindowsSecurityContextOptions"),
            I64(4, "runAsUser", Keep),
            I64(8, "runAsGroup", Keep),
            Bool(5, "runAsNonRoot", Keep),
            Bool(6, "readOnlyRootFilesystem", Keep),
            Bool(7, "allowPrivilegeEscalation", Keep),
            Str(9, "procMount", Keep),
            Msg(11, "seccompProfile", "SeccompProfile"),
            Msg(12, "appArmorProfile", "AppArmorProfile"),
            Msgs(13, "ulimits", "Ulimit"));
        Add("PodSecurityContext",
            Msg(1, "seLinuxOptions", "SELinuxOptions"),
            Msg(8, "windowsOptions", "WindowsSecurityContextOptions"),
            I64(2, "runAsUser", Keep),
            I64(6, "runAsGroup", Keep),
            Bool(3, "runAsNonRoot", Keep),
            I64s(4, "supplementalGroups"),
            Str(12, "supplementalGroupsPolicy", Keep),
            I64(5, "fsGroup", Keep),
            Msgs(7, "sysctls", "Sysctl"),
            Str(9, "fsGroupChangePolicy", Keep),
            Msg(10, "seccompProfile", "SeccompProfile"),
            Msg(11, "appArmorProfile", "AppArmorProfile"),
            Str(13, "seLinuxChangePolicy", Keep));
        Add("Capabilities",
            Strs(1, "add"),
            Strs(2, "drop"));
        Add("SELinuxOptions",
            Str(1, "user"),
            Str(2, "role"),
            Str(3, "type"),
            Str(4, "level"));
        Add("WindowsSecurityContextOptions",
            Str(1, "gmsaCredentialSpecName", Keep),
            Str(2, "gmsaCredentialSpec", Keep),
            Str(3, "runAsUserName", Keep),
            Bool(4, "hostProcess", Keep));
        Add("SeccompProfile",
            Str(1, "type", Keep),
            Str(2, "localhostProfile", Keep));
        Add("AppArmorProfile",
            Str(1, "type", Keep),
            Str(2, "localhostProfile", Keep));
        Add("Ulimit",
            Str(1, "name", Keep),
            I64(2, "hard", Keep),
            I64(3, "soft", Keep));
        Add("Sysctl",
            Str(1, "name", Keep),
            Str(2, "value", Keep));
    }

    private static void DefineVolumes()
    {
        Add("Affinity",
            Msg(1, "nodeAffinity", "NodeAffinity"),
            Msg(2, "podAffinity", "PodAffinity"),
            Msg(3, "podAntiAffinity", "PodAffinity"));
        Add("NodeAffinity",
            Msg(1, "requiredDuringSchedulingIgnoredDuringExecution", "NodeSelector"),
            Msgs(2, "preferredDuringSchedulingIgnoredDuringExecution", "PreferredSchedulingTerm"));
        Add("NodeSelector",
            Msgs(1, "nodeSelectorTerms", "NodeSelectorTerm"));
        Add("NodeSelectorTerm",
            Msgs(1, "matchExpressions", "NodeSelectorRequirement"),
            Msgs(2, "matchFields", "NodeSelectorRequirement"));
        Add("NodeSelectorRequirement",
            Str(1, "key", Keep),
            Str(2, "operator", Keep),
            Strs(3, "values"));
        Add("PreferredSchedulingTerm",
            I32(1, "weight", Keep),
            Msg(2, "preference", "NodeSelectorTerm"));
        Add("PodAffinity",
            Msgs(1, "requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm"),
            Msgs(2, "preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm"));
        Add("PodAffinityTerm",
            Msg(1, "labelSelector", "LabelSelector"),
            Strs(2, "namespaces"),
            Str(3, "topologyKey", Keep),
            Msg(4, "namespaceSelector", "LabelSelector"),
            Strs(5, "matchLabelKeys"),
            Strs(6, "mismatchLabelKeys"));
        Add("WeightedPodAffinityTerm",
            I32(1, "weight", Keep),
            Msg(2, "podAffinityTerm", "PodAffinityTerm"));
        Add("Toleration",
            Str(1, "key"),
            Str(2, "operator"),
            Str(3, "value"),
            Str(4, "effect"),
            I64(5, "tolerationSeconds", Keep));
        Add("HostAlias",
            Str(1, "ip", Keep),
            Strs(2, "hostnames"));
        Add("PodDNSConfig",
            Strs(1, "nameservers"),
            Strs(2, "searches"),
            Msgs(3, "options", "PodDNSConfigOption"));
        Add("PodDNSConfigOption",
            Str(1, "name"),
            Str(2, "value", Keep));
        Add("PodReadinessGate",
            Str(1, "conditionType", Keep));
        Add("TopologySpreadConstraint",
            I32(1, "maxSkew", Keep),
            Str(2, "topologyKey", Keep),
            Str(3, "whenUnsatisfiable", Keep),
            Msg(4, "labelSelector", "LabelSelector"),
            I32(5, "minDomains", Keep),
            Str(6, "nodeAffinityPolicy", Keep),
            Str(7, "nodeTaintsPolicy", Keep),
            Strs(8, "matchLabelKeys"));
        Add("PodOS",
            Str(1, "name", Keep));
        Add("PodSchedulingGate",
            Str(1, "name", Keep));
        Add("PodResourceClaim",
            Str(1, "name", Keep),
            Str(3, "resourceClaimName", Keep),
            Str(4, "resourceClaimTemplateName", Keep));
        Add("WorkloadReference",
            Str(1, "name", Keep),
            Str(2, "podGroup", Keep),
            Str(3, "podGroupReplicaKey"));

        Add("Volume",
            Str(1, "name", Keep),
            Inline(2, "VolumeSource"));
        Add("VolumeSource",
            Msg(1, "hostPath", "HostPathVolumeSource"),
            Msg(2, "emptyDir", "EmptyDirVolumeSource"),
            Msg(6, "secret", "SecretVolumeSource"),
            Msg(7, "nfs", "NFSVolumeSource"),
            Msg(10, "persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"),
            Msg(16, "downwardAPI", "DownwardAPIVolumeSource"),
            Msg(19, "configMap", "ConfigMapVolumeSource"),
            Msg(26, "projected", "ProjectedVolumeSource"),
            Msg(28, "csi", "CSIVolumeSource"),
            Msg(30, "image", "ImageVolumeSource"));
        Add("HostPathVolumeSource",
            Str(1, "path", Keep),
            Str(2, "type", Keep));
        Add("EmptyDirVolumeSource",
            Str(1, "medium"),
            Qty(2, "sizeLimit"));
        Add("SecretVolumeSource",
            Str(1, "secretName"),
            Msgs(2, "items", "KeyToPath"),
            I32(3, "defaultMode", Keep),
            Bool(4, "optional", Keep));
        Add("ConfigMapVolumeSource",
            Inline(1, "LocalObjectReference"),
            Msgs(2, "items", "KeyToPath"),
            I32(3, "defaultMode", Keep),
            Bool(4, "optional", Keep));
        Add("KeyToPath",
            Str(1, "key", Keep),
            Str(2, "path", Keep),
            I32(3, "mode", Keep));
        Add("NFSVolumeSource",
            Str(1, "server", Keep),
            Str(2, "path", Keep),
            Bool(3, "readOnly"));
        Add("PersistentVolumeClaimVolumeSource",
            Str(1, "claimName", Keep),
            Bool(2, "readOnly"));
        Add("DownwardAPIVolumeSource",
            Msgs(1, "items", "DownwardAPIVolumeFile"),
            I32(2, "defaultMode", Keep));
        Add("DownwardAPIVolumeFile",
            Str(1, "path", Keep),
            Msg(2, "fieldRef", "ObjectFieldSelector"),
            Msg(3, "resourceFieldRef", "ResourceFieldSelector"),
            I32(4, "mode", Keep));
        Add("ProjectedVolumeSource",
            Msgs(1, "sources", "VolumeProjection"),
            I32(2, "defaultMode", Keep));
        Add("VolumeProjection",
            Msg(1, "secret", "SecretProjection"),
            Msg(2, "downwardAPI", "DownwardAPIProjection"),
            Msg(3, "configMap", "ConfigMapProjection"),
            Msg(4, "serviceAccountToken", "ServiceAccountTokenProjection"),
            Msg(5, "clusterTrustBundle", "ClusterTrustBundleProjection"));
        Add("SecretProjection",
            Inline(1, "LocalObjectReference"),
            Msgs(2, "items", "KeyToPath"),
            Bool(4, "optional", Keep));
        Add("ConfigMapProjection",
            Inline(1, "LocalObjectReference"),
            Msgs(2, "items", "KeyToPath"),
            Bool(4, "optional", Keep));
        Add("DownwardAPIProjection",
            Msgs(1, "items", "DownwardAPIVolumeFile"));
        Add("ServiceAccountTokenProjection",
            Str(1, "audience"),
            I64(2, "expirationSeconds", Keep),
            Str(3, "path", Keep));
        Add("ClusterTrustBundleProjection",
            Str(1, "name", Keep),
            Str(2, "signerName", Keep),
            Msg(3, "labelSelector", "LabelSelector"),
            Bool(5, "optional", Keep),
            Str(4, "path", Keep));
        Add("CSIVolumeSource",
            Str(1, "driver", Keep),
            Bool(2, "readOnly", Keep),
            Str(3, "fsType", Keep),
            StrMap(4, "volumeAttributes"),
            Msg(5, "nodePublishSecretRef", "LocalObjectReference"));
        Add("ImageVolumeSource",
            Str(1, "reference"),
            Str(2, "pullPolicy"));
    }

    private static void DefinePodStatus()
    {
        Add("PodStatus",
            I64(17, "observedGeneration"),
            Str(1, "phase"),
            Msgs(2, "conditions", "PodCondition"),
            Str(3, "message"),
            Str(4, "reason"),
            Str(11, "nominatedNodeName"),
            Str(5, "hostIP"),
            Msgs(16, "hostIPs", "HostIP"),
            Str(6, "podIP"),
            Msgs(12, "podIPs", "PodIP"),
            Time(7, "startTime"),
            Msgs(10, "initContainerStatuses", "ContainerStatus"),
            Msgs(8, "containerStatuses", "ContainerStatus"),
            Str(9, "qosClass"),
            Msgs(13, "ephemeralContainerStatuses", "ContainerStatus"),
            Str(14, "resize"));
        Add("PodCondition",
            Str(1, "type", Keep),
            I64(7, "observedGeneration"),
            Str(2, "status", Keep),
            Time(3, "lastProbeTime"),
            Time(4, "lastTransitionTime"),
            Str(5, "reason"),
            Str(6, "message"));
        Add("PodIP",
            Str(1, "ip", Keep));
        Add("HostIP",
            Str(1, "ip", Keep));
        Add("ContainerStatus",
            Str(1, "name", Keep),
            Msg(2, "state", "ContainerState"),
            Msg(3, "lastState", "ContainerState"),
            Bool(4, "ready", Keep),
            I32(5, "restartCount", Keep),
            Str(6, "image", Keep),
            Str(7, "imageID", Keep),
            Str(8, "containerID"),
            Bool(9, "started", Keep),
            QtyMap(10, "allocatedResources"),
            Msg(11, "resources", "ResourceRequirements"),
            Msgs(12, "volumeMounts", "VolumeMountStatus"),
            Str(15, "stopSignal", Keep));
        Add("ContainerState",
            Msg(1, "waiting", "ContainerStateWaiting"),
            Msg(2, "running", "ContainerStateRunning"),
            Msg(3, "terminated", "ContainerStateTerminated"));
        Add("ContainerStateWaiting",
            Str(1, "reason"),
            Str(2, "message"));
        Add("ContainerStateRunning",
            Time(1, "startedAt"));
        Add("ContainerStateTerminated",
            I32(1, "exitCode", Keep),
            I32(2, "signal"),
            Str(3, "reason"),
            Str(4, "message"),
            Time(5, "startedAt"),
            Time(6, "finishedAt"),
            Str(7, "containerID"));
        Add("VolumeMountStatus",
            Str(1, "name", Keep),
            Str(2, "mountPath", Keep),
            Bool(3, "readOnly"),
            Str(4, "recursiveReadOnly", Keep));
    }

    private static void DefineApps()
    {
        Add("Deployment",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "DeploymentSpec"),
            Msg(3, "status", "DeploymentStatus"));
        Add("DeploymentSpec",
            I32(1, "replicas", Keep),
            Msg(2, "selector", "LabelSelector"),
            Msg(3, "template", "PodTemplateSpec"),
            Msg(4, "strategy", "DeploymentStrategy"),
            I32(5, "minReadySeconds"),
            I32(6, "revisionHistoryLimit", Keep),
            Bool(7, "paused"),
            I32(9, "progressDeadlineSeconds", Keep),
            Str(10, "podReplacementPolicy", Keep));
        Add("DeploymentStrategy",
            Str(1, "type"),
            Msg(2, "rollingUpdate", "RollingUpdateDeployment"));
        Add("RollingUpdateDeployment",
            IntOrStr(1, "maxUnavailable"),
            IntOrStr(2, "maxSurge"));
        Add("DeploymentStatus",
            I64(1, "observedGeneration"),
            I32(2, "replicas"),
            I32(3, "updatedReplicas"),
            I32(7, "readyReplicas"),
            I32(4, "availableReplicas"),
            I32(5, "unavailableReplicas"),
            I32(9, "terminatingReplicas", Keep),
            Msgs(6, "conditions", "DeploymentCondition"),
            I32(8, "collisionCount", Keep));
        Add("DeploymentCondition",
            Str(1, "type", Keep),
            Str(2, "status", Keep),
            Time(6, "lastUpdateTime"),
            Time(7, "lastTransitionTime"),
            Str(4, "reason"),
            Str(5, "message"));

        Add("ReplicaSet",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "ReplicaSetSpec"),
            Msg(3, "status", "ReplicaSetStatus"));
        Add("ReplicaSetSpec",
            I32(1, "replicas", Keep),
            I32(4, "minReadySeconds"),
            Msg(2, "selector", "LabelSelector"),
            Msg(3, "template", "PodTemplateSpec"));
        Add("ReplicaSetStatus",
            I32(1, "replicas", Keep),
            I32(2, "fullyLabeledReplicas"),
            I32(4, "readyReplicas"),
            I32(5, "availableReplicas"),
            I32(7, "terminatingReplicas", Keep),
            I64(3, "observedGeneration"),
            Msgs(6, "conditions", "ReplicaSetCondition"));
        Add("ReplicaSetCondition",
            Str(1, "type", Keep),
            Str(2, "status", Keep),
            Time(3, "lastTransitionTime"),
            Str(4, "reason"),
            Str(5, "message"));

        Add("DaemonSet",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "DaemonSetSpec"),
            Msg(3, "status", "DaemonSetStatus"));
        Add("DaemonSetSpec",
            Msg(1, "selector", "LabelSelector"),
            Msg(2, "template", "PodTemplateSpec"),
            Msg(3, "updateStrategy", "DaemonSetUpdateStrategy"),
            I32(4, "minReadySeconds"),
            I32(6, "revisionHistoryLimit", Keep));
        Add("DaemonSetUpdateStrategy",
            Str(1, "type"),
            Msg(2, "rollingUpdate", "RollingUpdateDaemonSet"));
        Add("RollingUpdateDaemonSet",
            IntOrStr(1, "maxUnavailable"),
            IntOrStr(2, "maxSurge"));
        Add("DaemonSetStatus",
            I32(1, "currentNumberScheduled", Keep),
            I32(2, "numberMisscheduled", Keep),
            I32(3, "desiredNumberScheduled", Keep),
            I32(4, "numberReady", Keep),
            I64(5, "observedGeneration"),
            I32(6, "updatedNumberScheduled"),
            I32(7, "numberAvailable"),
            I32(8, "numberUnavailable"),
            I32(9, "collisionCount", Keep),
            Msgs(10, "conditions", "DaemonSetCondition"));
        Add("DaemonSetCondition",
            Str(1, "type", Keep),
            Str(2, "status", Keep),
            Time(3, "lastTransitionTime"),
            Str(4, "reason"),
            Str(5, "message"));
    }

    /// <summary>meta/v1 DeleteOptions, policy/v1 Eviction (kubectl drain) and PodDisruptionBudget, and scheduling/v1 PriorityClass.</summary>
    private static void DefinePolicyAndScheduling()
    {
        Add("Preconditions",
            Str(1, "uid", Keep),
            Str(2, "resourceVersion", Keep));
        Add("DeleteOptions",
            I64(1, "gracePeriodSeconds", Keep),
            Msg(2, "preconditions", "Preconditions"),
            Bool(3, "orphanDependents", Keep),
            Str(4, "propagationPolicy", Keep),
            Strs(5, "dryRun"),
            Bool(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Keep));
        Add("Eviction",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "deleteOptions", "DeleteOptions"));
        Add("PriorityClass",
            Msg(1, "metadata", "ObjectMeta"),
            I32(2, "value", Keep),
            Bool(3, "globalDefault"),
            Str(4, "description"),
            Str(5, "preemptionPolicy", Keep));

        // kubectl create poddisruptionbudget. status.disruptedPods (a map of Times) is not read: a create resets the
        // status, and a client that sends one gets the unknown-field warning.
        Add("PodDisruptionBudget",
            Msg(1, "metadata", "ObjectMeta"),
            Msg(2, "spec", "PodDisruptionBudgetSpec"),
            Msg(3, "status", "PodDisruptionBudgetStatus"));
        Add("PodDisruptionBudgetSpec",
            IntOrStr(1, "minAvailable"),
            Msg(2, "selector", "LabelSelector"),
            IntOrStr(3, "maxUnavailable"),
            Str(4, "unhealthyPodEvictionPolicy"));
        Add("PodDisruptionBudgetStatus",
            I64(1, "observedGeneration"),
            I32(3, "disruptionsAllowed", Keep),
            I32(4, "currentHealthy", Keep),
            I32(5, "desiredHealthy", Keep),
            I32(6, "expectedPods", Keep),
            Msgs(7, "conditions", "Condition"));
        Add("Condition",
            Str(1, "type", Keep),
            Str(2, "status", Keep),
            I64(3, "observedGeneration"),
            Time(4, "lastTransitionTime"),
            Str(5, "reason", Keep),
            Str(6, "message", Keep));
    }

    private static void Add(string name, params ProtoField[] fields) => Defined.Add(name, new ProtoMessage(name, fields));

    private static ProtoField Str(int number, string json, bool keepZero = false) =>
        new(number, json, ProtoKind.String, repeated: false, keepZero, messageName: null);

    private static ProtoField Strs(int number, string json) =>
        new(number, json, ProtoKind.String, repeated: true, keepZero: true, messageName: null);

    private static ProtoField I32(int number, string json, bool keepZero = false) =>
        new(number, json, ProtoKind.Int32, repeated: false, keepZero, messageName: null);

    private static ProtoField I32s(int number, string json) =>
        new(number, json, ProtoKind.Int32, repeated: true, keepZero: true, messageName: null);

    private static ProtoField I64(int number, string json, bool keepZero = false) =>
        new(number, json, ProtoKind.Int64, repeated: false, keepZero, messageName: null);

    private static ProtoField I64s(int number, string json) =>
        new(number, json, ProtoKind.Int64, repeated: true, keepZero: true, messageName: null);

    private static ProtoField Bool(int number, string json, bool keepZero = false) =>
        new(number, json, ProtoKind.Bool, repeated: false, keepZero, messageName: null);

    private static ProtoField Msg(int number, string json, string message) =>
        new(number, json, ProtoKind.Message, repeated: false, keepZero: true, message);

    private static ProtoField Msgs(int number, string json, string message) =>
        new(number, json, ProtoKind.Message, repeated: true, keepZero: true, message);

    private static ProtoField Inline(int number, string message) =>
        new(number, "", ProtoKind.Inline, repeated: false, keepZero: true, message);

    private static ProtoField Time(int number, string json) =>
        new(number, json, ProtoKind.Time, repeated: false, keepZero: false, messageName: null);

    private static ProtoField IntOrStr(int number, string json) =>
        new(number, json, ProtoKind.IntOrString, repeated: false, keepZero: true, messageName: null);

    private static ProtoField Qty(int number, string json) =>
        new(number, json, ProtoKind.Quantity, repeated: false, keepZero: true, messageName: null);

    private static ProtoField StrMap(int number, string json) =>
        new(number, json, ProtoKind.StringMap, repeated: false, keepZero: true, messageName: null);

    private static ProtoField BytesMap(int number, string json) =>
        new(number, json, ProtoKind.BytesMap, repeated: false, keepZero: true, messageName: null);

    private static ProtoField QtyMap(int number, string json) =>
        new(number, json, ProtoKind.QuantityMap, repeated: false, keepZero: true, messageName: null);

    private static ProtoField FieldsV1(int number, string json) =>
        new(number, json, ProtoKind.FieldsV1, repeated: false, keepZero: false, messageName: null);
}
