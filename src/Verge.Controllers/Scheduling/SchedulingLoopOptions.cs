using Verge.Scheduler;

namespace Verge.Controllers.Scheduling;

/// <summary>Settings of the scheduling loop, with kube-scheduler's defaults where it has one.</summary>
public sealed class SchedulingLoopOptions
{
    /// <summary>The <c>spec.schedulerName</c> this loop serves (pods with an empty name are served too).</summary>
    public string SchedulerName { get; set; } = "default-scheduler";

    /// <summary>The component on events and the field manager of the loop's writes.</summary>
    public string Component { get; set; } = "default-scheduler";

    /// <summary>The most pending pods handed to the scheduler at once.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How many bindings, status writes and deletions run at once.</summary>
    public int WriteConcurrency { get; set; } = 32;

    /// <summary>The wait before a pod that failed is tried again (kube-scheduler: 1 s); it doubles per failure.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between tries of a failing pod (kube-scheduler: 10 s).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// An unschedulable pod is tried again after this long even when no node or pod changed (kube-scheduler: 5 min),
    /// so a change the loop could not tell apart from noise is never missed for good.
    /// </summary>
    public TimeSpan UnschedulableFlush { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether a new term creates the built-in system PriorityClasses when they are missing.</summary>
    public bool CreateSystemPriorityClasses { get; set; } = true;

    /// <summary>The scheduling library's settings; the seed is advanced per batch.</summary>
    public SchedulerOptions Scheduler { get; set; } = SchedulerOptions.Default;

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(SchedulerName);
        ArgumentException.ThrowIfNullOrEmpty(Component);
        if (BatchSize < 1 || WriteConcurrency < 1)
        {
            throw new ArgumentException("BatchSize and WriteConcurrency must be positive");
        }

        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff || UnschedulableFlush <= TimeSpan.Zero)
        {
            throw new ArgumentException("InitialBackoff must be positive and at most MaxBackoff; UnschedulableFlush must be positive");
        }

        ArgumentNullException.ThrowIfNull(Scheduler);
        Scheduler.Validate();
    }
}
