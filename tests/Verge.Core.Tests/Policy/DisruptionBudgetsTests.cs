using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Core.Tests.Policy;

public sealed class DisruptionBudgetsTests
{
    private static PodDisruptionBudget Budget(IntOrString? min = null, IntOrString? max = null, string? policy = null) => new()
    {
        Metadata = new ObjectMeta { Name = "web", Namespace = "shop", Generation = 1 },
        Spec = new PodDisruptionBudgetSpec
        {
            MinAvailable = min,
            MaxUnavailable = max,
            Selector = new LabelSelector { MatchLabels = new() { ["app"] = "web" } },
            UnhealthyPodEvictionPolicy = policy,
        },
    };

    [Fact]
    public void Validate_AValidBudget_HasNoErrors()
    {
        Assert.Empty(DisruptionBudgets.Validate(Budget(min: 1)));
        Assert.Empty(DisruptionBudgets.Validate(Budget(max: "25%", policy: "AlwaysAllow")));
        Assert.Empty(DisruptionBudgets.Validate(Budget()));
    }

    [Fact]
    public void Validate_BothMinAvailableAndMaxUnavailable_IsRefusedOnTheSpec()
    {
        var error = Assert.Single(DisruptionBudgets.Validate(Budget(min: 1, max: 1)));

        Assert.Equal("spec", error.Field);
        Assert.EndsWith(": minAvailable and maxUnavailable cannot be both set", error.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:1, ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeAndOverAHundredPercentAndNonPercentStrings_AreInvalid()
    {
        Assert.Equal(
            ["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"],
            DisruptionBudgets.Validate(Budget(min: -1)).Select(e => e.ToString()));
        Assert.Equal(
            ["spec.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%"],
            DisruptionBudgets.Validate(Budget(max: "150%")).Select(e => e.ToString()));
        var error = Assert.Single(DisruptionBudgets.Validate(Budget(min: "half")));
        Assert.StartsWith("spec.minAvailable: Invalid value: \"half\": a valid percent string must be", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AnUnknownUnhealthyPodEvictionPolicy_ListsTheSupportedOnes()
    {
        Assert.Equal(
            ["spec.unhealthyPodEvictionPolicy: Unsupported value: \"Sometimes\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""],
            DisruptionBudgets.Validate(Budget(min: 1, policy: "Sometimes")).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateStatusUpdate_NegativeCountsAndConditionsWithoutReasonOrTime_AreInvalid()
    {
        var pdb = Budget(min: 1);
        pdb.Status = new PodDisruptionBudgetStatus
        {
            DisruptionsAllowed = -1,
            ExpectedPods = -2,
            Conditions = [new Condition { Type = "DisruptionAllowed", Status = "Maybe" }],
        };

        Assert.Equal(
            [
                "status.conditions[0].status: Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\"",
                "status.conditions[0].lastTransitionTime: Required value: must be set",
                "status.conditions[0].reason: Required value: must be set",
                "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0",
                "status.expectedPods: Invalid value: -2: must be greater than or equal to 0",
            ],
            DisruptionBudgets.ValidateStatusUpdate(pdb).Select(e => e.ToString()));
    }

    [Fact]
    public void Covers_ANullSelectorMatchesNothing_AnEmptyOneEveryPodOfTheNamespace()
    {
        var pod = new Pod { Metadata = new ObjectMeta { Name = "p", Namespace = "shop", Labels = new() { ["app"] = "db" } } };
        var pdb = Budget(min: 1);
        Assert.False(DisruptionBudgets.Covers(pdb, pod));

        pdb.Spec.Selector = new LabelSelector();
        Assert.True(DisruptionBudgets.Covers(pdb, pod));
        pod.Metadata.Namespace = "other";
        Assert.False(DisruptionBudgets.Covers(pdb, pod));

        pdb.Spec.Selector = null;
        pod.Metadata.Namespace = "shop";
        Assert.False(DisruptionBudgets.Covers(pdb, pod));
    }

    [Fact]
    public void UpdateDisruptionAllowedCondition_KeepsTheTransitionTime_UntilTheStatusChanges()
    {
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var status = new PodDisruptionBudgetStatus { DisruptionsAllowed = 1, ObservedGeneration = 1 };

        DisruptionBudgets.UpdateDisruptionAllowedCondition(status, t0);
        DisruptionBudgets.UpdateDisruptionAllowedCondition(status, t0.AddMinutes(1));
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal(("True", "SufficientPods", t0), (condition.Status, condition.Reason, condition.LastTransitionTime));

        status.DisruptionsAllowed = 0;
        DisruptionBudgets.UpdateDisruptionAllowedCondition(status, t0.AddMinutes(2));
        condition = Assert.Single(status.Conditions!);
        Assert.Equal(("False", "InsufficientPods", t0.AddMinutes(2)), (condition.Status, condition.Reason, condition.LastTransitionTime));
    }
}
