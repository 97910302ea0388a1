namespace Verge.Controllers;

/// <summary>Settings of the DaemonSet controller.</summary>
public sealed class DaemonSetOptions
{
    /// <summary>Concurrent reconciles of DaemonSets (kube-controller-manager: 2).</summary>
    public int Workers { get; set; } = 2;

    public void Validate()
    {
        if (Workers < 1)
        {
            throw new ArgumentException("DaemonSet workers must be positive");
        }
    }
}
