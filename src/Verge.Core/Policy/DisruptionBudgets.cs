using System.Globalization;
using System.Text;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;
using Verge.Core.Validation;

namespace Verge.Core.Policy;

/// <summary>
/// The rules of PodDisruptionBudgets that the API server, the disruption controller and the scheduling loop share:
/// Kubernetes' constants, validation, which pods a budget selects, and the DisruptionAllowed condition
/// (component-helpers' poddisruptionbudget package).
/// </summary>
public static class DisruptionBudgets
{
    public const string DisruptionAllowedCondition = "DisruptionAllowed";

    /// <summary>The controller could not compute the budget; no disruption is allowed.</summary>
    public const string SyncFailedReason = "SyncFailed";

    /// <summary>More pods are healthy than the budget needs.</summary>
    public const string SufficientPodsReason = "SufficientPods";

    /// <summary>The healthy pods are at or below what the budget needs.</summary>
    public const string InsufficientPodsReason = "InsufficientPods";

    /// <summary>A running pod that is not ready may be evicted only while the budget is met (the default).</summary>
    public const string IfHealthyBudget = "IfHealthyBudget";

    /// <summary>A running pod that is not ready may always be evicted.</summary>
    public const string AlwaysAllow = "AlwaysAllow";

    /// <summary>
    /// How long a pod stays in <c>status.disruptedPods</c> after its eviction was allowed, waiting for the controller to
    /// see it being deleted (Kubernetes' DeletionTimeout). A pod still not deleted then counts again.
    /// </summary>
    public static readonly TimeSpan DeletionTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The most entries <c>status.disruptedPods</c> may hold before evictions are refused: that many evictions the
    /// controller has not seen yet means something is wrong (Kubernetes' MaxDisruptedPodSize).
    /// </summary>
    public const int MaxDisruptedPodSize = 2000;

    /// <summary>Kubernetes' ValidatePodDisruptionBudget (the spec may change on update, as in policy/v1).</summary>
    public static List<FieldError> Validate(PodDisruptionBudget pdb)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        var errors = new List<FieldError>();
        var spec = pdb.Spec;
        if (spec.MinAvailable is not null && spec.MaxUnavailable is not null)
        {
            errors.Add(FieldError.Invalid("spec", SpecValue(spec), "minAvailable and maxUnavailable cannot be both set"));
        }

        AppsValidation.ValidatePositiveIntOrPercent(spec.MinAvailable, "spec.minAvailable", errors);
        AppsValidation.NotMoreThan100Percent(spec.MinAvailable, "spec.minAvailable", errors);
        AppsValidation.ValidatePositiveIntOrPercent(spec.MaxUnavailable, "spec.maxUnavailable", errors);
        AppsValidation.NotMoreThan100Percent(spec.MaxUnavailable, "spec.maxUnavailable", errors);
        SelectorValidation.ValidateLabelSelector(spec.Selector, "spec.selector", errors);
        if (spec.UnhealthyPodEvictionPolicy is { } policy && policy is not (IfHealthyBudget or AlwaysAllow))
        {
            errors.Add(FieldError.NotSupported("spec.unhealthyPodEvictionPolicy", policy, [AlwaysAllow, IfHealthyBudget]));
        }

        return errors;
    }

    /// <summary>Kubernetes' ValidatePodDisruptionBudgetStatusUpdate: valid conditions and no negative counts.</summary>
    public static List<FieldError> ValidateStatusUpdate(PodDisruptionBudget pdb)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        var errors = new List<FieldError>();
        if (pdb.Status is not { } status)
        {
            return errors;
        }

        ConditionValidation.ValidateConditions(status.Conditions, "status.conditions", errors);
        NonNegative(status.DisruptionsAllowed, "status.disruptionsAllowed", errors);
        NonNegative(status.CurrentHealthy, "status.currentHealthy", errors);
        NonNegative(status.DesiredHealthy, "status.desiredHealthy", errors);
        NonNegative(status.ExpectedPods, "status.expectedPods", errors);
        return errors;
    }

    /// <summary>
    /// The pods a budget selects, as a matcher: a null selector selects nothing, an empty one every pod of the
    /// namespace (policy/v1), an invalid one nothing.
    /// </summary>
    public static LabelSelectorExpression SelectorOf(PodDisruptionBudget pdb)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        try
        {
            return LabelSelectorExpression.FromLabelSelector(pdb.Spec.Selector);
        }
        catch (FormatException)
        {
            return LabelSelectorExpression.Nothing;
        }
    }

    /// <summary>Whether <paramref name="pdb"/> covers <paramref name="pod"/>: same namespace, and its selector matches.</summary>
    public static bool Covers(PodDisruptionBudget pdb, Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        ArgumentNullException.ThrowIfNull(pod);
        return pdb.Metadata.Namespace == pod.Metadata.Namespace && SelectorOf(pdb).Matches(pod.Metadata.Labels);
    }

    /// <summary>Whether the pod's Ready condition is True (Kubernetes' IsPodReady), which is what a budget counts as healthy.</summary>
    public static bool IsPodReady(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return pod.Status?.Conditions?.Find(c => c.Type == "Ready")?.Status == "True";
    }

    /// <summary>
    /// Sets the DisruptionAllowed condition from <c>status.disruptionsAllowed</c>: True with SufficientPods when it is
    /// positive, False with InsufficientPods otherwise (component-helpers' UpdateDisruptionAllowedCondition).
    /// </summary>
    public static void UpdateDisruptionAllowedCondition(PodDisruptionBudgetStatus status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var allowed = status.DisruptionsAllowed > 0;
        SetCondition(status, new Condition
        {
            Type = DisruptionAllowedCondition,
            Status = allowed ? "True" : "False",
            Reason = allowed ? SufficientPodsReason : InsufficientPodsReason,
            Message = "",
            ObservedGeneration = status.ObservedGeneration,
        }, now);
    }

    /// <summary>Whether the DisruptionAllowed condition says what the status's counts say (component-helpers' ConditionsAreUpToDate).</summary>
    public static bool ConditionsAreUpToDate(PodDisruptionBudget pdb)
    {
        ArgumentNullException.ThrowIfNull(pdb);
        var condition = pdb.Status?.Conditions?.Find(c => c.Type == DisruptionAllowedCondition);
        if (condition is null || pdb.Status!.ObservedGeneration != pdb.Metadata.Generation)
        {
            return false;
        }

        return pdb.Status.DisruptionsAllowed > 0
            ? condition is { Status: "True", Reason: SufficientPodsReason }
            : condition is { Status: "False", Reason: InsufficientPodsReason };
    }

    /// <summary>
    /// Adds or replaces the condition of <paramref name="condition"/>'s type, as apimachinery's SetStatusCondition:
    /// the transition time changes only when the status does.
    /// </summary>
    public static void SetCondition(PodDisruptionBudgetStatus status, Condition condition, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(condition);
        var conditions = status.Conditions ??= [];
        var index = conditions.FindIndex(c => c.Type == condition.Type);
        if (index < 0)
        {
            condition.LastTransitionTime ??= now;
            conditions.Add(condition);
            return;
        }

        var existing = conditions[index];
        condition.LastTransitionTime = existing.Status == condition.Status ? existing.LastTransitionTime ?? now : condition.LastTransitionTime ?? now;
        conditions[index] = condition;
    }

    private static void NonNegative(int value, string path, List<FieldError> errors)
    {
        if (value < 0)
        {
            errors.Add(FieldError.Invalid(path, value, "must be greater than or equal to 0"));
        }
    }

    /// <summary>The spec in the shape of Go's %#v, with the IntOrString values written out instead of pointers.</summary>
    private static GoValue SpecValue(PodDisruptionBudgetSpec spec)
    {
        var sb = new StringBuilder("policy.PodDisruptionBudgetSpec{MinAvailable:");
        sb.Append(IntOrStringValue(spec.MinAvailable)).Append(", Selector:").Append(GoValue.Selector(spec.Selector).Text)
            .Append(", MaxUnavailable:").Append(IntOrStringValue(spec.MaxUnavailable))
            .Append(", UnhealthyPodEvictionPolicy:")
            .Append(spec.UnhealthyPodEvictionPolicy is { } policy ? $"\"{policy}\"" : "(*policy.UnhealthyPodEvictionPolicyType)(nil)")
            .Append('}');
        return new GoValue(sb.ToString());
    }

    private static string IntOrStringValue(IntOrString? value) => value switch
    {
        null => "(*intstr.IntOrString)(nil)",
        { IsString: true } v => $"\"{v.StringValue}\"",
        { } v => v.IntValue.ToString(CultureInfo.InvariantCulture),
    };
}
