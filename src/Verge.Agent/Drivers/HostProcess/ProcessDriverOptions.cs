namespace Verge.Agent.Drivers.HostProcess;

/// <summary>Settings of the process driver.</summary>
internal sealed record ProcessDriverOptions
{
    /// <summary>Where each task keeps its pid and exit files and, without a working dir of its own, its working dir.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The cgroup v1 mount root; limits go to MEMORY_OR_PIDS/<see cref="CgroupParent"/>/TASK.</summary>
    public string CgroupRoot { get; init; } = "/sys/fs/cgroup";

    public string CgroupParent { get; init; } = "verge";

    /// <summary>The PATH every task starts with; the task's own env may replace it.</summary>
    public string DefaultPath { get; init; } = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public string ShellPath { get; init; } = "/bin/sh";

    /// <summary>util-linux setsid: gives the monitor and the task their own sessions and process groups.</summary>
    public string SetsidPath { get; init; } = "/usr/bin/setsid";

    /// <summary>util-linux setpriv: switches to runAsUser / runAsGroup.</summary>
    public string SetprivPath { get; init; } = "/usr/bin/setpriv";

    /// <summary>util-linux nsenter: runs a task in its pod's network namespace.</summary>
    public string NsenterPath { get; init; } = "/usr/bin/nsenter";

    /// <summary>How often exit files and processes are looked at while starting and stopping a task.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How often a running task that is not the agent's child (recovered after an agent restart) is checked for its
    /// exit; a task this agent started is waited on without polling.
    /// </summary>
    public TimeSpan ExitPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a start waits for the monitor to report the task's pid.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(StateDirectory);
        ArgumentException.ThrowIfNullOrEmpty(CgroupRoot);
        ArgumentException.ThrowIfNullOrEmpty(CgroupParent);
        ArgumentException.ThrowIfNullOrEmpty(DefaultPath);
        if (!Path.IsPathRooted(StateDirectory) || !Path.IsPathRooted(ShellPath) || !Path.IsPathRooted(SetsidPath) || !Path.IsPathRooted(SetprivPath) || !Path.IsPathRooted(NsenterPath))
        {
            throw new ArgumentException("StateDirectory, ShellPath, SetsidPath, SetprivPath and NsenterPath must be absolute paths");
        }

        if (CgroupParent.Contains('/', StringComparison.Ordinal) || CgroupParent is "." or "..")
        {
            throw new ArgumentException("CgroupParent must be a single directory name");
        }

        if (PollInterval <= TimeSpan.Zero || ExitPollInterval <= TimeSpan.Zero || StartTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("PollInterval, ExitPollInterval and StartTimeout must be positive");
        }
    }
}
