using System.Text.Json;
using Verge.Core.Apps;
using Verge.Core.Quantities;
using Verge.Core.Serialization;
using Verge.Core.Tests.Serialization;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class AppsValidationTests
{
    private static Deployment Seed()
    {
        var deployment = JsonSerializer.Deserialize<Deployment>(VergeJsonTests.SeedDeployment, VergeJson.Options)!;
        AppsDefaults.Deployment(deployment);
        return deployment;
    }

    private static List<string> Errors(Deployment deployment, Deployment? old = null) =>
        AppsValidation.ValidateDeployment(deployment, old).Select(e => e.ToString()).ToList();

    [Fact]
    public void ValidateDeployment_SeedIsValid()
    {
        Assert.Empty(Errors(Seed()));
    }

    [Fact]
    public void ValidateDeployment_WhenReplicasNegative_SaysSo()
    {
        var deployment = Seed();
        deployment.Spec.Replicas = -1;
        Assert.Equal(["spec.replicas: Invalid value: -1: must be greater than or equal to 0"], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenSelectorMissing_RequiresIt()
    {
        var deployment = Seed();
        deployment.Spec.Selector = null;
        Assert.Equal(["spec.selector: Required value"], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenSelectorEmpty_IsInvalid()
    {
        var deployment = Seed();
        deployment.Spec.Selector = new();
        Assert.Equal(["spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenSelectorDoesNotMatchTemplate_PrintsKubernetesMessage()
    {
        var deployment = Seed();
        deployment.Spec.Template.Metadata!.Labels = new() { ["app"] = "x" };
        Assert.Equal(["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenSelectorChangesOnUpdate_IsImmutable()
    {
        var old = Seed();
        var updated = Seed();
        updated.Spec.Selector!.MatchLabels!["tier"] = "web";
        updated.Spec.Template.Metadata!.Labels!["tier"] = "web";
        var error = Assert.Single(Errors(updated, old));
        Assert.StartsWith("spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"edge-microservice\", \"tier\":\"web\"}", error, StringComparison.Ordinal);
        Assert.EndsWith(": field is immutable", error, StringComparison.Ordinal);
        Assert.Empty(Errors(Seed(), old));
    }

    [Fact]
    public void ValidateDeployment_WhenStrategyTypeUnknown_ListsSupported()
    {
        var deployment = Seed();
        deployment.Spec.Strategy!.Type = "BlueGreen";
        Assert.Equal(["spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\""], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenSurgeAndUnavailableBothZero_Rejects()
    {
        var deployment = Seed();
        deployment.Spec.Strategy!.RollingUpdate = new() { MaxSurge = new IntOrString(0), MaxUnavailable = new IntOrString("0%") };
        Assert.Equal(["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0"], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenRestartPolicyIsNotAlways_Rejects()
    {
        var deployment = Seed();
        deployment.Spec.Template.Spec!.RestartPolicy = "Never";
        Assert.Equal(["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""], Errors(deployment));
    }

    [Fact]
    public void ValidateDeployment_WhenRecreateHasRollingUpdate_Forbids()
    {
        var deployment = Seed();
        deployment.Spec.Strategy!.Type = "Recreate";
        Assert.Equal(["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"], Errors(deployment));
    }

    [Fact]
    public void ValidateReplicaSet_WhenSelectorDoesNotMatch_Rejects()
    {
        var rs = new ReplicaSet
        {
            Spec = new()
            {
                Selector = new() { MatchLabels = new() { ["app"] = "a" } },
                Template = new() { Metadata = new() { Labels = new() { ["app"] = "b" } }, Spec = new() { Containers = [new() { Name = "c", Image = "i" }] } },
            },
        };
        AppsDefaults.ReplicaSet(rs);
        Assert.Equal(
            ["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`"],
            AppsValidation.ValidateReplicaSet(rs, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateDaemonSet_WhenSurgeAndUnavailableBothSet_Rejects()
    {
        var ds = new DaemonSet
        {
            Spec = new()
            {
                Selector = new() { MatchLabels = new() { ["app"] = "a" } },
                Template = new() { Metadata = new() { Labels = new() { ["app"] = "a" } }, Spec = new() { Containers = [new() { Name = "c", Image = "i" }] } },
                UpdateStrategy = new() { Type = "RollingUpdate", RollingUpdate = new() { MaxSurge = new IntOrString(1), MaxUnavailable = new IntOrString(1) } },
            },
        };
        AppsDefaults.DaemonSet(ds);
        Assert.Equal(
            ["spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"],
            AppsValidation.ValidateDaemonSet(ds, null).Select(e => e.ToString()));
    }
}
