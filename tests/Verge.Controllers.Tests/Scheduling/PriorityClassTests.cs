using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Scheduling;

namespace Verge.Controllers.Tests.Scheduling;

public class PriorityClassTests
{
    private static readonly Dictionary<string, PriorityClass> Classes = new()
    {
        ["high"] = new PriorityClass { Metadata = new ObjectMeta { Name = "high" }, Value = 1000 },
    };

    private static Pod PodNaming(string? className, int? priority = null) => new()
    {
        Metadata = new ObjectMeta { Name = "p", Namespace = "default" },
        Spec = new PodSpec { PriorityClassName = className, Priority = priority },
    };

    [Fact]
    public void AdmitPod_SetsPriorityFromTheNamedClass()
    {
        var pod = PodNaming("high");
        Assert.Empty(PriorityClasses.AdmitPod(pod, Classes.GetValueOrDefault, null));
        Assert.Equal(1000, pod.Spec.Priority);
    }

    [Fact]
    public void AdmitPod_ResolvesBuiltInClassesByName()
    {
        var pod = PodNaming("system-node-critical");
        Assert.Empty(PriorityClasses.AdmitPod(pod, Classes.GetValueOrDefault, null));
        Assert.Equal(2_000_001_000, pod.Spec.Priority);
    }

    [Fact]
    public void AdmitPod_WithoutAClass_UsesTheGlobalDefault()
    {
        var defaults = new[]
        {
            new PriorityClass { Metadata = new ObjectMeta { Name = "d1" }, Value = 50, GlobalDefault = true },
            new PriorityClass { Metadata = new ObjectMeta { Name = "d2" }, Value = 20, GlobalDefault = true },
            new PriorityClass { Metadata = new ObjectMeta { Name = "x" }, Value = 5 },
        };
        var pod = PodNaming(null);
        Assert.Empty(PriorityClasses.AdmitPod(pod, Classes.GetValueOrDefault, PriorityClasses.GlobalDefault(defaults)));
        Assert.Equal(20, pod.Spec.Priority);
    }

    [Fact]
    public void AdmitPod_TakesThePreemptionPolicyFromTheClass_AndNamesTheDefaultClass()
    {
        var never = new PriorityClass { Metadata = new ObjectMeta { Name = "batch" }, Value = 10, GlobalDefault = true, PreemptionPolicy = "Never" };
        var named = PodNaming("high");
        Assert.Empty(PriorityClasses.AdmitPod(named, Classes.GetValueOrDefault, never));
        Assert.Equal("PreemptLowerPriority", named.Spec.PreemptionPolicy);

        var defaulted = PodNaming(null);
        Assert.Empty(PriorityClasses.AdmitPod(defaulted, Classes.GetValueOrDefault, never));
        Assert.Equal(("batch", 10, "Never"), (defaulted.Spec.PriorityClassName, defaulted.Spec.Priority, defaulted.Spec.PreemptionPolicy));

        var none = PodNaming(null);
        Assert.Empty(PriorityClasses.AdmitPod(none, Classes.GetValueOrDefault, null));
        Assert.Equal((null, 0, "PreemptLowerPriority"), (none.Spec.PriorityClassName, none.Spec.Priority, none.Spec.PreemptionPolicy));
    }

    [Fact]
    public void AdmitPod_WhenThePreemptionPolicyDisagreesWithTheClass_IsForbidden()
    {
        var pod = PodNaming("high");
        pod.Spec.PreemptionPolicy = "Never";
        var error = Assert.Single(PriorityClasses.AdmitPod(pod, Classes.GetValueOrDefault, null));
        Assert.Equal("spec.preemptionPolicy", error.Field);
        Assert.Contains("computed PreemptLowerPriority from the given PriorityClass name", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void SecondGlobalDefault_NamesTheClassThatAlreadyIsTheDefault()
    {
        var existing = new[]
        {
            new PriorityClass { Metadata = new ObjectMeta { Name = "first" }, Value = 1, GlobalDefault = true },
            new PriorityClass { Metadata = new ObjectMeta { Name = "plain" }, Value = 2 },
        };
        var second = new PriorityClass { Metadata = new ObjectMeta { Name = "second" }, Value = 3, GlobalDefault = true };

        Assert.Equal("PriorityClass first is already marked as default. Only one default can exist", PriorityClasses.SecondGlobalDefault(second, existing));
        Assert.Null(PriorityClasses.SecondGlobalDefault(existing[0], existing));
        Assert.Null(PriorityClasses.SecondGlobalDefault(existing[1], existing));
    }

    [Fact]
    public void AdmitPod_WhenTheClassIsMissing_ReportsNotFound()
    {
        var error = Assert.Single(PriorityClasses.AdmitPod(PodNaming("nope"), Classes.GetValueOrDefault, null));
        Assert.Equal("spec.priorityClassName: Not found: \"nope\"", error.ToString());
    }

    [Fact]
    public void AdmitPod_WhenThePriorityDisagreesWithTheClass_IsForbidden()
    {
        var error = Assert.Single(PriorityClasses.AdmitPod(PodNaming("high", 5), Classes.GetValueOrDefault, null));
        Assert.Equal("spec.priority", error.Field);
    }

    [Fact]
    public void Validate_BuiltInsPassAndTamperedSystemClassesFail()
    {
        foreach (var builtIn in PriorityClasses.BuiltIn)
        {
            Assert.Empty(PriorityClasses.Validate(PriorityClasses.CopyOfBuiltIn(builtIn), null));
        }

        var tampered = PriorityClasses.CopyOfBuiltIn(PriorityClasses.BuiltIn[0]);
        tampered.Value = 1;
        var error = Assert.Single(PriorityClasses.Validate(tampered, null));
        Assert.Contains("value of system-node-critical PriorityClass must be 2000001000", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RejectsUnknownPreemptionPolicies()
    {
        var pc = new PriorityClass { Metadata = new ObjectMeta { Name = "x" }, Value = 1, PreemptionPolicy = "Sometimes" };
        Assert.Equal("preemptionPolicy", Assert.Single(PriorityClasses.Validate(pc, null)).Field);
    }
}
