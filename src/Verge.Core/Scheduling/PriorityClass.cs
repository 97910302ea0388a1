using System.ComponentModel;
using System.Globalization;
using Verge.Core.Core;
using Verge.Core.Meta;

namespace Verge.Core.Scheduling;

/// <summary>scheduling.k8s.io/v1 PriorityClass (cluster-scoped; the fields sit at the top level, as in Kubernetes).</summary>
[Description("PriorityClass defines mapping from a priority class name to the priority integer value. The value can be any valid integer.")]
public sealed class PriorityClass : KubeObject
{
    [Description("value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.")]
    public int Value { get; set; }

    [Description("globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`.")]
    public bool? GlobalDefault { get; set; }

    [Description("description is an arbitrary string that usually provides guidelines on when this priority class should be used.")]
    public string? Description { get; set; }

    [Description("preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.")]
    public string? PreemptionPolicy { get; set; }
}

/// <summary>
/// The rules of PriorityClasses: Kubernetes' constants, the two built-in system classes, defaulting, validation,
/// and how a pod's priority is resolved from its <c>priorityClassName</c> (the Priority admission plugin).
/// </summary>
public static class PriorityClasses
{
    /// <summary>The highest value a user-defined class may have.</summary>
    public const int HighestUserDefinablePriority = 1_000_000_000;

    public const int SystemCriticalPriority = 2 * HighestUserDefinablePriority;

    public const string SystemPrefix = "system-";

    public const string SystemClusterCritical = "system-cluster-critical";

    public const string SystemNodeCritical = "system-node-critical";

    public const string PreemptLowerPriority = "PreemptLowerPriority";

    public const string Never = "Never";

    /// <summary>The classes every cluster has; Kubernetes' API server creates them at start.</summary>
    public static IReadOnlyList<PriorityClass> BuiltIn { get; } =
    [
        NewBuiltIn(SystemNodeCritical, SystemCriticalPriority + 1000, "Used for system critical pods that must not be moved from their current node."),
        NewBuiltIn(SystemClusterCritical, SystemCriticalPriority, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
    ];

    /// <summary>The built-in class of that name, or null.</summary>
    public static PriorityClass? FindBuiltIn(string? name) => name switch
    {
        SystemNodeCritical => BuiltIn[0],
        SystemClusterCritical => BuiltIn[1],
        _ => null,
    };

    /// <summary>A fresh copy of a built-in class, to create in the registry.</summary>
    public static PriorityClass CopyOfBuiltIn(PriorityClass builtIn)
    {
        ArgumentNullException.ThrowIfNull(builtIn);
        return NewBuiltIn(builtIn.Metadata.Name!, builtIn.Value, builtIn.Description!);
    }

    public static void ApplyDefaults(PriorityClass pc)
    {
        ArgumentNullException.ThrowIfNull(pc);
        pc.PreemptionPolicy ??= PreemptLowerPriority;
    }

    /// <summary>Kubernetes' ValidatePriorityClass and ValidatePriorityClassUpdate.</summary>
    public static List<FieldError> Validate(PriorityClass pc, PriorityClass? old)
    {
        ArgumentNullException.ThrowIfNull(pc);
        var errors = new List<FieldError>();
        var name = pc.Metadata.Name ?? "";
        if (name.StartsWith(SystemPrefix, StringComparison.Ordinal))
        {
            if (KnownSystemClassError(pc) is { } error)
            {
                errors.Add(FieldError.Forbidden("metadata.name",
                    $"priority class names with '{SystemPrefix}' prefix are reserved for system use only. error: {error}"));
            }
        }
        else if (pc.Value > HighestUserDefinablePriority)
        {
            errors.Add(FieldError.Forbidden("value",
                $"maximum allowed value of a user defined priority is {HighestUserDefinablePriority.ToString(CultureInfo.InvariantCulture)}"));
        }

        if (pc.PreemptionPolicy is { } policy && policy is not (PreemptLowerPriority or Never))
        {
            errors.Add(FieldError.NotSupported("preemptionPolicy", policy, [Never, PreemptLowerPriority]));
        }

        if (old is not null)
        {
            if (pc.Value != old.Value)
            {
                errors.Add(FieldError.Forbidden("value", "may not be changed in an update."));
            }

            if (!string.Equals(pc.PreemptionPolicy, old.PreemptionPolicy, StringComparison.Ordinal))
            {
                errors.Add(FieldError.Invalid("preemptionPolicy", pc.PreemptionPolicy, "field is immutable"));
            }
        }

        return errors;
    }

    /// <summary>
    /// The class a pod's priority comes from: the one it names (looked up with <paramref name="lookup"/>, then among
    /// the built-ins), or the global default when it names none. <paramref name="missing"/> is true when the pod
    /// names a class that does not exist.
    /// </summary>
    public static PriorityClass? ClassOf(Pod pod, Func<string, PriorityClass?> lookup, PriorityClass? globalDefault, out bool missing)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(lookup);
        missing = false;
        var name = pod.Spec.PriorityClassName;
        if (string.IsNullOrEmpty(name))
        {
            return globalDefault;
        }

        var found = lookup(name) ?? FindBuiltIn(name);
        missing = found is null;
        return found;
    }

    /// <summary>The global default among <paramref name="classes"/>: Kubernetes picks the lowest value when several claim it.</summary>
    public static PriorityClass? GlobalDefault(IEnumerable<PriorityClass> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        PriorityClass? best = null;
        foreach (var pc in classes)
        {
            if (pc.GlobalDefault == true && (best is null || pc.Value < best.Value))
            {
                best = pc;
            }
        }

        return best;
    }

    /// <summary>
    /// What the Priority admission plugin does when a pod is created: sets <c>spec.priority</c> and
    /// <c>spec.preemptionPolicy</c> from the class the pod names, or from the global default (whose name it then
    /// writes into <c>spec.priorityClassName</c>); refuses a class that does not exist, or a priority or preemption
    /// policy that disagrees with the class. Returns the errors (empty when the pod was admitted).
    /// </summary>
    public static List<FieldError> AdmitPod(Pod pod, Func<string, PriorityClass?> lookup, PriorityClass? globalDefault)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var errors = new List<FieldError>();
        var pc = ClassOf(pod, lookup, globalDefault, out var missing);
        if (missing)
        {
            errors.Add(FieldError.NotFound("spec.priorityClassName", pod.Spec.PriorityClassName));
            return errors;
        }

        var value = pc?.Value ?? 0;
        if (pod.Spec.Priority is { } given && given != value)
        {
            errors.Add(FieldError.Forbidden("spec.priority",
                $"the integer value of priority ({given.ToString(CultureInfo.InvariantCulture)}) must not be provided in pod spec; priority admission controller computed {value.ToString(CultureInfo.InvariantCulture)} from the given PriorityClass name"));
            return errors;
        }

        var policy = pc?.PreemptionPolicy ?? PreemptLowerPriority;
        if (pod.Spec.PreemptionPolicy is { } givenPolicy && givenPolicy != policy)
        {
            errors.Add(FieldError.Forbidden("spec.preemptionPolicy",
                $"the string value of PreemptionPolicy ({givenPolicy}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"));
            return errors;
        }

        if (string.IsNullOrEmpty(pod.Spec.PriorityClassName) && pc is not null)
        {
            pod.Spec.PriorityClassName = pc.Metadata.Name;
        }

        pod.Spec.Priority = value;
        pod.Spec.PreemptionPolicy = policy;
        return errors;
    }

    /// <summary>
    /// What the Priority admission plugin checks when a PriorityClass is written: only one class may be the global
    /// default. Returns the message of the refusal (Kubernetes answers it with 403), or null.
    /// </summary>
    public static string? SecondGlobalDefault(PriorityClass pc, IEnumerable<PriorityClass> existing)
    {
        ArgumentNullException.ThrowIfNull(pc);
        ArgumentNullException.ThrowIfNull(existing);
        if (pc.GlobalDefault != true)
        {
            return null;
        }

        var other = existing.FirstOrDefault(c => c.GlobalDefault == true && c.Metadata.Name != pc.Metadata.Name);
        return other is null ? null : $"PriorityClass {other.Metadata.Name} is already marked as default. Only one default can exist";
    }

    private static string? KnownSystemClassError(PriorityClass pc)
    {
        var name = pc.Metadata.Name ?? "";
        if (FindBuiltIn(name) is not { } known)
        {
            return $"{name} is not a known system priority class";
        }

        if (known.Value != pc.Value)
        {
            return $"value of {name} PriorityClass must be {known.Value.ToString(CultureInfo.InvariantCulture)}";
        }

        return pc.GlobalDefault == true ? $"globalDefault of {name} PriorityClass must be false" : null;
    }

    private static PriorityClass NewBuiltIn(string name, int value, string description) => new()
    {
        ApiVersion = "scheduling.k8s.io/v1",
        Kind = "PriorityClass",
        Metadata = new ObjectMeta { Name = name },
        Value = value,
        GlobalDefault = false,
        Description = description,
        PreemptionPolicy = PreemptLowerPriority,
    };
}
