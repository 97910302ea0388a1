using System.ComponentModel;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Core.Core;

/// <summary>core/v1 PodSpec.</summary>
[Description("PodSpec is a description of a pod.")]
public sealed class PodSpec
{
    [MergeKey("name")]
    [Description("List of initialization containers belonging to the pod, run in order before the app containers start.")]
    public List<Container>? InitContainers { get; set; }

    [MergeKey("name")]
    [Description("List of containers belonging to the pod. There must be at least one container in a Pod.")]
    public List<Container> Containers { get; set; } = [];

    [MergeKey("name")]
    [Description("List of volumes that can be mounted by containers belonging to the pod.")]
    public List<Volume>? Volumes { get; set; }

    [Description("Restart policy for all containers within the pod. One of Always, OnFailure, Never. Default to Always.")]
    public string? RestartPolicy { get; set; }

    [Description("Optional duration in seconds the pod needs to terminate gracefully. Defaults to 30 seconds.")]
    public long? TerminationGracePeriodSeconds { get; set; }

    [Description("Optional duration in seconds the pod may be active on the node relative to StartTime before the system will actively try to mark it failed and kill associated containers.")]
    public long? ActiveDeadlineSeconds { get; set; }

    [Description("Set DNS policy for the pod. Defaults to \"ClusterFirst\". Valid values are 'ClusterFirstWithHostNet', 'ClusterFirst', 'Default' or 'None'.")]
    public string? DnsPolicy { get; set; }

    [Description("NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node.")]
    public Dictionary<string, string>? NodeSelector { get; set; }

    [Description("ServiceAccountName is the name of the ServiceAccount to use to run this pod.")]
    public string? ServiceAccountName { get; set; }

    [Description("DeprecatedServiceAccount is a deprecated alias for ServiceAccountName. Deprecated: Use serviceAccountName instead.")]
    public string? ServiceAccount { get; set; }

    [Description("AutomountServiceAccountToken indicates whether a service account token should be automatically mounted. Verge issues no service account tokens and mounts none, whatever this says.")]
    public bool? AutomountServiceAccountToken { get; set; }

    [Description("EnableServiceLinks indicates whether information about services should be injected into pod's environment variables, matching the syntax of Docker links. Verge has no Services, so no such variables are injected, whatever this says.")]
    public bool? EnableServiceLinks { get; set; }

    [Description("Use the host's pid namespace. Optional: Default to false.")]
    public bool? HostPID { get; set; }

    [Description("Use the host's ipc namespace. Optional: Default to false.")]
    public bool? HostIPC { get; set; }

    [Description("Share a single process namespace between all of the containers in a pod. Verge refuses true: its pods have no process to hold a shared namespace.")]
    public bool? ShareProcessNamespace { get; set; }

    [Description("Use the host's user namespace. Optional: Default to true. Verge refuses false: it runs no pods in user namespaces.")]
    public bool? HostUsers { get; set; }

    [Description("NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.")]
    public string? NodeName { get; set; }

    [Description("Host networking requested for this pod. Use the host's network namespace. Default to false.")]
    public bool? HostNetwork { get; set; }

    [Description("SecurityContext holds pod-level security attributes and common container settings.")]
    public PodSecurityContext? SecurityContext { get; set; }

    [MergeKey("name")]
    [Description("ImagePullSecrets is an optional list of references to secrets in the same namespace to use for pulling any of the images used by this PodSpec.")]
    public List<LocalObjectReference>? ImagePullSecrets { get; set; }

    [Description("Specifies the hostname of the Pod. If not specified, the pod's hostname will be set to a system-defined value.")]
    public string? Hostname { get; set; }

    [Description("If specified, the fully qualified Pod hostname will be \"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>\".")]
    public string? Subdomain { get; set; }

    [Description("If true the pod's hostname will be configured as the pod's FQDN, rather than the leaf name (the default). Verge nodes have no cluster domain, so the FQDN is the hostname, as on a kubelet without one.")]
    public bool? SetHostnameAsFQDN { get; set; }

    [Description("If specified, the pod's scheduling constraints.")]
    public Affinity? Affinity { get; set; }

    [Description("If specified, the pod will be dispatched by specified scheduler. If not specified, the pod will be dispatched by default scheduler.")]
    public string? SchedulerName { get; set; }

    [Description("If specified, the pod's tolerations.")]
    public List<Toleration>? Tolerations { get; set; }

    [Description("If specified, indicates the pod's priority. \"system-node-critical\" and \"system-cluster-critical\" are two special keywords which indicate the highest priorities.")]
    public string? PriorityClassName { get; set; }

    [Description("The priority value. The higher the value, the higher the priority.")]
    public int? Priority { get; set; }

    [Description("PreemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.")]
    public string? PreemptionPolicy { get; set; }

    [Description("RuntimeClassName refers to a RuntimeClass object which should be used to run this pod.")]
    public string? RuntimeClassName { get; set; }

    [Description("TopologySpreadConstraints describes how a group of pods ought to spread across topology domains.")]
    public List<TopologySpreadConstraint>? TopologySpreadConstraints { get; set; }

    [Description("If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\".")]
    public List<PodReadinessGate>? ReadinessGates { get; set; }

    [Description("SchedulingGates is an opaque list of values that if specified will block scheduling the pod. If schedulingGates is not empty, the pod will stay in the SchedulingGated state and the scheduler will not attempt to schedule the pod. SchedulingGates can only be set at pod creation time, and be removed only afterwards.")]
    public List<PodSchedulingGate>? SchedulingGates { get; set; }

    [MergeKey("ip")]
    [Description("HostAliases is an optional list of hosts and IPs that will be injected into the pod's hosts file if specified.")]
    public List<HostAlias>? HostAliases { get; set; }

    [Description("Specifies the DNS parameters of a pod. Parameters specified here will be merged to the generated DNS configuration based on DNSPolicy.")]
    public PodDnsConfig? DnsConfig { get; set; }

    [Description("Specifies the OS of the containers in the pod. Some pod and container fields are restricted if this is set. If the OS field is set to linux, the following fields must be unset: securityContext.windowsOptions. If the OS field is set to windows, the Linux-only security context fields must be unset.")]
    public PodOS? OS { get; set; }
}

/// <summary>core/v1 PodReadinessGate.</summary>
[Description("PodReadinessGate contains the reference to a pod condition")]
public sealed class PodReadinessGate
{
    [Description("ConditionType refers to a condition in the pod's condition list with matching type.")]
    public string ConditionType { get; set; } = "";
}

/// <summary>core/v1 PodSchedulingGate.</summary>
[Description("PodSchedulingGate is associated to a Pod to guard its scheduling.")]
public sealed class PodSchedulingGate
{
    [Description("Name of the scheduling gate. Each scheduling gate must have a unique name field.")]
    public string Name { get; set; } = "";
}

/// <summary>core/v1 HostAlias.</summary>
[Description("HostAlias holds the mapping between IP and hostnames that will be injected as an entry in the pod's hosts file.")]
public sealed class HostAlias
{
    [Description("IP address of the host file entry.")]
    public string Ip { get; set; } = "";

    [Description("Hostnames for the above IP address.")]
    public List<string>? Hostnames { get; set; }
}

/// <summary>core/v1 PodDNSConfig.</summary>
[Description("PodDNSConfig defines the DNS parameters of a pod in addition to those generated from DNSPolicy.")]
public sealed class PodDnsConfig
{
    [Description("A list of DNS name server IP addresses. This will be appended to the base nameservers generated from DNSPolicy. Duplicated nameservers will be removed.")]
    public List<string>? Nameservers { get; set; }

    [Description("A list of DNS search domains for host-name lookup. This will be appended to the base search paths generated from DNSPolicy. Duplicated search paths will be removed.")]
    public List<string>? Searches { get; set; }

    [Description("A list of DNS resolver options. This will be merged with the base options generated from DNSPolicy. Duplicated entries will be removed. Resolution options given in Options will override those that appear in the base DNSPolicy.")]
    public List<PodDnsConfigOption>? Options { get; set; }
}

/// <summary>core/v1 PodDNSConfigOption.</summary>
[Description("PodDNSConfigOption defines DNS resolver options of a pod.")]
public sealed class PodDnsConfigOption
{
    [Description("Name is this DNS resolver option's name. Required.")]
    public string? Name { get; set; }

    [Description("Value is this DNS resolver option's value.")]
    public string? Value { get; set; }
}

/// <summary>core/v1 PodOS.</summary>
[Description("PodOS defines the OS parameters of a pod.")]
public sealed class PodOS
{
    [Description("Name is the name of the operating system. The currently supported values are linux and windows.")]
    public string Name { get; set; } = "";
}

/// <summary>core/v1 Container.</summary>
[Description("A single application container that you want to run within a pod.")]
public sealed class Container
{
    [Description("Name of the container specified as a DNS_LABEL. Each container in a pod must have a unique name.")]
    public string Name { get; set; } = "";

    [Description("Container image name.")]
    public string? Image { get; set; }

    [Description("Entrypoint array. Not executed within a shell. The container image's ENTRYPOINT is used if this is not provided.")]
    public List<string>? Command { get; set; }

    [Description("Arguments to the entrypoint. The container image's CMD is used if this is not provided.")]
    public List<string>? Args { get; set; }

    [Description("Container's working directory. If not specified, the container runtime's default will be used.")]
    public string? WorkingDir { get; set; }

    [MergeKey("containerPort")]
    [Description("List of ports to expose from the container.")]
    public List<ContainerPort>? Ports { get; set; }

    [Description("List of sources to populate environment variables in the container.")]
    public List<EnvFromSource>? EnvFrom { get; set; }

    [MergeKey("name")]
    [Description("List of environment variables to set in the container.")]
    public List<EnvVar>? Env { get; set; }

    [Description("Compute Resources required by this container.")]
    public ResourceRequirements? Resources { get; set; }

    [Description("RestartPolicy defines the restart behavior of individual containers in a pod. This field may only be set for init containers, and the only allowed value is \"Always\". Such a \"sidecar\" init container is started in order with the other init containers, the next one starts once it has started (its startupProbe succeeded, or it is running), it keeps running and is restarted whatever the pod's restartPolicy, and it is stopped after the regular containers.")]
    public string? RestartPolicy { get; set; }

    [MergeKey("mountPath")]
    [Description("Pod volumes to mount into the container's filesystem.")]
    public List<VolumeMount>? VolumeMounts { get; set; }

    [Description("Periodic probe of container liveness. Container will be restarted if the probe fails.")]
    public Probe? LivenessProbe { get; set; }

    [Description("Periodic probe of container service readiness. Container will be removed from service endpoints if the probe fails.")]
    public Probe? ReadinessProbe { get; set; }

    [Description("StartupProbe indicates that the Pod has successfully initialized. If specified, no other probes are executed until this completes successfully.")]
    public Probe? StartupProbe { get; set; }

    [Description("Actions that the management system should take in response to container lifecycle events.")]
    public Lifecycle? Lifecycle { get; set; }

    [Description("Path at which the file to which the container's termination message will be written is mounted. Defaults to /dev/termination-log.")]
    public string? TerminationMessagePath { get; set; }

    [Description("Indicate how the termination message should be populated. File or FallbackToLogsOnError. Defaults to File.")]
    public string? TerminationMessagePolicy { get; set; }

    [Description("Image pull policy. One of Always, Never, IfNotPresent. Defaults to Always if :latest tag is specified, or IfNotPresent otherwise.")]
    public string? ImagePullPolicy { get; set; }

    [Description("SecurityContext defines the security options the container should be run with.")]
    public SecurityContext? SecurityContext { get; set; }

    [Description("Whether this container should allocate a buffer for stdin in the container runtime.")]
    public bool? Stdin { get; set; }

    [Description("Whether this container should allocate a TTY for itself.")]
    public bool? Tty { get; set; }
}

/// <summary>core/v1 ContainerPort.</summary>
[Description("ContainerPort represents a network port in a single container.")]
public sealed class ContainerPort
{
    [Description("If specified, this must be an IANA_SVC_NAME and unique within the pod.")]
    public string? Name { get; set; }

    [Description("Number of port to expose on the pod's IP address. This must be a valid port number, 0 < x < 65536.")]
    [System.Text.Json.Serialization.JsonPropertyName("containerPort")]
    public int Port { get; set; }

    [Description("Number of port to expose on the host. If specified, this must be a valid port number, 0 < x < 65536.")]
    public int? HostPort { get; set; }

    [Description("Protocol for port. Must be UDP, TCP, or SCTP. Defaults to \"TCP\".")]
    public string? Protocol { get; set; }

    [Description("What host IP to bind the external port to.")]
    public string? HostIP { get; set; }
}

/// <summary>core/v1 EnvVar.</summary>
[Description("EnvVar represents an environment variable present in a Container.")]
public sealed class EnvVar
{
    [Description("Name of the environment variable.")]
    public string Name { get; set; } = "";

    [Description("Variable references $(VAR_NAME) are expanded using the previously defined environment variables in the container.")]
    public string? Value { get; set; }

    [Description("Source for the environment variable's value. Cannot be used if value is not empty.")]
    public EnvVarSource? ValueFrom { get; set; }
}

/// <summary>core/v1 EnvVarSource.</summary>
[Description("EnvVarSource represents a source for the value of an EnvVar.")]
public sealed class EnvVarSource
{
    [Description("Selects a key of a ConfigMap.")]
    public KeySelector? ConfigMapKeyRef { get; set; }

    [Description("Selects a key of a secret in the pod's namespace.")]
    public KeySelector? SecretKeyRef { get; set; }

    [Description("Selects a field of the pod: supports metadata.name, metadata.namespace, metadata.labels['<KEY>'], metadata.annotations['<KEY>'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.podIP, status.podIPs.")]
    public ObjectFieldSelector? FieldRef { get; set; }

    [Description("Selects a resource of the container: only resources limits and requests are currently supported.")]
    public ResourceFieldSelector? ResourceFieldRef { get; set; }
}

/// <summary>core/v1 ConfigMapKeySelector and SecretKeySelector, which share one shape.</summary>
[Description("Selects a key from a ConfigMap or Secret.")]
public sealed class KeySelector
{
    [Description("Name of the referent.")]
    public string? Name { get; set; }

    [Description("The key to select.")]
    public string Key { get; set; } = "";

    [Description("Specify whether the ConfigMap or Secret or its key must be defined.")]
    public bool? Optional { get; set; }
}

/// <summary>core/v1 ObjectFieldSelector.</summary>
[Description("ObjectFieldSelector selects an APIVersioned field of an object.")]
public sealed class ObjectFieldSelector
{
    [Description("Version of the schema the FieldPath is written in terms of, defaults to \"v1\".")]
    public string? ApiVersion { get; set; }

    [Description("Path of the field to select in the specified API version.")]
    public string FieldPath { get; set; } = "";
}

/// <summary>core/v1 ResourceFieldSelector.</summary>
[Description("ResourceFieldSelector represents container resources (cpu, memory) and their output format.")]
public sealed class ResourceFieldSelector
{
    [Description("Container name: required for volumes, optional for env vars.")]
    public string? ContainerName { get; set; }

    [Description("Required: resource to select.")]
    public string Resource { get; set; } = "";

    [Description("Specifies the output format of the exposed resources, defaults to \"1\".")]
    public Quantity? Divisor { get; set; }
}

/// <summary>core/v1 EnvFromSource.</summary>
[Description("EnvFromSource represents the source of a set of ConfigMaps or Secrets.")]
public sealed class EnvFromSource
{
    [Description("Optional text to prepend to the name of each environment variable.")]
    public string? Prefix { get; set; }

    [Description("The ConfigMap to select from.")]
    public EnvFromReference? ConfigMapRef { get; set; }

    [Description("The Secret to select from.")]
    public EnvFromReference? SecretRef { get; set; }
}

/// <summary>core/v1 ConfigMapEnvSource and SecretEnvSource, which share one shape.</summary>
[Description("Selects a ConfigMap or Secret whose keys become environment variables.")]
public sealed class EnvFromReference
{
    [Description("Name of the referent.")]
    public string? Name { get; set; }

    [Description("Specify whether the ConfigMap or Secret must be defined.")]
    public bool? Optional { get; set; }
}

/// <summary>core/v1 ResourceRequirements.</summary>
[Description("ResourceRequirements describes the compute resource requirements.")]
public sealed class ResourceRequirements
{
    [Description("Limits describes the maximum amount of compute resources allowed.")]
    public Dictionary<string, Quantity>? Limits { get; set; }

    [Description("Requests describes the minimum amount of compute resources required. If Requests is omitted for a container, it defaults to Limits if that is explicitly specified.")]
    public Dictionary<string, Quantity>? Requests { get; set; }
}

/// <summary>core/v1 VolumeMount.</summary>
[Description("VolumeMount describes a mounting of a Volume within a container.")]
public sealed class VolumeMount
{
    [Description("This must match the Name of a Volume.")]
    public string Name { get; set; } = "";

    [Description("Mounted read-only if true, read-write otherwise (false or unspecified). Defaults to false.")]
    public bool? ReadOnly { get; set; }

    [Description("Path within the container at which the volume should be mounted. Must not contain ':'.")]
    public string MountPath { get; set; } = "";

    [Description("Path within the volume from which the container's volume should be mounted. Defaults to \"\" (volume's root).")]
    public string? SubPath { get; set; }
}

/// <summary>core/v1 Probe.</summary>
[Description("Probe describes a health check to be performed against a container to determine whether it is alive or ready to receive traffic.")]
public sealed class Probe
{
    [Description("Exec specifies a command to execute in the container.")]
    public ExecAction? Exec { get; set; }

    [Description("HTTPGet specifies an HTTP GET request to perform.")]
    public HttpGetAction? HttpGet { get; set; }

    [Description("TCPSocket specifies a connection to a TCP port.")]
    public TcpSocketAction? TcpSocket { get; set; }

    [Description("Number of seconds after the container has started before liveness probes are initiated.")]
    public int? InitialDelaySeconds { get; set; }

    [Description("Number of seconds after which the probe times out. Defaults to 1 second. Minimum value is 1.")]
    public int? TimeoutSeconds { get; set; }

    [Description("How often (in seconds) to perform the probe. Default to 10 seconds. Minimum value is 1.")]
    public int? PeriodSeconds { get; set; }

    [Description("Minimum consecutive successes for the probe to be considered successful after having failed. Defaults to 1. Must be 1 for liveness and startup. Minimum value is 1.")]
    public int? SuccessThreshold { get; set; }

    [Description("Minimum consecutive failures for the probe to be considered failed after having succeeded. Defaults to 3. Minimum value is 1.")]
    public int? FailureThreshold { get; set; }

    [Description("Optional duration in seconds the pod needs to terminate gracefully upon probe failure.")]
    public long? TerminationGracePeriodSeconds { get; set; }
}

/// <summary>core/v1 Lifecycle: the hooks run after a container starts and before it is stopped.</summary>
[Description("Lifecycle describes actions that the management system should take in response to container lifecycle events.")]
public sealed class Lifecycle
{
    [Description("PostStart is called immediately after a container is created. If the handler fails, the container is terminated and restarted according to its restart policy.")]
    public LifecycleHandler? PostStart { get; set; }

    [Description("PreStop is called immediately before a container is terminated due to an API request or management event such as liveness/startup probe failure. The container is terminated after the handler completes or the grace period runs out.")]
    public LifecycleHandler? PreStop { get; set; }
}

/// <summary>core/v1 LifecycleHandler: exactly one of its actions.</summary>
[Description("LifecycleHandler defines a specific action that should be taken in a lifecycle hook. One and only one of the fields, except TCPSocket must be specified.")]
public sealed class LifecycleHandler
{
    [Description("Exec specifies a command to execute in the container.")]
    public ExecAction? Exec { get; set; }

    [Description("HTTPGet specifies an HTTP GET request to perform.")]
    public HttpGetAction? HttpGet { get; set; }

    [Description("Deprecated. TCPSocket is NOT supported as a LifecycleHandler and kept for backward compatibility.")]
    public TcpSocketAction? TcpSocket { get; set; }

    [Description("Sleep represents a duration that the container should sleep.")]
    public SleepAction? Sleep { get; set; }
}

/// <summary>core/v1 SleepAction.</summary>
[Description("SleepAction describes a \"sleep\" action.")]
public sealed class SleepAction
{
    [Description("Seconds is the number of seconds to sleep.")]
    public long Seconds { get; set; }
}

/// <summary>core/v1 ExecAction.</summary>
[Description("ExecAction describes a \"run in container\" action.")]
public sealed class ExecAction
{
    [Description("Command is the command line to execute inside the container. The command is not run inside a shell.")]
    public List<string>? Command { get; set; }
}

/// <summary>core/v1 HTTPGetAction.</summary>
[Description("HTTPGetAction describes an action based on HTTP Get requests.")]
public sealed class HttpGetAction
{
    [Description("Path to access on the HTTP server.")]
    public string? Path { get; set; }

    [Description("Name or number of the port to access on the container. Number must be in the range 1 to 65535.")]
    public IntOrString Port { get; set; }

    [Description("Host name to connect to, defaults to the pod IP.")]
    public string? Host { get; set; }

    [Description("Scheme to use for connecting to the host. Defaults to HTTP.")]
    public string? Scheme { get; set; }

    [Description("Custom headers to set in the request. HTTP allows repeated headers.")]
    public List<HttpHeader>? HttpHeaders { get; set; }
}

/// <summary>core/v1 HTTPHeader.</summary>
[Description("HTTPHeader describes a custom header to be used in HTTP probes.")]
public sealed class HttpHeader
{
    [Description("The header field name.")]
    public string Name { get; set; } = "";

    [Description("The header field value.")]
    public string Value { get; set; } = "";
}

/// <summary>core/v1 TCPSocketAction.</summary>
[Description("TCPSocketAction describes an action based on opening a socket.")]
public sealed class TcpSocketAction
{
    [Description("Number or name of the port to access on the container. Number must be in the range 1 to 65535.")]
    public IntOrString Port { get; set; }

    [Description("Optional: Host name to connect to, defaults to the pod IP.")]
    public string? Host { get; set; }
}

/// <summary>core/v1 SecurityContext (per container).</summary>
[Description("SecurityContext holds security configuration that will be applied to a container.")]
public sealed class SecurityContext
{
    [Description("The UID to run the entrypoint of the container process.")]
    public long? RunAsUser { get; set; }

    [Description("The GID to run the entrypoint of the container process.")]
    public long? RunAsGroup { get; set; }

    [Description("Indicates that the container must run as a non-root user.")]
    public bool? RunAsNonRoot { get; set; }

    [Description("Run container in privileged mode. Defaults to false.")]
    public bool? Privileged { get; set; }

    [Description("Whether this container has a read-only root filesystem. Default is false.")]
    public bool? ReadOnlyRootFilesystem { get; set; }

    [Description("AllowPrivilegeEscalation controls whether a process can gain more privileges than its parent process.")]
    public bool? AllowPrivilegeEscalation { get; set; }

    [Description("The capabilities to add/drop when running containers.")]
    public Capabilities? Capabilities { get; set; }

    [Description("The seccomp options to use by this container. If seccomp options are provided at both the pod & container level, the container options override the pod options.")]
    public SeccompProfile? SeccompProfile { get; set; }
}

/// <summary>core/v1 SeccompProfile.</summary>
[Description("SeccompProfile defines a pod/container's seccomp profile settings. Only one profile source may be set.")]
public sealed class SeccompProfile
{
    [Description("type indicates which kind of seccomp profile will be applied. Valid options are: Localhost (a profile defined in a file on the node), RuntimeDefault (the container runtime default profile), Unconfined (no profile).")]
    public string Type { get; set; } = "";

    [Description("localhostProfile indicates a profile defined in a file on the node should be used. The profile must be preconfigured on the node to work. Must be a descending path, relative to the kubelet's configured seccomp profile location. Must be set if type is \"Localhost\". Must NOT be set for any other type.")]
    public string? LocalhostProfile { get; set; }
}

/// <summary>core/v1 Sysctl.</summary>
[Description("Sysctl defines a kernel parameter to be set.")]
public sealed class Sysctl
{
    [Description("Name of a property to set.")]
    public string Name { get; set; } = "";

    [Description("Value of a property to set.")]
    public string Value { get; set; } = "";
}

/// <summary>core/v1 Capabilities.</summary>
[Description("Adds and removes POSIX capabilities from running containers.")]
public sealed class Capabilities
{
    [Description("Added capabilities.")]
    public List<string>? Add { get; set; }

    [Description("Removed capabilities.")]
    public List<string>? Drop { get; set; }
}

/// <summary>core/v1 PodSecurityContext.</summary>
[Description("PodSecurityContext holds pod-level security attributes and common container settings.")]
public sealed class PodSecurityContext
{
    [Description("The UID to run the entrypoint of the container process.")]
    public long? RunAsUser { get; set; }

    [Description("The GID to run the entrypoint of the container process.")]
    public long? RunAsGroup { get; set; }

    [Description("Indicates that the container must run as a non-root user.")]
    public bool? RunAsNonRoot { get; set; }

    [Description("A special supplemental group that applies to all containers in a pod.")]
    public long? FsGroup { get; set; }

    [Description("A list of groups applied to the first process run in each container, in addition to the container's primary GID.")]
    public List<long>? SupplementalGroups { get; set; }

    [Description("fsGroupChangePolicy defines behavior of changing ownership and permission of the volume before being exposed inside Pod. Valid values are \"OnRootMismatch\" and \"Always\". If not specified, \"Always\" is used.")]
    public string? FsGroupChangePolicy { get; set; }

    [Description("Sysctls hold a list of namespaced sysctls used for the pod. Pods with unsupported sysctls (by the container runtime) might fail to launch.")]
    public List<Sysctl>? Sysctls { get; set; }

    [Description("The seccomp options to use by the containers in this pod.")]
    public SeccompProfile? SeccompProfile { get; set; }
}

/// <summary>core/v1 Volume.</summary>
[Description("Volume represents a named volume in a pod that may be accessed by any container in the pod.")]
public sealed class Volume
{
    [Description("name of the volume. Must be a DNS_LABEL and unique within the pod.")]
    public string Name { get; set; } = "";

    [Description("emptyDir represents a temporary directory that shares a pod's lifetime.")]
    public EmptyDirVolumeSource? EmptyDir { get; set; }

    [Description("hostPath represents a pre-existing file or directory on the host machine that is directly exposed to the container.")]
    public HostPathVolumeSource? HostPath { get; set; }

    [Description("configMap represents a configMap that should populate this volume.")]
    public ConfigMapVolumeSource? ConfigMap { get; set; }

    [Description("secret represents a secret that should populate this volume.")]
    public SecretVolumeSource? Secret { get; set; }

    [Description("downwardAPI represents downward API about the pod that should populate this volume.")]
    public DownwardApiVolumeSource? DownwardAPI { get; set; }

    [Description("projected items for all in one resources secrets, configmaps, and downward API.")]
    public ProjectedVolumeSource? Projected { get; set; }
}

/// <summary>core/v1 DownwardAPIVolumeSource.</summary>
[Description("DownwardAPIVolumeSource represents a volume containing downward API info. Downward API volumes support ownership management and SELinux relabeling.")]
public sealed class DownwardApiVolumeSource
{
    [Description("Items is a list of downward API volume file.")]
    public List<DownwardApiVolumeFile>? Items { get; set; }

    [Description("Optional: mode bits to use on created files by default. Must be a value between 0 and 0777. Defaults to 0644.")]
    public int? DefaultMode { get; set; }
}

/// <summary>core/v1 DownwardAPIVolumeFile.</summary>
[Description("DownwardAPIVolumeFile represents information to create the file containing the pod field.")]
public sealed class DownwardApiVolumeFile
{
    [Description("Required: Path is the relative path name of the file to be created. Must not be absolute or contain the '..' path. Must be utf-8 encoded. The first item of the relative path must not start with '..'.")]
    public string Path { get; set; } = "";

    [Description("Required: Selects a field of the pod: only annotations, labels, name, namespace and uid are supported.")]
    public ObjectFieldSelector? FieldRef { get; set; }

    [Description("Selects a resource of the container: only resources limits and requests (limits.cpu, limits.memory, requests.cpu and requests.memory) are currently supported.")]
    public ResourceFieldSelector? ResourceFieldRef { get; set; }

    [Description("Optional: mode bits used to set permissions on this file, must be an octal value between 0000 and 0777 or a decimal value between 0 and 511. If not specified, the volume defaultMode will be used.")]
    public int? Mode { get; set; }
}

/// <summary>core/v1 ProjectedVolumeSource.</summary>
[Description("Represents a projected volume source.")]
public sealed class ProjectedVolumeSource
{
    [Description("sources is the list of volume projections. Each entry in this list handles one source.")]
    public List<VolumeProjection>? Sources { get; set; }

    [Description("defaultMode are the mode bits used to set permissions on created files by default. Must be a value between 0 and 0777. Defaults to 0644.")]
    public int? DefaultMode { get; set; }
}

/// <summary>core/v1 VolumeProjection.</summary>
[Description("Projection that may be projected along with other supported volume types. Exactly one of these fields must be set.")]
public sealed class VolumeProjection
{
    [Description("secret information about the secret data to project.")]
    public KeyProjection? Secret { get; set; }

    [Description("downwardAPI information about the downwardAPI data to project.")]
    public DownwardApiProjection? DownwardAPI { get; set; }

    [Description("configMap information about the configMap data to project.")]
    public KeyProjection? ConfigMap { get; set; }

    [Description("serviceAccountToken is information about the serviceAccountToken data to project. Not supported by Verge, which has no service account token issuer.")]
    public ServiceAccountTokenProjection? ServiceAccountToken { get; set; }

    [Description("ClusterTrustBundle allows a pod to access the `.spec.trustBundle` field of ClusterTrustBundle objects in an auto-updating file. Not supported by Verge, which has no ClusterTrustBundle kind.")]
    public ClusterTrustBundleProjection? ClusterTrustBundle { get; set; }
}

/// <summary>core/v1 ConfigMapProjection and SecretProjection, which share one shape.</summary>
[Description("Adapts a ConfigMap or a Secret into a projected volume: its keys (or the listed items) become files.")]
public sealed class KeyProjection
{
    [Description("Name of the referent.")]
    public string? Name { get; set; }

    [Description("items, if unspecified, each key-value pair in the Data field of the referenced object will be projected into the volume as a file whose name is the key and content is the value.")]
    public List<KeyToPath>? Items { get; set; }

    [Description("optional specify whether the ConfigMap or Secret or its keys must be defined.")]
    public bool? Optional { get; set; }
}

/// <summary>core/v1 DownwardAPIProjection.</summary>
[Description("Represents downward API info for projecting into a projected volume.")]
public sealed class DownwardApiProjection
{
    [Description("Items is a list of DownwardAPIVolume file.")]
    public List<DownwardApiVolumeFile>? Items { get; set; }
}

/// <summary>core/v1 ServiceAccountTokenProjection.</summary>
[Description("ServiceAccountTokenProjection represents a projected service account token volume.")]
public sealed class ServiceAccountTokenProjection
{
    [Description("audience is the intended audience of the token.")]
    public string? Audience { get; set; }

    [Description("expirationSeconds is the requested duration of validity of the service account token. Defaults to 1 hour and must be at least 10 minutes.")]
    public long? ExpirationSeconds { get; set; }

    [Description("path is the path relative to the mount point of the file to project the token into.")]
    public string Path { get; set; } = "";
}

/// <summary>core/v1 ClusterTrustBundleProjection.</summary>
[Description("ClusterTrustBundleProjection describes how to select a set of ClusterTrustBundle objects and project their contents into the pod filesystem.")]
public sealed class ClusterTrustBundleProjection
{
    [Description("Select a single ClusterTrustBundle by object name. Mutually-exclusive with signerName and labelSelector.")]
    public string? Name { get; set; }

    [Description("Select all ClusterTrustBundles that match this signer name. Mutually-exclusive with name.")]
    public string? SignerName { get; set; }

    [Description("Select all ClusterTrustBundles that match this label selector. Only has effect if signerName is set.")]
    public LabelSelector? LabelSelector { get; set; }

    [Description("If true, don't block pod startup if the referenced ClusterTrustBundle(s) aren't available.")]
    public bool? Optional { get; set; }

    [Description("Relative path from the volume root to write the bundle.")]
    public string Path { get; set; } = "";
}

/// <summary>core/v1 EmptyDirVolumeSource.</summary>
[Description("Represents an empty directory for a pod.")]
public sealed class EmptyDirVolumeSource
{
    [Description("medium represents what type of storage medium should back this directory. The default is \"\"; \"Memory\" uses tmpfs.")]
    public string? Medium { get; set; }

    [Description("sizeLimit is the total amount of local storage required for this EmptyDir volume.")]
    public Quantity? SizeLimit { get; set; }
}

/// <summary>core/v1 HostPathVolumeSource.</summary>
[Description("Represents a host path mapped into a pod.")]
public sealed class HostPathVolumeSource
{
    [Description("path of the directory on the host.")]
    public string Path { get; set; } = "";

    [Description("type for HostPath Volume. Defaults to \"\".")]
    public string? Type { get; set; }
}

/// <summary>core/v1 ConfigMapVolumeSource.</summary>
[Description("Adapts a ConfigMap into a volume.")]
public sealed class ConfigMapVolumeSource
{
    [Description("Name of the referent.")]
    public string? Name { get; set; }

    [Description("items, if unspecified, each key-value pair in the Data field of the referenced ConfigMap will be projected into the volume as a file.")]
    public List<KeyToPath>? Items { get; set; }

    [Description("defaultMode is optional: mode bits used to set permissions on created files by default. Defaults to 0644.")]
    public int? DefaultMode { get; set; }

    [Description("optional specify whether the ConfigMap or its keys must be defined.")]
    public bool? Optional { get; set; }
}

/// <summary>core/v1 SecretVolumeSource.</summary>
[Description("Adapts a Secret into a volume.")]
public sealed class SecretVolumeSource
{
    [Description("secretName is the name of the secret in the pod's namespace to use.")]
    public string? SecretName { get; set; }

    [Description("items, if unspecified, each key-value pair in the Data field of the referenced Secret will be projected into the volume as a file.")]
    public List<KeyToPath>? Items { get; set; }

    [Description("defaultMode is optional: mode bits used to set permissions on created files by default. Defaults to 0644.")]
    public int? DefaultMode { get; set; }

    [Description("optional field specify whether the Secret or its keys must be defined.")]
    public bool? Optional { get; set; }
}

/// <summary>core/v1 KeyToPath.</summary>
[Description("Maps a string key to a path within a volume.")]
public sealed class KeyToPath
{
    [Description("key is the key to project.")]
    public string Key { get; set; } = "";

    [Description("path is the relative path of the file to map the key to.")]
    public string Path { get; set; } = "";

    [Description("mode is optional: mode bits used to set permissions on this file.")]
    public int? Mode { get; set; }
}

/// <summary>core/v1 LocalObjectReference.</summary>
[Description("LocalObjectReference contains enough information to let you locate the referenced object inside the same namespace.")]
public sealed class LocalObjectReference
{
    [Description("Name of the referent.")]
    public string? Name { get; set; }
}

/// <summary>core/v1 Toleration.</summary>
[Description("The pod this Toleration is attached to tolerates any taint that matches the triple <key,value,effect> using the matching operator <operator>.")]
public sealed class Toleration
{
    [Description("Key is the taint key that the toleration applies to. Empty means match all taint keys.")]
    public string? Key { get; set; }

    [Description("Operator represents a key's relationship to the value. Valid operators are Exists and Equal. Defaults to Equal.")]
    public string? Operator { get; set; }

    [Description("Value is the taint value the toleration matches to.")]
    public string? Value { get; set; }

    [Description("Effect indicates the taint effect to match. Empty means match all taint effects. Allowed values are NoSchedule, PreferNoSchedule and NoExecute.")]
    public string? Effect { get; set; }

    [Description("TolerationSeconds represents the period of time the toleration (which must be of effect NoExecute) tolerates the taint.")]
    public long? TolerationSeconds { get; set; }
}

/// <summary>core/v1 TopologySpreadConstraint.</summary>
[Description("TopologySpreadConstraint specifies how to spread matching pods among the given topology.")]
public sealed class TopologySpreadConstraint
{
    [Description("MaxSkew describes the degree to which pods may be unevenly distributed. It must be greater than zero.")]
    public int MaxSkew { get; set; }

    [Description("TopologyKey is the key of node labels. Nodes that have a label with this key and identical values are considered to be in the same topology.")]
    public string TopologyKey { get; set; } = "";

    [Description("WhenUnsatisfiable indicates how to deal with a pod if it doesn't satisfy the spread constraint: DoNotSchedule or ScheduleAnyway.")]
    public string WhenUnsatisfiable { get; set; } = "";

    [Description("LabelSelector is used to find matching pods.")]
    public LabelSelector? LabelSelector { get; set; }

    [Description("MinDomains indicates a minimum number of eligible domains.")]
    public int? MinDomains { get; set; }

    [Description("NodeAffinityPolicy indicates how we will treat Pod's nodeAffinity/nodeSelector when calculating pod topology spread skew: Honor (only nodes matching nodeAffinity/nodeSelector are included in the calculations) or Ignore (all nodes are included). If this value is nil, the behavior is equivalent to the Honor policy.")]
    public string? NodeAffinityPolicy { get; set; }

    [Description("NodeTaintsPolicy indicates how we will treat node taints when calculating pod topology spread skew: Honor (nodes without taints, along with tainted nodes for which the incoming pod has a toleration, are included) or Ignore (node taints are ignored; all nodes are included). If this value is nil, the behavior is equivalent to the Ignore policy.")]
    public string? NodeTaintsPolicy { get; set; }

    [Description("MatchLabelKeys is a set of pod label keys to select the pods over which spreading will be calculated. The keys are used to lookup values from the incoming pod labels, those key-value labels are ANDed with labelSelector to select the group of existing pods over which spreading will be calculated for the incoming pod. The same key is forbidden to exist in both MatchLabelKeys and LabelSelector. MatchLabelKeys cannot be set when LabelSelector isn't set. Keys that don't exist in the incoming pod labels will be ignored. A null or empty list means only match against labelSelector.")]
    public List<string>? MatchLabelKeys { get; set; }
}

/// <summary>core/v1 Affinity.</summary>
[Description("Affinity is a group of affinity scheduling rules.")]
public sealed class Affinity
{
    [Description("Describes node affinity scheduling rules for the pod.")]
    public NodeAffinity? NodeAffinity { get; set; }

    [Description("Describes pod affinity scheduling rules (e.g. co-locate this pod in the same node, zone, etc. as some other pod(s)).")]
    public PodAffinity? PodAffinity { get; set; }

    [Description("Describes pod anti-affinity scheduling rules (e.g. avoid putting this pod in the same node, zone, etc. as some other pod(s)).")]
    public PodAffinity? PodAntiAffinity { get; set; }
}

/// <summary>core/v1 NodeAffinity.</summary>
[Description("Node affinity is a group of node affinity scheduling rules.")]
public sealed class NodeAffinity
{
    [Description("If the affinity requirements specified by this field are not met at scheduling time, the pod will not be scheduled onto the node.")]
    public NodeSelector? RequiredDuringSchedulingIgnoredDuringExecution { get; set; }

    [Description("The scheduler will prefer to schedule pods to nodes that satisfy the affinity expressions specified by this field.")]
    public List<PreferredSchedulingTerm>? PreferredDuringSchedulingIgnoredDuringExecution { get; set; }
}

/// <summary>core/v1 NodeSelector.</summary>
[Description("A node selector represents the union of the results of one or more label queries over a set of nodes.")]
public sealed class NodeSelector
{
    [Description("Required. A list of node selector terms. The terms are ORed.")]
    public List<NodeSelectorTerm> NodeSelectorTerms { get; set; } = [];
}

/// <summary>core/v1 NodeSelectorTerm.</summary>
[Description("A null or empty node selector term matches no objects. The requirements of them are ANDed.")]
public sealed class NodeSelectorTerm
{
    [Description("A list of node selector requirements by node's labels.")]
    public List<NodeSelectorRequirement>? MatchExpressions { get; set; }

    [Description("A list of node selector requirements by node's fields.")]
    public List<NodeSelectorRequirement>? MatchFields { get; set; }
}

/// <summary>core/v1 NodeSelectorRequirement.</summary>
[Description("A node selector requirement is a selector that contains values, a key, and an operator that relates the key and values.")]
public sealed class NodeSelectorRequirement
{
    [Description("The label key that the selector applies to.")]
    public string Key { get; set; } = "";

    [Description("Represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists, DoesNotExist. Gt, and Lt.")]
    public string Operator { get; set; } = "";

    [Description("An array of string values.")]
    public List<string>? Values { get; set; }
}

/// <summary>core/v1 PreferredSchedulingTerm.</summary>
[Description("An empty preferred scheduling term matches all objects with implicit weight 0.")]
public sealed class PreferredSchedulingTerm
{
    [Description("Weight associated with matching the corresponding nodeSelectorTerm, in the range 1-100.")]
    public int Weight { get; set; }

    [Description("A node selector term, associated with the corresponding weight.")]
    public NodeSelectorTerm Preference { get; set; } = new();
}

/// <summary>core/v1 PodAffinity and PodAntiAffinity, which share one shape.</summary>
[Description("Pod affinity (or anti-affinity) is a group of inter pod affinity scheduling rules.")]
public sealed class PodAffinity
{
    [Description("If the affinity requirements specified by this field are not met at scheduling time, the pod will not be scheduled onto the node.")]
    public List<PodAffinityTerm>? RequiredDuringSchedulingIgnoredDuringExecution { get; set; }

    [Description("The scheduler will prefer to schedule pods to nodes that satisfy the affinity expressions specified by this field.")]
    public List<WeightedPodAffinityTerm>? PreferredDuringSchedulingIgnoredDuringExecution { get; set; }
}

/// <summary>core/v1 PodAffinityTerm.</summary>
[Description("Defines a set of pods that this pod should be co-located (affinity) or not co-located (anti-affinity) with.")]
public sealed class PodAffinityTerm
{
    [Description("A label query over a set of resources, in this case pods.")]
    public LabelSelector? LabelSelector { get; set; }

    [Description("namespaces specifies a static list of namespace names that the term applies to.")]
    public List<string>? Namespaces { get; set; }

    [Description("This pod should be co-located (affinity) or not co-located (anti-affinity) with the pods matching the labelSelector in the specified namespaces, where co-located is defined as running on a node whose value of the label with key topologyKey matches that of any node on which any of the selected pods is running.")]
    public string TopologyKey { get; set; } = "";
}

/// <summary>core/v1 WeightedPodAffinityTerm.</summary>
[Description("The weights of all of the matched WeightedPodAffinityTerm fields are added per-node to find the most preferred node(s).")]
public sealed class WeightedPodAffinityTerm
{
    [Description("weight associated with matching the corresponding podAffinityTerm, in the range 1-100.")]
    public int Weight { get; set; }

    [Description("Required. A pod affinity term, associated with the corresponding weight.")]
    public PodAffinityTerm PodAffinityTerm { get; set; } = new();
}

/// <summary>core/v1 PodTemplateSpec.</summary>
[Description("PodTemplateSpec describes the data a pod should have when created from a template.")]
public sealed class PodTemplateSpec
{
    [Description("Standard object's metadata.")]
    public ObjectMeta? Metadata { get; set; }

    [Description("Specification of the desired behavior of the pod.")]
    public PodSpec? Spec { get; set; }
}
