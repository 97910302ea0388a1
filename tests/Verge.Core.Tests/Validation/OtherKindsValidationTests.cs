using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
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

    [Theory]
    [InlineData("url+selector", "spec.actions[0].http: Invalid value: \"\": must specify exactly one of: `url` or `podSelector`")]
    [InlineData("neither", "spec.actions[0].http: Invalid value: \"\": must specify exactly one of: `url` or `podSelector`")]
    [InlineData("url+port", "spec.actions[0].http.port: Forbidden: only with `podSelector` (the port is part of `url`)")]
    [InlineData("selector without port", "spec.actions[0].http.port: Required value: required with `podSelector`")]
    [InlineData("selector bad port", "spec.actions[0].http.port: Invalid value: 70000: must be between 1 and 65535, inclusive")]
    [InlineData("selector empty", "spec.actions[0].http.podSelector: Required value: must select pods by label: an empty selector would pick every pod of the namespace")]
    [InlineData("selector relative path", "spec.actions[0].http.path: Invalid value: \"ingest\": must be an absolute path such as /ingest")]
    public void ValidateDataRule_HttpAction_NeedsExactlyOneOfUrlOrPodSelectorWithPort(string form, string error)
    {
        var http = form switch
        {
            "url+selector" => new HttpAction { Url = "http://10.0.0.1/x", PodSelector = new() { MatchLabels = new() { ["app"] = "sink" } }, Port = 8080 },
            "neither" => new HttpAction { Port = 8080 },
            "url+port" => new HttpAction { Url = "http://10.0.0.1/x", Port = 8080 },
            "selector without port" => new HttpAction { PodSelector = new() { MatchLabels = new() { ["app"] = "sink" } } },
            "selector bad port" => new HttpAction { PodSelector = new() { MatchLabels = new() { ["app"] = "sink" } }, Port = 70000 },
            "selector empty" => new HttpAction { PodSelector = new(), Port = 8080 },
            _ => new HttpAction { PodSelector = new() { MatchLabels = new() { ["app"] = "sink" } }, Port = 8080, Path = "ingest" },
        };
        var rule = new DataRule { Spec = new() { Statement = "SELECT a FROM 't'", Actions = [new DataRuleAction { Http = http }] } };

        Assert.Equal([error], EdgeValidation.ValidateDataRule(rule, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateDataRule_HttpActionToPods_IsValid()
    {
        var http = new HttpAction { PodSelector = new() { MatchLabels = new() { ["app"] = "sink" } }, Port = 8080, Path = "/ingest" };
        var rule = new DataRule { Spec = new() { Statement = "SELECT a FROM 't'", Actions = [new DataRuleAction { Http = http }, new DataRuleAction { Http = new() { Url = "http://10.0.0.1:8080/x" } }] } };

        Assert.Empty(EdgeValidation.ValidateDataRule(rule, null));
    }

    [Fact]
    public void ValidateDataRule_WhenStatementDoesNotParse_GivesColumnAndReason()
    {
        var rule = new DataRule
        {
            Spec = new()
            {
                Statement = "SELECT deviceId avg(temp) FROM 'devices/+/telemetry'",
                Actions = [new DataRuleAction { Upstream = new() { Topic = "up" } }],
            },
        };

        var error = Assert.Single(EdgeValidation.ValidateDataRule(rule, null));
        Assert.Equal("spec.statement", error.Field);
        Assert.Equal(FieldErrorType.Invalid, error.Type);
        Assert.Equal("expected FROM at column 17", error.Detail);

        rule.Spec.Statement = "SELECT avgg(temp) AS a FROM 't'";
        Assert.Equal(
            ["spec.statement: Invalid value: \"SELECT avgg(temp) AS a FROM 't'\": unknown function 'avgg' at column 8"],
            EdgeValidation.ValidateDataRule(rule, null).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidateDataRule_IssueStatement_IsValid()
    {
        var rule = new DataRule
        {
            Spec = new()
            {
                Statement = "SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n\nFROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(10s)\n",
                Actions = [new DataRuleAction { Republish = new() { Topic = "local/temp-avg" } }, new DataRuleAction { Upstream = new() { Topic = "sites/s1/temp-avg" } }],
            },
        };

        Assert.Empty(EdgeValidation.ValidateDataRule(rule, null));
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
