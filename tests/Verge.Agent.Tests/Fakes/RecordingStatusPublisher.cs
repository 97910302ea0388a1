using Verge.Agent.Channel;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Fakes;

/// <summary>Keeps every published status and event.</summary>
internal sealed class RecordingStatusPublisher : IStatusPublisher
{
    private readonly Lock _lock = new();
    private readonly List<(string Uid, PodStatus Status)> _statuses = [];
    private readonly List<Event> _events = [];
    private readonly List<string> _terminated = [];

    public void PublishPodStatus(string podNamespace, string podName, string podUid, PodStatus status)
    {
        lock (_lock)
        {
            _statuses.Add((podUid, status));
        }
    }

    public void PublishPodTerminated(string podNamespace, string podName, string podUid, PodStatus? status)
    {
        lock (_lock)
        {
            _terminated.Add(podUid);
            if (status is not null)
            {
                _statuses.Add((podUid, status));
            }
        }
    }

    /// <summary>How many times the pod's termination was confirmed.</summary>
    public int TerminatedCount(string uid)
    {
        lock (_lock)
        {
            return _terminated.Count(u => u == uid);
        }
    }

    public void PublishEvent(Event recorded)
    {
        lock (_lock)
        {
            _events.Add(recorded);
        }
    }

    public IReadOnlyList<PodStatus> Statuses(string uid)
    {
        lock (_lock)
        {
            return [.. _statuses.Where(s => s.Uid == uid).Select(s => s.Status)];
        }
    }

    public PodStatus? Latest(string uid)
    {
        lock (_lock)
        {
            return _statuses.LastOrDefault(s => s.Uid == uid).Status;
        }
    }

    public IReadOnlyList<Event> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }
}
