using System.Globalization;
using Verge.Core.Apps;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Policy;
using Verge.Core.Scheduling;
using Verge.Core.Serialization;
using Verge.Core.Validation;

namespace Verge.Core.Meta;

/// <summary>
/// The <see cref="ResourceType"/> of every kind: names as Kubernetes uses them, defaulting, validation, the columns
/// of <c>kubectl get</c> and selectable fields. A cell that is a <see cref="DateTimeOffset"/> is a point in time the
/// server shows relative to now, as it does AGE (for example <c>LAST SEEN</c>).
/// </summary>
internal static class KindRegistrations
{
    public static IReadOnlyList<ResourceType> Create() =>
    [
        new()
        {
            Group = "", Version = "v1", Kind = "Namespace", Plural = "namespaces", Singular = "namespace", Namespaced = false,
            ShortNames = ["ns"], HasStatus = true, TypeInfo = VergeJsonContext.Default.Namespace,
            ApplyDefaults = o => CoreDefaults.Namespace((Namespace)o),
            Validate = (o, old) => CoreValidation.ValidateNamespace((Namespace)o, (Namespace?)old),
            Columns = [new("Status", "string", "The status of the namespace", o => ((Namespace)o).Status?.Phase)],
            SelectableFields = o => [new("status.phase", ((Namespace)o).Status?.Phase ?? "")],
        },
        new()
        {
            Group = "", Version = "v1", Kind = "Node", Plural = "nodes", Singular = "node", Namespaced = false,
            ShortNames = ["no"], HasStatus = true, TypeInfo = VergeJsonContext.Default.Node,
            ApplyDefaults = o => CoreDefaults.Node((Node)o),
            Validate = (o, old) => CoreValidation.ValidateNode((Node)o, (Node?)old),
            Columns =
            [
                new("Status", "string", "The status of the node", o => Tables.NodeStatus((Node)o)),
                new("Roles", "string", "The roles of the node", o => Tables.NodeRoles((Node)o)),
                new("Version", "string", "Kubelet Version reported by the node.", o => ((Node)o).Status?.NodeInfo?.KubeletVersion),
                new("Internal-IP", "string", "List of internal IPs.", o => Tables.NodeAddress((Node)o, "InternalIP"), Priority: 1),
                new("External-IP", "string", "List of external IPs.", o => Tables.NodeAddress((Node)o, "ExternalIP"), Priority: 1),
                new("OS-Image", "string", "OS Image reported by the node.", o => ((Node)o).Status?.NodeInfo?.OsImage, Priority: 1),
                new("Kernel-Version", "string", "Kernel Version reported by the node.", o => ((Node)o).Status?.NodeInfo?.KernelVersion, Priority: 1),
                new("Container-Runtime", "string", "Container Runtime Version reported by the node.", o => ((Node)o).Status?.NodeInfo?.ContainerRuntimeVersion, Priority: 1),
            ],
            SelectableFields = o => [new("spec.unschedulable", ((Node)o).Spec.Unschedulable == true ? "true" : "false")],
        },
        new()
        {
            Group = "", Version = "v1", Kind = "Pod", Plural = "pods", Singular = "pod", Namespaced = true,
            ShortNames = ["po"], Categories = ["all"], HasStatus = true, TypeInfo = VergeJsonContext.Default.Pod,
            ApplyDefaults = o => CoreDefaults.Pod((Pod)o),
            Validate = (o, old) => PodValidation.ValidatePod((Pod)o, (Pod?)old),
            ValidateStatusUpdate = (o, old) => PodValidation.ValidatePodStatusUpdate((Pod)o, (Pod)old),
            Columns =
            [
                new("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", o => Tables.PodReady((Pod)o)),
                new("Status", "string", "The aggregate status of the containers in this pod.", o => Tables.PodStatus((Pod)o)),
                new("Restarts", "string", "The number of times the containers in this pod have been restarted.", o => Tables.PodRestarts((Pod)o)),
                new("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.", o => o.Metadata.CreationTimestamp),
                new("IP", "string", "IP address allocated to the pod.", o => ((Pod)o).Status?.PodIP, Priority: 1),
                new("Node", "string", "Name of the Node to which this pod is assigned.", o => ((Pod)o).Spec.NodeName, Priority: 1),
                new("Nominated Node", "string", "Name of the node nominated by the scheduler.", o => ((Pod)o).Status?.NominatedNodeName, Priority: 1),
                new("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\".", o => Tables.PodReadinessGates((Pod)o), Priority: 1),
            ],
            SelectableFields = o =>
            {
                var pod = (Pod)o;
                return
                [
                    new("spec.nodeName", pod.Spec.NodeName ?? ""),
                    new("spec.restartPolicy", pod.Spec.RestartPolicy ?? ""),
                    new("spec.schedulerName", pod.Spec.SchedulerName ?? ""),
                    new("spec.serviceAccountName", pod.Spec.ServiceAccountName ?? ""),
                    new("spec.hostNetwork", pod.Spec.HostNetwork == true ? "true" : "false"),
                    new("status.phase", pod.Status?.Phase ?? ""),
                    new("status.podIP", pod.Status?.PodIP ?? ""),
                    new("status.nominatedNodeName", pod.Status?.NominatedNodeName ?? ""),
                ];
            },
        },
        new()
        {
            Group = "", Version = "v1", Kind = "ConfigMap", Plural = "configmaps", Singular = "configmap", Namespaced = true,
            ShortNames = ["cm"], TypeInfo = VergeJsonContext.Default.ConfigMap,
            Validate = (o, old) => CoreValidation.ValidateConfigMap((ConfigMap)o, (ConfigMap?)old),
            Columns = [new("Data", "integer", "Number of data entries", o => (((ConfigMap)o).Data?.Count ?? 0) + (((ConfigMap)o).BinaryData?.Count ?? 0))],
        },
        new()
        {
            Group = "", Version = "v1", Kind = "Secret", Plural = "secrets", Singular = "secret", Namespaced = true,
            TypeInfo = VergeJsonContext.Default.Secret,
            ApplyDefaults = o => CoreDefaults.Secret((Secret)o),
            Validate = (o, old) => CoreValidation.ValidateSecret((Secret)o, (Secret?)old),
            Columns =
            [
                new("Type", "string", "The type of the secret", o => ((Secret)o).Type),
                new("Data", "integer", "Number of data entries", o => ((Secret)o).Data?.Count ?? 0),
            ],
            SelectableFields = o => [new("type", ((Secret)o).Type ?? "")],
        },
        new()
        {
            Group = "", Version = "v1", Kind = "Event", Plural = "events", Singular = "event", Namespaced = true,
            ShortNames = ["ev"], TypeInfo = VergeJsonContext.Default.Event,
            Validate = (o, _) => CoreValidation.ValidateEvent((Event)o, o.Metadata.Namespace),
            Columns =
            [
                new("Last Seen", "string", "Time when this Event was last seen", o => Tables.EventLastSeen((Event)o)),
                new("Type", "string", "Type of this event (Normal, Warning)", o => ((Event)o).Type),
                new("Reason", "string", "Reason why this event was generated", o => ((Event)o).Reason),
                new("Object", "string", "The object that this event is about", o => Tables.EventObject((Event)o)),
                new("Source", "string", "The component reporting this event", o => Tables.EventSource((Event)o), Priority: 1),
                new("Message", "string", "A human-readable description of the status of this operation", o => ((Event)o).Message),
                new("First Seen", "string", "Time when this Event was first seen", o => ((Event)o).FirstTimestamp ?? ((Event)o).EventTime, Priority: 1),
                new("Count", "integer", "The number of times this event has occurred", o => ((Event)o).Count ?? 1, Priority: 1),
                new("Name", "string", "The name of the event", o => o.Metadata.Name, Priority: 1, Format: "name"),
            ],
            SelectableFields = o =>
            {
                var ev = (Event)o;
                var involved = ev.InvolvedObject;
                return
                [
                    new("involvedObject.kind", involved.Kind ?? ""),
                    new("involvedObject.namespace", involved.Namespace ?? ""),
                    new("involvedObject.name", involved.Name ?? ""),
                    new("involvedObject.uid", involved.Uid ?? ""),
                    new("involvedObject.apiVersion", involved.ApiVersion ?? ""),
                    new("involvedObject.resourceVersion", involved.ResourceVersion ?? ""),
                    new("involvedObject.fieldPath", involved.FieldPath ?? ""),
                    new("reason", ev.Reason ?? ""),
                    new("reportingComponent", ev.ReportingComponent ?? ""),
                    new("source", ev.Source?.Component ?? ""),
                    new("type", ev.Type ?? ""),
                ];
            },
        },
        new()
        {
            Group = "apps", Version = "v1", Kind = "Deployment", Plural = "deployments", Singular = "deployment", Namespaced = true,
            ShortNames = ["deploy"], Categories = ["all"], HasStatus = true, TypeInfo = VergeJsonContext.Default.Deployment,
            Scale = new(
                o => ((Deployment)o).Spec.Replicas ?? 1,
                (o, n) => ((Deployment)o).Spec.Replicas = n,
                o => ((Deployment)o).Status?.Replicas ?? 0,
                o => Tables.SelectorString(((Deployment)o).Spec.Selector)),
            ApplyDefaults = o => AppsDefaults.Deployment((Deployment)o),
            Validate = (o, old) => AppsValidation.ValidateDeployment((Deployment)o, (Deployment?)old),
            ValidateStatusUpdate = (o, old) => AppsValidation.ValidateDeploymentStatusUpdate((Deployment)o, (Deployment)old),
            Columns =
            [
                new("Ready", "string", "Number of the pod with ready state", o => $"{((Deployment)o).Status?.ReadyReplicas ?? 0}/{((Deployment)o).Spec.Replicas ?? 1}"),
                new("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", o => ((Deployment)o).Status?.UpdatedReplicas ?? 0),
                new("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", o => ((Deployment)o).Status?.AvailableReplicas ?? 0),
                new("Containers", "string", "Names of each container in the template.", o => Tables.ContainerNames(((Deployment)o).Spec.Template), Priority: 1),
                new("Images", "string", "Images referenced by each container in the template.", o => Tables.Images(((Deployment)o).Spec.Template), Priority: 1),
                new("Selector", "string", "Label selector for pods.", o => Tables.SelectorString(((Deployment)o).Spec.Selector), Priority: 1),
            ],
        },
        new()
        {
            Group = "apps", Version = "v1", Kind = "ReplicaSet", Plural = "replicasets", Singular = "replicaset", Namespaced = true,
            ShortNames = ["rs"], Categories = ["all"], HasStatus = true, TypeInfo = VergeJsonContext.Default.ReplicaSet,
            Scale = new(
                o => ((ReplicaSet)o).Spec.Replicas ?? 1,
                (o, n) => ((ReplicaSet)o).Spec.Replicas = n,
                o => ((ReplicaSet)o).Status?.Replicas ?? 0,
                o => Tables.SelectorString(((ReplicaSet)o).Spec.Selector)),
            ApplyDefaults = o => AppsDefaults.ReplicaSet((ReplicaSet)o),
            Validate = (o, old) => AppsValidation.ValidateReplicaSet((ReplicaSet)o, (ReplicaSet?)old),
            ValidateStatusUpdate = (o, _) => AppsValidation.ValidateReplicaSetStatusUpdate((ReplicaSet)o),
            Columns =
            [
                new("Desired", "integer", "Number of desired pods.", o => ((ReplicaSet)o).Spec.Replicas ?? 1),
                new("Current", "integer", "Number of actual pods.", o => ((ReplicaSet)o).Status?.Replicas ?? 0),
                new("Ready", "integer", "Number of ready pods.", o => ((ReplicaSet)o).Status?.ReadyReplicas ?? 0),
                new("Containers", "string", "Names of each container in the template.", o => Tables.ContainerNames(((ReplicaSet)o).Spec.Template), Priority: 1),
                new("Images", "string", "Images referenced by each container in the template.", o => Tables.Images(((ReplicaSet)o).Spec.Template), Priority: 1),
                new("Selector", "string", "Label selector for pods.", o => Tables.SelectorString(((ReplicaSet)o).Spec.Selector), Priority: 1),
            ],
        },
        new()
        {
            Group = "apps", Version = "v1", Kind = "DaemonSet", Plural = "daemonsets", Singular = "daemonset", Namespaced = true,
            ShortNames = ["ds"], Categories = ["all"], HasStatus = true, TypeInfo = VergeJsonContext.Default.DaemonSet,
            ApplyDefaults = o => AppsDefaults.DaemonSet((DaemonSet)o),
            Validate = (o, old) => AppsValidation.ValidateDaemonSet((DaemonSet)o, (DaemonSet?)old),
            ValidateStatusUpdate = (o, old) => AppsValidation.ValidateDaemonSetStatusUpdate((DaemonSet)o, (DaemonSet)old),
            Columns =
            [
                new("Desired", "integer", "The total number of nodes that should be running the daemon pod.", o => ((DaemonSet)o).Status?.DesiredNumberScheduled ?? 0),
                new("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", o => ((DaemonSet)o).Status?.CurrentNumberScheduled ?? 0),
                new("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.", o => ((DaemonSet)o).Status?.NumberReady ?? 0),
                new("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod", o => ((DaemonSet)o).Status?.UpdatedNumberScheduled ?? 0),
                new("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.", o => ((DaemonSet)o).Status?.NumberAvailable ?? 0),
                new("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node.", o => Tables.MapString(((DaemonSet)o).Spec.Template.Spec?.NodeSelector)),
                new("Containers", "string", "Names of each container in the template.", o => Tables.ContainerNames(((DaemonSet)o).Spec.Template), Priority: 1),
                new("Images", "string", "Images referenced by each container in the template.", o => Tables.Images(((DaemonSet)o).Spec.Template), Priority: 1),
                new("Selector", "string", "A label query over pods that are managed by the daemon set.", o => Tables.SelectorString(((DaemonSet)o).Spec.Selector), Priority: 1),
            ],
        },
        new()
        {
            Group = "apps", Version = "v1", Kind = "ControllerRevision", Plural = "controllerrevisions", Singular = "controllerrevision", Namespaced = true,
            TypeInfo = VergeJsonContext.Default.ControllerRevision,
            Validate = (o, old) => AppsValidation.ValidateControllerRevision((ControllerRevision)o, (ControllerRevision?)old),
            Columns =
            [
                new("Controller", "string", "The controller that owns this revision.", o => Tables.ControllerOf(o)),
                new("Revision", "integer", "Revision indicates the revision of the state represented by Data.", o => ((ControllerRevision)o).Revision),
            ],
        },
        new()
        {
            Group = "coordination.k8s.io", Version = "v1", Kind = "Lease", Plural = "leases", Singular = "lease", Namespaced = true,
            TypeInfo = VergeJsonContext.Default.Lease,
            Validate = (o, old) => CoordinationValidation.ValidateLease((Lease)o, (Lease?)old),
            Columns = [new("Holder", "string", "The holder of the lease", o => ((Lease)o).Spec.HolderIdentity)],
        },
        new()
        {
            Group = "policy", Version = "v1", Kind = "PodDisruptionBudget", Plural = "poddisruptionbudgets", Singular = "poddisruptionbudget", Namespaced = true,
            ShortNames = ["pdb"], HasStatus = true, TypeInfo = VergeJsonContext.Default.PodDisruptionBudget,
            // As in Kubernetes, whose status is a struct: every budget has one, zero until the controller fills it.
            ApplyDefaults = o => ((PodDisruptionBudget)o).Status ??= new PodDisruptionBudgetStatus(),
            Validate = (o, _) => DisruptionBudgets.Validate((PodDisruptionBudget)o),
            ValidateStatusUpdate = (o, _) => DisruptionBudgets.ValidateStatusUpdate((PodDisruptionBudget)o),
            Columns =
            [
                new("Min Available", "string", "The minimum number of pods that must be available.", o => ((PodDisruptionBudget)o).Spec.MinAvailable?.StringValue ?? "N/A"),
                new("Max Unavailable", "string", "The maximum number of pods that may be unavailable.", o => ((PodDisruptionBudget)o).Spec.MaxUnavailable?.StringValue ?? "N/A"),
                new("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time.", o => ((PodDisruptionBudget)o).Status?.DisruptionsAllowed ?? 0),
            ],
        },
        new()
        {
            Group = "scheduling.k8s.io", Version = "v1", Kind = "PriorityClass", Plural = "priorityclasses", Singular = "priorityclass", Namespaced = false,
            ShortNames = ["pc"], TypeInfo = VergeJsonContext.Default.PriorityClass,
            ApplyDefaults = o => PriorityClasses.ApplyDefaults((PriorityClass)o),
            Validate = (o, old) => PriorityClasses.Validate((PriorityClass)o, (PriorityClass?)old),
            Columns =
            [
                new("Value", "integer", "value represents the integer value of this priority class.", o => ((PriorityClass)o).Value),
                new("Global-Default", "boolean", "globalDefault specifies whether this PriorityClass should be considered as the default priority.", o => ((PriorityClass)o).GlobalDefault == true),
                new("PreemptionPolicy", "string", "preemptionPolicy is the Policy for preempting pods with lower priority.", o => ((PriorityClass)o).PreemptionPolicy),
            ],
        },
        new()
        {
            Group = "edge.verge.dev", Version = "v1", Kind = "Site", Plural = "sites", Singular = "site", Namespaced = false,
            ShortNames = ["st"], HasStatus = true, TypeInfo = VergeJsonContext.Default.Site,
            ApplyDefaults = o => EdgeDefaults.Site((Site)o),
            Validate = (o, old) => EdgeValidation.ValidateSite((Site)o, (Site?)old),
            Columns =
            [
                new("Nodes", "integer", "Number of nodes in the site.", o => ((Site)o).Status?.Nodes ?? 0),
                new("Ready", "integer", "Number of ready nodes in the site.", o => ((Site)o).Status?.ReadyNodes ?? 0),
                new("Region", "string", "Region of the site.", o => ((Site)o).Spec.Location?.Region, Priority: 1),
                new("Zone", "string", "Zone of the site.", o => ((Site)o).Spec.Location?.Zone, Priority: 1),
            ],
        },
        new()
        {
            Group = "edge.verge.dev", Version = "v1", Kind = "Device", Plural = "devices", Singular = "device", Namespaced = true,
            ShortNames = ["dev"], HasStatus = true, TypeInfo = VergeJsonContext.Default.Device,
            Validate = (o, old) => EdgeValidation.ValidateDevice((Device)o, (Device?)old),
            Columns =
            [
                new("Protocol", "string", "Protocol the device speaks.", o => ((Device)o).Spec.Protocol),
                new("Connected", "string", "Whether the device is connected to its gateway.", o => ((Device)o).Status?.Connected == true ? "True" : "False"),
                new("Last Seen", "string", "When the gateway last heard from the device.", o => ((Device)o).Status?.LastSeen),
                new("Site", "string", "The site of the device.", o => ((Device)o).Spec.Site, Priority: 1),
                new("Gateway", "string", "The gateway node the device is connected to.", o => ((Device)o).Status?.GatewayNode, Priority: 1),
            ],
            SelectableFields = o =>
            [
                new("spec.site", ((Device)o).Spec.Site ?? ""),
                new("spec.nodeName", ((Device)o).Spec.NodeName ?? ""),
                new("spec.protocol", ((Device)o).Spec.Protocol),
            ],
        },
        new()
        {
            Group = "edge.verge.dev", Version = "v1", Kind = "DataRule", Plural = "datarules", Singular = "datarule", Namespaced = true,
            ShortNames = ["dr"], HasStatus = true, TypeInfo = VergeJsonContext.Default.DataRule,
            ApplyDefaults = o => EdgeDefaults.DataRule((DataRule)o),
            Validate = (o, old) => EdgeValidation.ValidateDataRule((DataRule)o, (DataRule?)old),
            Columns =
            [
                new("Enabled", "string", "Whether the rule runs.", o => ((DataRule)o).Spec.Enabled == false ? "false" : "true"),
                new("Nodes", "integer", "Number of gateway nodes running the rule.", o => ((DataRule)o).Status?.Nodes ?? 0),
                new("Site", "string", "The site whose gateways run the rule.", o => ((DataRule)o).Spec.Site, Priority: 1),
            ],
            SelectableFields = o => [new("spec.site", ((DataRule)o).Spec.Site ?? "")],
        },
    ];

}
