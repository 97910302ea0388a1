using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Serialization;
using DescriptionAttribute = System.ComponentModel.DescriptionAttribute;

namespace Verge.Core.Tests.Serialization;

public sealed class VergeJsonContextTests
{
    private static JsonPropertyInfo Property(Type type, string jsonName) =>
        VergeJson.Options.GetTypeInfo(type).Properties.Single(p => p.Name == jsonName);

    [Theory]
    [InlineData(typeof(PodSpec), "containers", "name")]
    [InlineData(typeof(PodSpec), "volumes", "name")]
    [InlineData(typeof(PodSpec), "imagePullSecrets", "name")]
    [InlineData(typeof(Container), "ports", "containerPort")]
    [InlineData(typeof(Container), "env", "name")]
    [InlineData(typeof(Container), "volumeMounts", "mountPath")]
    [InlineData(typeof(NodeStatus), "conditions", "type")]
    [InlineData(typeof(NodeStatus), "addresses", "type")]
    [InlineData(typeof(ObjectMeta), "ownerReferences", "uid")]
    public void MergeKeys_AreVisibleThroughTheContract(Type type, string property, string key)
    {
        var provider = Property(type, property).AttributeProvider!;
        var attribute = Assert.Single(provider.GetCustomAttributes(typeof(MergeKeyAttribute), inherit: false).Cast<MergeKeyAttribute>());
        Assert.Equal(key, attribute.Key);
    }

    [Fact]
    public void Tolerations_HaveNoMergeKey()
    {
        Assert.Empty(Property(typeof(PodSpec), "tolerations").AttributeProvider!.GetCustomAttributes(typeof(MergeKeyAttribute), false));
    }

    [Fact]
    public void Descriptions_AreOnKindsAndFields()
    {
        Assert.NotNull(typeof(Pod).GetCustomAttribute<DescriptionAttribute>());
        var description = Property(typeof(Container), "image").AttributeProvider!.GetCustomAttributes(typeof(DescriptionAttribute), false);
        Assert.Equal("Container image name.", Assert.Single(description.Cast<DescriptionAttribute>()).Description);
    }

    [Fact]
    public void EveryCatalogKind_HasAContractFromTheContext()
    {
        foreach (var type in ResourceCatalog.All)
        {
            Assert.Same(VergeJsonContext.Default, type.TypeInfo.OriginatingResolver);
            Assert.NotNull(type.TypeInfo.Type.GetCustomAttribute<DescriptionAttribute>());
        }
    }
}
