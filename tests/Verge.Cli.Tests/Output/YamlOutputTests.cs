using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization;
using Verge.Cli.Output;

namespace Verge.Cli.Tests.Output;

public sealed class YamlOutputTests
{
    [Fact]
    public void ToYaml_WhenStringsLookLikeOtherTypes_QuotesThemSoTheyReadBack()
    {
        var node = JsonNode.Parse("""
            {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{}},
             "data":{"a":"true","b":"123","c":"1.5","d":"null","e":"","f":"yes","g":" padded ","h":"line1\nline2","i":"plain"},
             "n":3,"t":true,"z":null,"list":[1,"2",{"k":"v"}],"empty":[]}
            """)!;

        var yaml = YamlOutput.ToYaml(node);
        var back = YamlReader.ReadSingle(yaml);

        Assert.True(JsonNode.DeepEquals(node, back), yaml);
        Assert.Contains("kind: ConfigMap\n", yaml, StringComparison.Ordinal);
        Assert.Contains("a: \"true\"", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void ToYaml_WhenSequenceUnderKey_DoesNotIndentDashesLikeKubectl()
    {
        var yaml = YamlOutput.ToYaml(JsonNode.Parse("""{"items":[{"name":"a"}]}"""));

        Assert.Equal("items:\n- name: a\n", yaml);
    }

    [Fact]
    public void ToJson_WhenObject_IndentsWithFourSpaces()
    {
        Assert.Equal("{\n    \"a\": 1\n}", YamlOutput.ToJson(JsonNode.Parse("""{"a":1}""")));
    }
}
