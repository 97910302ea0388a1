using System.ComponentModel;
using Verge.Core.Meta;
using Verge.Core.Selectors;

namespace Verge.Core.Edge;

/// <summary>edge.verge.dev/v1 DataRule: a statement the gateways run over device messages, and where results go.</summary>
[Description("DataRule filters, transforms and aggregates device messages on gateways, and sends the results to local topics, upstream or a local HTTP service.")]
public sealed class DataRule : KubeObject
{
    [Description("Spec describes the rule.")]
    public DataRuleSpec Spec { get; set; } = new();

    [Description("Status reports where the rule runs.")]
    public DataRuleStatus? Status { get; set; }
}

/// <summary>The desired state of a <see cref="DataRule"/>.</summary>
[Description("DataRuleSpec describes a data rule.")]
public sealed class DataRuleSpec
{
    [Description("Labels a gateway node must have to run this rule. Empty runs it on every gateway (of the site, if given).")]
    public Dictionary<string, string>? NodeSelector { get; set; }

    [Description("Name of the Site whose gateways run this rule. Empty means every site.")]
    public string? Site { get; set; }

    [Description("The rule statement, such as: SELECT avg(temperature) FROM 'sensors/+/data' GROUP BY TUMBLING(60s).")]
    public string Statement { get; set; } = "";

    [Description("Where the results go. At least one action; each has exactly one of republish, upstream or http.")]
    public List<DataRuleAction> Actions { get; set; } = [];

    [Description("Whether the rule runs. Defaults to true.")]
    public bool? Enabled { get; set; }
}

/// <summary>One destination of a <see cref="DataRule"/>: exactly one of its fields is set.</summary>
[Description("DataRuleAction is one destination of a rule's results. Exactly one of its fields must be set.")]
public sealed class DataRuleAction
{
    [Description("Publish results to a topic of the local broker.")]
    public MqttTopicAction? Republish { get; set; }

    [Description("Send results upstream to the control plane through the durable store-and-forward queue.")]
    public MqttTopicAction? Upstream { get; set; }

    [Description("POST results to an HTTP endpoint, such as a pod on the same node.")]
    public HttpAction? Http { get; set; }
}

/// <summary>A topic and quality of service.</summary>
[Description("MqttTopicAction publishes to an MQTT topic.")]
public sealed class MqttTopicAction
{
    [Description("The topic to publish to.")]
    public string Topic { get; set; } = "";

    [Description("MQTT quality of service: 0, 1 or 2. Defaults to 1.")]
    public int? Qos { get; set; }
}

/// <summary>An HTTP destination: a URL, or the pods selected by a label selector at a port and path.</summary>
[Description("HttpAction posts results to a URL, or to the local pods a selector picks at a port and path.")]
public sealed class HttpAction
{
    [Description("The absolute URL to POST to. Either url or podSelector.")]
    public string? Url { get; set; }

    [Description("The port of the selected pods.")]
    public int? Port { get; set; }

    [Description("The path to POST to on the selected pods. Defaults to /.")]
    public string? Path { get; set; }

    [Description("Selects local pods to POST to. Either url or podSelector.")]
    public LabelSelector? PodSelector { get; set; }
}

/// <summary>The observed state of a <see cref="DataRule"/>.</summary>
[Description("DataRuleStatus reports where a rule runs.")]
public sealed class DataRuleStatus
{
    [Description("Number of gateway nodes running the rule.")]
    public int? Nodes { get; set; }

    [Description("The generation observed by the rule controller.")]
    public long? ObservedGeneration { get; set; }

    [MergeKey("type")]
    [Description("Latest observations of the rule's state.")]
    public List<Condition>? Conditions { get; set; }
}
