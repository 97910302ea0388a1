using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class OtherKindsValidationTests
{
    [Fact]
    public void ValidateNode_WhenTaintEffectUnknown_ListsSupported()
    {
        var node = new Node { Spec = new() { Taints = [new Taint { Key = "edge", Effect = "NoRun" }] } };
        Assert.Equal(
            ["spec.taints[0].effect: Unsupported value: \"NoRun\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""],
            CoreValidation.ValidateNode(node, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateLease_WhenDurationNotPositive_Rejects()
    {
        var lease = new Lease { Spec = new() { LeaseDurationSeconds = 0, LeaseTransitions = -1 } };
        Assert.Equal(
            ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0", "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
            CoordinationValidation.ValidateLease(lease, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateDevice_ProtocolAndCredentials()
    {
        var device = new Device { Spec = new() { Protocol = "coap" } };
        Assert.Equal(
            ["spec.protocol: Unsupported value: \"coap\": supported values: \"http\", \"mqtt\"", "spec.credentialsSecret: Required value"],
            EdgeValidation.ValidateDevice(device, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateDataRule_StatementActionsAndActionKinds()
    {
        var empty = new DataRule();
        Assert.Equal(
            ["spec.statement: Required value", "spec.actions: Required value: at least one action is required"],
            EdgeValidation.ValidateDataRule(empty, null).Select(e => e.ToString()));

        var rule = new DataRule
        {
            Spec = new()
            {
                Statement = "SELECT * FROM 't'",
                Actions = [new DataRuleAction(), new DataRuleAction { Republish = new() { Topic = "a" }, Upstream = new() { Topic = "b" } }],
            },
        };
        Assert.Equal(
            ["spec.actions[0]: Required value: must specify one of: `republish`, `upstream` or `http`", "spec.actions[1]: Forbidden: may not specify more than one of `republish`, `upstream` or `http`"],
            EdgeValidation.ValidateDataRule(rule, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateSecret_TypeIsImmutable()
    {
        var old = new Secret { Type = "Opaque" };
        var updated = new Secret { Type = "kubernetes.io/basic-auth", Data = new() { ["username"] = [1] } };
        Assert.Equal(["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"], CoreValidation.ValidateSecret(updated, old).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateConfigMap_WhenKeyInvalid_Rejects()
    {
        var configMap = new ConfigMap { Data = new() { ["bad key"] = "v" } };
        var error = Assert.Single(CoreValidation.ValidateConfigMap(configMap, null));
        Assert.StartsWith("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters", error.ToString(), StringComparison.Ordinal);
    }
}
