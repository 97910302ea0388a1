namespace Verge.Core.Core;

/// <summary>Kubernetes' restartable init containers ("sidecars").</summary>
public static class Sidecars
{
    /// <summary>The only restartPolicy a container may have: an init container with it is a sidecar.</summary>
    public const string RestartAlways = "Always";

    /// <summary>Whether this init container keeps running beside the app containers (<c>restartPolicy: Always</c>).</summary>
    public static bool IsSidecar(this Container container)
    {
        ArgumentNullException.ThrowIfNull(container);
        return container.RestartPolicy == RestartAlways;
    }
}
