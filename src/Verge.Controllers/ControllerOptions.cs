namespace Verge.Controllers;

/// <summary>Settings of the controllers that <c>verge server</c> runs on its leader, with Kubernetes' defaults.</summary>
public sealed class ControllerOptions
{
    /// <summary>Concurrent reconciles of Deployments (kube-controller-manager: 5).</summary>
    public int DeploymentWorkers { get; set; } = 5;

    /// <summary>Concurrent reconciles of ReplicaSets (kube-controller-manager: 5).</summary>
    public int ReplicaSetWorkers { get; set; } = 5;

    /// <summary>Concurrent garbage collection workers (kube-controller-manager: 20).</summary>
    public int GarbageCollectorWorkers { get; set; } = 20;

    /// <summary>The first retry delay of a failed key; it doubles per failure.</summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The longest retry delay of a failed key.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(1000);

    /// <summary>How long one reconcile may take before it is cancelled and retried.</summary>
    public TimeSpan ReconcileTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The most pods a ReplicaSet creates or deletes in one reconcile (Kubernetes' burstReplicas).</summary>
    public int BurstReplicas { get; set; } = 500;

    /// <summary>The component name on events and the field manager of the controllers' writes.</summary>
    public string Component { get; set; } = "verge-controller-manager";

    public LeaderElectionOptions LeaderElection { get; } = new();

    /// <summary>Settings of the scheduling loop.</summary>
    public Scheduling.SchedulingLoopOptions Scheduling { get; } = new();

    /// <summary>Settings of the node lifecycle controller (edge defaults: 4 s grace, checks every 1 s).</summary>
    public NodeLifecycleOptions NodeLifecycle { get; } = new();

    /// <summary>Settings of the DaemonSet controller.</summary>
    public DaemonSetOptions DaemonSets { get; } = new();

    public void Validate()
    {
        if (DeploymentWorkers < 1 || ReplicaSetWorkers < 1 || GarbageCollectorWorkers < 1)
        {
            throw new ArgumentException("controller worker counts must be positive");
        }

        if (BaseBackoff <= TimeSpan.Zero || MaxBackoff < BaseBackoff)
        {
            throw new ArgumentException("BaseBackoff must be positive and at most MaxBackoff");
        }

        if (BurstReplicas < 1)
        {
            throw new ArgumentException("BurstReplicas must be positive");
        }

        LeaderElection.Validate();
        Scheduling.Validate();
        NodeLifecycle.Validate();
        DaemonSets.Validate();
    }
}

/// <summary>Leader election on a coordination.k8s.io/v1 Lease, with client-go's defaults.</summary>
public sealed class LeaderElectionOptions
{
    public string LeaseName { get; set; } = "verge-controller-manager";

    public string LeaseNamespace { get; set; } = "kube-system";

    /// <summary>How long a lease that is not renewed keeps others out.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps leading without a successful renewal.</summary>
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try to acquire and the leader renews.</summary>
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>This replica's identity; defaults to the host name and a random suffix.</summary>
    public string Identity { get; set; } = $"{Environment.MachineName}_{Guid.NewGuid():N}"[..Math.Min(Environment.MachineName.Length + 9, 200)];

    /// <summary>Whether a leader that stops gives the lease up at once (instead of letting it expire).</summary>
    public bool ReleaseOnCancel { get; set; } = true;

    public void Validate()
    {
        if (LeaseDuration <= RenewDeadline)
        {
            throw new ArgumentException("LeaseDuration must be greater than RenewDeadline");
        }

        if (RenewDeadline <= RetryPeriod * 1.2)
        {
            throw new ArgumentException("RenewDeadline must be greater than RetryPeriod times 1.2");
        }

        if (RetryPeriod <= TimeSpan.Zero)
        {
            throw new ArgumentException("RetryPeriod must be positive");
        }

        ArgumentException.ThrowIfNullOrEmpty(Identity);
    }
}
