using Verge.Core.Core;
using Verge.Core.Policy;

namespace Verge.Core.Tests.Policy;

public sealed class DisruptionTargetTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Mark_AddsTheConditionOnce_AndMovesTheTransitionTimeOnlyWhenItsStatusChanges()
    {
        var pod = new Pod { Status = new PodStatus { Conditions = [new PodCondition { Type = "Ready", Status = "True" }] } };

        Assert.True(DisruptionTarget.Mark(pod, DisruptionTarget.TaintReason, DisruptionTarget.TaintMessage, T0));
        Assert.False(DisruptionTarget.Mark(pod, DisruptionTarget.TaintReason, DisruptionTarget.TaintMessage, T0.AddSeconds(5)));
        Assert.True(DisruptionTarget.IsMarked(pod));
        var condition = pod.Status.Conditions.Single(c => c.Type == "DisruptionTarget");
        Assert.Equal(("True", T0), (condition.Status, condition.LastTransitionTime));

        // Another reason while True: the reason changes, the transition time stays.
        Assert.True(DisruptionTarget.Mark(pod, DisruptionTarget.EvictionReason, DisruptionTarget.EvictionMessage, T0.AddSeconds(10)));
        Assert.Equal((DisruptionTarget.EvictionReason, T0), (condition.Reason, condition.LastTransitionTime));

        // From False to True: a transition.
        condition.Status = "False";
        Assert.True(DisruptionTarget.Mark(pod, DisruptionTarget.PreemptionReason, DisruptionTarget.PreemptionMessage(null), T0.AddSeconds(20)));
        Assert.Equal(("True", T0.AddSeconds(20)), (condition.Status, condition.LastTransitionTime));
        Assert.Equal("default-scheduler: preempting to accommodate a higher priority pod", condition.Message);
        Assert.Equal(2, pod.Status.Conditions.Count);
    }

    [Fact]
    public void Mark_OnAPodWithoutStatus_CreatesIt()
    {
        var pod = new Pod();

        Assert.True(DisruptionTarget.Mark(pod, DisruptionTarget.EvictionReason, DisruptionTarget.EvictionMessage, T0));

        Assert.True(DisruptionTarget.IsMarked(pod));
    }
}
