namespace Verge.Agent.Drivers.Runc;

/// <summary>Settings of <see cref="RuncDriver"/>. The defaults suit an edge node running the agent as root.</summary>
public sealed class RuncDriverOptions
{
    /// <summary>
    /// The driver's own directory (under the agent's data dir): bundles/ holds one OCI bundle per task and state/ is
    /// runc's --root. Both must survive an agent restart, so this is not a temp dir in production.
    /// </summary>
    public string Root { get; set; } = "/var/lib/verge/runc";

    /// <summary>The runc binary, a path or a name looked up in PATH.</summary>
    public string RuncPath { get; set; } = "runc";

    /// <summary>
    /// Where container cgroups go. An absolute path ("/verge") is taken from each controller's root; a relative one
    /// nests under the agent's own cgroup. Each container gets PARENT/ID.
    /// </summary>
    public string CgroupParent { get; set; } = "/verge";

    /// <summary>Whether to layer an overlay mount over the shared image rootfs; when false (or when the mount fails) the rootfs is copied.</summary>
    public bool UseOverlay { get; set; } = true;

    /// <summary>
    /// The node's resolver configuration, the base of each container's /etc/resolv.conf for every DNS policy but None
    /// (empty when missing).
    /// </summary>
    public string ResolvConfPath { get; set; } = "/etc/resolv.conf";

    /// <summary>The node's hosts file, the base of /etc/hosts for containers on the host network (empty when missing).</summary>
    public string HostsPath { get; set; } = "/etc/hosts";

    /// <summary>How long a runc command (state, kill, delete) may take before it is killed.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long StartAsync waits for the container process to be running.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a task that is not our child is checked for its exit file.</summary>
    public TimeSpan ExitPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Root) || !Path.IsPathRooted(Root))
        {
            throw new ArgumentException($"runc driver root must be an absolute path, got '{Root}'");
        }

        if (string.IsNullOrWhiteSpace(RuncPath))
        {
            throw new ArgumentException("runc path must be set");
        }

        if (string.IsNullOrWhiteSpace(CgroupParent) || CgroupParent.Split('/').Any(part => part is ".."))
        {
            throw new ArgumentException($"cgroup parent must be a cgroup path without '..', got '{CgroupParent}'");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommandTimeout, TimeSpan.Zero, nameof(CommandTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ExitPollInterval, TimeSpan.Zero, nameof(ExitPollInterval));
    }
}
