using Verge.Agent.Pods;
using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Agent.Tests.Pods;

public sealed class PodFieldsTests
{
    private static readonly PodRuntimeFacts Facts = new("edge-1", "192.168.1.20", "10.88.0.5", 4000, 8L << 30, 100L << 30);

    [Fact]
    public void FormatMap_WritesSortedKeyValueLinesQuotedAsGoQuotes()
    {
        var labels = new Dictionary<string, string>
        {
            ["zone"] = "b",
            ["app"] = "web",
            ["note"] = "say \"hi\"\\\n\ttab\u001b\u00e9\u00a0\U0001F600",
        };

        Assert.Equal(
            "app=\"web\"\nnote=\"say \\\"hi\\\"\\\\\\n\\ttab\\x1b\u00e9\\u00a0\U0001F600\"\nzone=\"b\"",
            PodFields.FormatMap(labels));
        Assert.Equal("", PodFields.FormatMap(null));
    }

    [Theory]
    [InlineData("metadata.name", "web")]
    [InlineData("metadata.namespace", "shop")]
    [InlineData("metadata.uid", "u-1")]
    [InlineData("metadata.labels['app']", "web")]
    [InlineData("metadata.labels['missing']", "")]
    [InlineData("metadata.annotations['note']", "x")]
    [InlineData("spec.nodeName", "edge-1")]
    [InlineData("spec.host", "edge-1")]
    [InlineData("spec.restartPolicy", "Always")]
    [InlineData("status.podIP", "10.88.0.5")]
    [InlineData("status.hostIP", "192.168.1.20")]
    public void Value_ReadsThePodField(string path, string expected)
    {
        var pod = new Pod
        {
            Metadata = new() { Name = "web", Namespace = "shop", Uid = "u-1", Labels = new() { ["app"] = "web" }, Annotations = new() { ["note"] = "x" } },
            Spec = new PodSpec { RestartPolicy = "Always" },
        };

        Assert.Equal(expected, PodFields.Value(pod, new ObjectFieldSelector { ApiVersion = "v1", FieldPath = path }, Facts));
    }

    [Fact]
    public void Value_OfAnUnknownPath_IsAConfigError()
    {
        var error = Assert.Throws<ContainerConfigException>(() => PodFields.Value(new Pod(), new ObjectFieldSelector { FieldPath = "spec.bogus" }, Facts));
        Assert.Equal("field label not supported: spec.bogus", error.Message);
    }

    [Theory]
    [InlineData("limits.cpu", null, "1")]
    [InlineData("limits.cpu", "1m", "250")]
    [InlineData("requests.memory", "1Mi", "64")]
    [InlineData("limits.memory", "1Mi", "8192")]
    [InlineData("limits.ephemeral-storage", "1Gi", "100")]
    [InlineData("requests.ephemeral-storage", "1Mi", "512")]
    [InlineData("limits.hugepages-2Mi", "1Mi", "4")]
    [InlineData("requests.hugepages-2Mi", "1Mi", "4")]
    public void ResourceValue_ScalesByTheDivisorAndRoundsUp(string resource, string? divisor, string expected)
    {
        var container = new Container
        {
            Name = "app",
            Resources = new ResourceRequirements
            {
                Limits = new() { ["cpu"] = Quantity.Parse("250m"), ["hugepages-2Mi"] = Quantity.Parse("4Mi") },
                Requests = new() { ["memory"] = Quantity.Parse("64Mi"), ["ephemeral-storage"] = Quantity.Parse("512Mi") },
            },
        };
        var selector = new ResourceFieldSelector { Resource = resource, Divisor = divisor is null ? null : Quantity.Parse(divisor) };

        Assert.Equal(expected, PodFields.ResourceValue(container, selector, Facts));
    }
}
