using Verge.Controllers.Disruption;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Controllers.Tests.Disruption;

public sealed class DisruptionPlannerTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-03-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static PodDisruptionBudget Budget(IntOrString? min = null, IntOrString? max = null) => new()
    {
        Metadata = new ObjectMeta { Name = "web", Namespace = "default", Generation = 2 },
        Spec = new PodDisruptionBudgetSpec { MinAvailable = min, MaxUnavailable = max, Selector = new LabelSelector { MatchLabels = new() { ["app"] = "web" } } },
    };

    private static Pod Pod(string name, bool ready = true, string? owner = "rs-uid", bool deleting = false) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = name,
            Namespace = "default",
            Labels = new() { ["app"] = "web" },
            DeletionTimestamp = deleting ? Now : null,
            OwnerReferences = owner is null ? null : [new OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "rs", Uid = owner, Controller = true }],
        },
        Status = new PodStatus { Phase = "Running", Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
    };

    private static ControllerScale? Scale(OwnerReference reference, string? ns) => new(reference.Uid, 5);

    [Fact]
    public void IntegerMinAvailable_CountsTheMatchingPods_AndTheReadyOnesNotBeingDeleted()
    {
        var sync = DisruptionPlanner.Sync(Budget(min: 2), [Pod("a"), Pod("b"), Pod("c", ready: false), Pod("d", deleting: true)], Scale, Now);

        var status = sync.Status!;
        Assert.Equal((4, 2, 2, 0, 2L), (status.ExpectedPods, status.CurrentHealthy, status.DesiredHealthy, status.DisruptionsAllowed, status.ObservedGeneration!.Value));
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal(("DisruptionAllowed", "False", "InsufficientPods"), (condition.Type, condition.Status, condition.Reason));
    }

    [Fact]
    public void MaxUnavailableAndPercentages_CountTheControllersScale_RoundingUp()
    {
        var pods = new[] { Pod("a"), Pod("b"), Pod("c"), Pod("d", owner: "other-uid") };

        var byMax = DisruptionPlanner.Sync(Budget(max: "30%"), pods, Scale, Now).Status!;
        Assert.Equal((10, 7, 4, 0), (byMax.ExpectedPods, byMax.DesiredHealthy, byMax.CurrentHealthy, byMax.DisruptionsAllowed));

        var byPercent = DisruptionPlanner.Sync(Budget(min: "25%"), pods, Scale, Now).Status!;
        Assert.Equal((10, 3, 1), (byPercent.ExpectedPods, byPercent.DesiredHealthy, byPercent.DisruptionsAllowed));
        Assert.Equal(("True", "SufficientPods"), (byPercent.Conditions![0].Status, byPercent.Conditions[0].Reason));
    }

    [Fact]
    public void PodsWithoutAController_AreLeftOutOfTheScale_AndReported()
    {
        var sync = DisruptionPlanner.Sync(Budget(max: 1), [Pod("a"), Pod("bare", owner: null)], Scale, Now);

        Assert.Equal(["bare"], sync.Unmanaged);
        Assert.Equal(5, sync.Status!.ExpectedPods);
    }

    [Fact]
    public void AControllerWithoutAScale_FailsTheSync_AndTheFailSafeAllowsNothing()
    {
        var pdb = Budget(max: 1);
        pdb.Status = new PodDisruptionBudgetStatus { DisruptionsAllowed = 3, ExpectedPods = 4, ObservedGeneration = 1 };
        var sync = DisruptionPlanner.Sync(pdb, [Pod("a")], (_, _) => throw new InvalidOperationException("daemonsets.apps does not implement the scale subresource"), Now);

        Assert.Null(sync.Status);
        Assert.Equal("daemonsets.apps does not implement the scale subresource", sync.Error);
        var failSafe = DisruptionPlanner.FailSafe(pdb, sync.Error!, Now);
        Assert.Equal((0, 4), (failSafe.DisruptionsAllowed, failSafe.ExpectedPods));
        var condition = Assert.Single(failSafe.Conditions!);
        Assert.Equal(("False", "SyncFailed", "daemonsets.apps does not implement the scale subresource"), (condition.Status, condition.Reason, condition.Message));
    }

    [Fact]
    public void NoExpectedPods_AllowsNoDisruption()
    {
        var status = DisruptionPlanner.Sync(Budget(max: 1), [], Scale, Now).Status!;

        Assert.Equal((0, 0, 0), (status.ExpectedPods, status.DesiredHealthy, status.DisruptionsAllowed));
    }

    [Fact]
    public void DisruptedPods_CountAsUnhealthyUntilTheTimeout_ThenAreDroppedAndReported()
    {
        var pdb = Budget(min: 1);
        pdb.Status = new PodDisruptionBudgetStatus
        {
            DisruptedPods = new()
            {
                ["fresh"] = Now.AddSeconds(-30),
                ["stale"] = Now.AddMinutes(-3),
                ["going"] = Now.AddSeconds(-10),
                ["gone"] = Now.AddSeconds(-10),
            },
        };

        var sync = DisruptionPlanner.Sync(pdb, [Pod("fresh"), Pod("stale"), Pod("going", deleting: true), Pod("other")], Scale, Now);

        Assert.Equal(["fresh"], sync.Status!.DisruptedPods!.Keys);
        Assert.Equal(2, sync.Status.CurrentHealthy);
        Assert.Equal(["stale"], sync.NotDeleted.Select(p => p.Metadata.Name));
        Assert.Equal(Now.AddSeconds(90), sync.RecheckAt);
    }

    [Fact]
    public void UpToDate_OnlyWhenCountsDisruptedPodsGenerationAndConditionAgree()
    {
        var pdb = Budget(min: 1);
        var status = DisruptionPlanner.Sync(pdb, [Pod("a"), Pod("b")], Scale, Now).Status!;
        Assert.False(DisruptionPlanner.UpToDate(pdb, status));

        pdb.Status = status;
        Assert.True(DisruptionPlanner.UpToDate(pdb, DisruptionPlanner.Sync(pdb, [Pod("a"), Pod("b")], Scale, Now.AddMinutes(1)).Status!));
        Assert.False(DisruptionPlanner.UpToDate(pdb, DisruptionPlanner.Sync(pdb, [Pod("a")], Scale, Now).Status!));

        pdb.Metadata.Generation = 3;
        Assert.False(DisruptionPlanner.UpToDate(pdb, DisruptionPlanner.Sync(pdb, [Pod("a"), Pod("b")], Scale, Now).Status!));
    }
}
