using Verge.Core.Apps;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Quantities;
using Verge.Core.Selectors;

namespace Verge.Core.Validation;

/// <summary>Validation of apps/v1 kinds, following Kubernetes' apps validation.</summary>
public static class AppsValidation
{
    private static readonly string[] DeploymentStrategies = ["Recreate", "RollingUpdate"];
    private static readonly string[] DaemonSetStrategies = ["RollingUpdate", "OnDelete"];

    public static List<FieldError> ValidateDeployment(Deployment deployment, Deployment? old)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var errors = new List<FieldError>();
        var spec = deployment.Spec;
        NonNegative(spec.Replicas ?? 0, "spec.replicas", errors);
        var selector = ValidateWorkloadSelector(spec.Selector, "spec.selector", "deployment", errors);
        if (selector is not null)
        {
            ValidateTemplateForReplicas(spec.Template, selector, "spec.template", "ReplicaSet", errors);
        }

        var strategy = spec.Strategy ?? new DeploymentStrategy();
        switch (strategy.Type)
        {
            case "Recreate":
                if (strategy.RollingUpdate is not null)
                {
                    errors.Add(FieldError.Forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
                }

                break;
            case "RollingUpdate":
                if (strategy.RollingUpdate is not { } rolling)
                {
                    errors.Add(FieldError.Required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"));
                }
                else
                {
                    ValidatePositiveIntOrPercent(rolling.MaxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable", errors);
                    ValidatePositiveIntOrPercent(rolling.MaxSurge, "spec.strategy.rollingUpdate.maxSurge", errors);
                    if (IntOrPercentValue(rolling.MaxUnavailable) == 0 && IntOrPercentValue(rolling.MaxSurge) == 0)
                    {
                        errors.Add(FieldError.Invalid("spec.strategy.rollingUpdate.maxUnavailable", Render(rolling.MaxUnavailable), "may not be 0 when `maxSurge` is 0"));
                    }

                    NotMoreThan100Percent(rolling.MaxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable", errors);
                }

                break;
            default:
                errors.Add(FieldError.NotSupported("spec.strategy.type", strategy.Type ?? "", DeploymentStrategies));
                break;
        }

        var minReady = spec.MinReadySeconds ?? 0;
        NonNegative(minReady, "spec.minReadySeconds", errors);
        if (spec.RevisionHistoryLimit is { } limit)
        {
            NonNegative(limit, "spec.revisionHistoryLimit", errors);
        }

        if (spec.ProgressDeadlineSeconds is { } deadline)
        {
            NonNegative(deadline, "spec.progressDeadlineSeconds", errors);
            if (deadline <= minReady)
            {
                errors.Add(FieldError.Invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"));
            }
        }

        if (old is not null)
        {
            ValidateSelectorImmutable(spec.Selector, old.Spec.Selector, errors);
        }

        return errors;
    }

    public static List<FieldError> ValidateReplicaSet(ReplicaSet replicaSet, ReplicaSet? old)
    {
        ArgumentNullException.ThrowIfNull(replicaSet);
        var errors = new List<FieldError>();
        var spec = replicaSet.Spec;
        NonNegative(spec.Replicas ?? 0, "spec.replicas", errors);
        NonNegative(spec.MinReadySeconds ?? 0, "spec.minReadySeconds", errors);
        // Kubernetes words the empty-selector error "for deployment" for replica sets too.
        var selector = ValidateWorkloadSelector(spec.Selector, "spec.selector", "deployment", errors);
        if (selector is not null)
        {
            ValidateTemplateForReplicas(spec.Template, selector, "spec.template", "ReplicaSet", errors);
        }

        if (old is not null)
        {
            ValidateSelectorImmutable(spec.Selector, old.Spec.Selector, errors);
        }

        return errors;
    }

    /// <summary>A ControllerRevision's revision is not negative, and its data never changes once created.</summary>
    public static List<FieldError> ValidateControllerRevision(ControllerRevision revision, ControllerRevision? old)
    {
        ArgumentNullException.ThrowIfNull(revision);
        var errors = new List<FieldError>();
        NonNegative(revision.Revision, "revision", errors);
        if (old is not null && !System.Text.Json.Nodes.JsonNode.DeepEquals(revision.Data, old.Data))
        {
            errors.Add(FieldError.Invalid("data", null, "field is immutable"));
        }

        return errors;
    }

    public static List<FieldError> ValidateDaemonSet(DaemonSet daemonSet, DaemonSet? old)
    {
        ArgumentNullException.ThrowIfNull(daemonSet);
        var errors = new List<FieldError>();
        var spec = daemonSet.Spec;
        var selector = ValidateWorkloadSelector(spec.Selector, "spec.selector", "daemonset", errors);
        if (selector is not null)
        {
            ValidateTemplateForReplicas(spec.Template, selector, "spec.template", "DaemonSet", errors);
        }

        NonNegative(spec.MinReadySeconds ?? 0, "spec.minReadySeconds", errors);
        var strategy = spec.UpdateStrategy ?? new DaemonSetUpdateStrategy();
        switch (strategy.Type)
        {
            case "OnDelete":
                break;
            case "RollingUpdate":
                if (strategy.RollingUpdate is not { } rolling)
                {
                    errors.Add(FieldError.Required("spec.updateStrategy.rollingUpdate"));
                    break;
                }

                const string path = "spec.updateStrategy.rollingUpdate";
                ValidatePositiveIntOrPercent(rolling.MaxUnavailable, $"{path}.maxUnavailable", errors);
                ValidatePositiveIntOrPercent(rolling.MaxSurge, $"{path}.maxSurge", errors);
                NotMoreThan100Percent(rolling.MaxUnavailable, $"{path}.maxUnavailable", errors);
                NotMoreThan100Percent(rolling.MaxSurge, $"{path}.maxSurge", errors);
                var hasUnavailable = IntOrPercentValue(rolling.MaxUnavailable) != 0;
                var hasSurge = IntOrPercentValue(rolling.MaxSurge) != 0;
                if (hasUnavailable && hasSurge)
                {
                    errors.Add(FieldError.Invalid($"{path}.maxSurge", Render(rolling.MaxSurge), "may not be set when maxUnavailable is non-zero"));
                }
                else if (!hasUnavailable && !hasSurge)
                {
                    errors.Add(FieldError.Required($"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0"));
                }

                break;
            default:
                errors.Add(FieldError.NotSupported("spec.updateStrategy.type", strategy.Type ?? "", DaemonSetStrategies));
                break;
        }

        if (spec.RevisionHistoryLimit is { } limit)
        {
            NonNegative(limit, "spec.revisionHistoryLimit", errors);
        }

        if (old is not null)
        {
            ValidateSelectorImmutable(spec.Selector, old.Spec.Selector, errors);
        }

        return errors;
    }

    /// <summary>
    /// A write to a Deployment's <c>status</c>, as Kubernetes' ValidateDeploymentStatusUpdate: no negative count or
    /// observedGeneration, no more updated, ready or available replicas than replicas, no more available than ready,
    /// and a collisionCount that never goes down.
    /// </summary>
    public static List<FieldError> ValidateDeploymentStatusUpdate(Deployment deployment, Deployment old)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(old);
        var errors = new List<FieldError>();
        var status = deployment.Status ?? new DeploymentStatus();
        NonNegative(status.ObservedGeneration ?? 0, "status.observedGeneration", errors);
        var replicas = status.Replicas ?? 0;
        var updated = status.UpdatedReplicas ?? 0;
        var ready = status.ReadyReplicas ?? 0;
        var available = status.AvailableReplicas ?? 0;
        NonNegative(replicas, "status.replicas", errors);
        NonNegative(updated, "status.updatedReplicas", errors);
        NonNegative(ready, "status.readyReplicas", errors);
        NonNegative(available, "status.availableReplicas", errors);
        NonNegative(status.UnavailableReplicas ?? 0, "status.unavailableReplicas", errors);
        if (status.CollisionCount is { } collisions)
        {
            NonNegative(collisions, "status.collisionCount", errors);
        }

        NotAboveReplicas(updated, replicas, "status.updatedReplicas", errors);
        NotAboveReplicas(ready, replicas, "status.readyReplicas", errors);
        NotAboveReplicas(available, replicas, "status.availableReplicas", errors);
        NotAboveReady(available, ready, "status.availableReplicas", errors);
        NotDecremented(status.CollisionCount, old.Status?.CollisionCount, errors);
        return errors;
    }

    /// <summary>
    /// A write to a ReplicaSet's <c>status</c>, as Kubernetes' ValidateReplicaSetStatusUpdate: no negative count or
    /// observedGeneration, no more fully labeled, ready or available replicas than replicas, no more available than
    /// ready.
    /// </summary>
    public static List<FieldError> ValidateReplicaSetStatusUpdate(ReplicaSet replicaSet)
    {
        ArgumentNullException.ThrowIfNull(replicaSet);
        var errors = new List<FieldError>();
        var status = replicaSet.Status ?? new ReplicaSetStatus();
        var replicas = status.Replicas;
        var labeled = status.FullyLabeledReplicas ?? 0;
        var ready = status.ReadyReplicas ?? 0;
        var available = status.AvailableReplicas ?? 0;
        NonNegative(replicas, "status.replicas", errors);
        NonNegative(labeled, "status.fullyLabeledReplicas", errors);
        NonNegative(ready, "status.readyReplicas", errors);
        NonNegative(available, "status.availableReplicas", errors);
        NonNegative(status.ObservedGeneration ?? 0, "status.observedGeneration", errors);
        NotAboveReplicas(labeled, replicas, "status.fullyLabeledReplicas", errors);
        NotAboveReplicas(ready, replicas, "status.readyReplicas", errors);
        NotAboveReplicas(available, replicas, "status.availableReplicas", errors);
        NotAboveReady(available, ready, "status.availableReplicas", errors);
        return errors;
    }

    /// <summary>
    /// A write to a DaemonSet's <c>status</c>, as Kubernetes' ValidateDaemonSetStatusUpdate: no negative count or
    /// observedGeneration, and a collisionCount that never goes down.
    /// </summary>
    public static List<FieldError> ValidateDaemonSetStatusUpdate(DaemonSet daemonSet, DaemonSet old)
    {
        ArgumentNullException.ThrowIfNull(daemonSet);
        ArgumentNullException.ThrowIfNull(old);
        var errors = new List<FieldError>();
        var status = daemonSet.Status ?? new DaemonSetStatus();
        NonNegative(status.CurrentNumberScheduled, "status.currentNumberScheduled", errors);
        NonNegative(status.NumberMisscheduled, "status.numberMisscheduled", errors);
        NonNegative(status.DesiredNumberScheduled, "status.desiredNumberScheduled", errors);
        NonNegative(status.NumberReady, "status.numberReady", errors);
        NonNegative(status.ObservedGeneration ?? 0, "status.observedGeneration", errors);
        NonNegative(status.UpdatedNumberScheduled ?? 0, "status.updatedNumberScheduled", errors);
        NonNegative(status.NumberAvailable ?? 0, "status.numberAvailable", errors);
        NonNegative(status.NumberUnavailable ?? 0, "status.numberUnavailable", errors);
        if (status.CollisionCount is { } collisions)
        {
            NonNegative(collisions, "status.collisionCount", errors);
        }

        NotDecremented(status.CollisionCount, old.Status?.CollisionCount, errors);
        return errors;
    }

    private static void NotAboveReplicas(int value, int replicas, string path, List<FieldError> errors)
    {
        if (value > replicas)
        {
            errors.Add(FieldError.Invalid(path, value, "cannot be greater than status.replicas"));
        }
    }

    private static void NotAboveReady(int available, int ready, string path, List<FieldError> errors)
    {
        if (available > ready)
        {
            // Kubernetes words this one without the "status." of the check against replicas.
            errors.Add(FieldError.Invalid(path, available, "cannot be greater than readyReplicas"));
        }
    }

    /// <summary>Kubernetes' IsDecremented: lower than before, or cleared where it was set (the bad value is then 0).</summary>
    private static void NotDecremented(int? collisions, int? old, List<FieldError> errors)
    {
        if (old is { } before && (collisions is null || collisions < before))
        {
            errors.Add(FieldError.Invalid("status.collisionCount", collisions ?? 0, "cannot be decremented"));
        }
    }

    /// <summary>Selector required, valid and non-empty; returns its matcher, or null when it cannot be built.</summary>
    private static LabelSelectorExpression? ValidateWorkloadSelector(LabelSelector? selector, string path, string kindWord, List<FieldError> errors)
    {
        if (selector is null)
        {
            errors.Add(FieldError.Required(path));
            return null;
        }

        var before = errors.Count;
        SelectorValidation.ValidateLabelSelector(selector, path, errors);
        if (selector.IsEmpty)
        {
            errors.Add(FieldError.Invalid(path, GoValue.Selector(selector), $"empty selector is invalid for {kindWord}"));
            return null;
        }

        if (errors.Count > before)
        {
            return null;
        }

        try
        {
            return selector.ToMatcher();
        }
        catch (FormatException)
        {
            errors.Add(FieldError.Invalid(path, GoValue.Selector(selector), "invalid label selector"));
            return null;
        }
    }

    private static void ValidateTemplateForReplicas(PodTemplateSpec? template, LabelSelectorExpression selector, string path, string kindName, List<FieldError> errors)
    {
        if (template is null)
        {
            errors.Add(FieldError.Required(path));
            return;
        }

        var labels = template.Metadata?.Labels;
        if (!selector.IsEmpty && !selector.Matches(labels))
        {
            errors.Add(FieldError.Invalid($"{path}.metadata.labels", GoValue.Map(labels), "`selector` does not match template `labels`"));
        }

        PodValidation.ValidatePodTemplateSpec(template, path, errors);
        if (template.Spec is { } spec)
        {
            if (spec.RestartPolicy is { Length: > 0 } policy && policy != "Always")
            {
                errors.Add(FieldError.NotSupported($"{path}.spec.restartPolicy", policy, ["Always"]));
            }

            if (spec.ActiveDeadlineSeconds is not null)
            {
                errors.Add(FieldError.Forbidden($"{path}.spec.activeDeadlineSeconds", $"activeDeadlineSeconds in {kindName} is not Supported"));
            }
        }
    }

    private static void ValidateSelectorImmutable(LabelSelector? current, LabelSelector? old, List<FieldError> errors)
    {
        if (!SelectorValidation.SemanticallyEqual(current, old))
        {
            errors.Add(FieldError.Invalid("spec.selector", GoValue.Selector(current), "field is immutable"));
        }
    }

    private static void NonNegative(long value, string path, List<FieldError> errors)
    {
        if (value < 0)
        {
            errors.Add(FieldError.Invalid(path, value, "must be greater than or equal to 0"));
        }
    }

    internal static void ValidatePositiveIntOrPercent(IntOrString? value, string path, List<FieldError> errors)
    {
        if (value is not { } v)
        {
            return;
        }

        if (v.IsString)
        {
            foreach (var message in NameValidation.IsValidPercent(v.StringValue))
            {
                errors.Add(FieldError.Invalid(path, v.StringValue, message));
            }
        }
        else
        {
            NonNegative(v.IntValue, path, errors);
        }
    }

    internal static void NotMoreThan100Percent(IntOrString? value, string path, List<FieldError> errors)
    {
        if (value is { IsPercent: true } v && IntOrPercentValue(v) > 100)
        {
            errors.Add(FieldError.Invalid(path, v.StringValue, "must not be greater than 100%"));
        }
    }

    private static int IntOrPercentValue(IntOrString? value) =>
        value switch
        {
            null => 0,
            { IsString: false } v => v.IntValue,
            { IsPercent: true } v => v.GetScaledValue(100, roundUp: false),
            _ => -1,
        };

    private static object Render(IntOrString? value) =>
        value switch
        {
            null => new GoValue("nil"),
            { IsString: true } v => v.StringValue,
            { } v => v.IntValue,
        };
}
