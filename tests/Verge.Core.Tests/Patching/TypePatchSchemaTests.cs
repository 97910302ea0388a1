using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Verge.Core.Meta;
using Verge.Core.Patching;
using static Verge.Core.Tests.Patching.PatchAssert;

namespace Verge.Core.Tests.Patching;

public sealed class TypePatchSchemaTests
{
    private static readonly TypePatchSchema Schema = TypePatchSchema.For(PatchTestJsonContext.Default.SchemaDeployment);

    [Theory]
    [InlineData("spec.template.spec.containers", ListMergeStrategy.MergeByKey, "name")]
    [InlineData("spec.template.spec.containers.env", ListMergeStrategy.MergeByKey, "name")]
    [InlineData("spec.template.spec.containers.ports", ListMergeStrategy.MergeByKey, "containerPort")]
    [InlineData("spec.template.spec.sidecars.anykey.env", ListMergeStrategy.MergeByKey, "name")]
    [InlineData("metadata.finalizers", ListMergeStrategy.Set, null)]
    [InlineData("metadata.ownerReferences", ListMergeStrategy.MergeByKey, "uid")]
    [InlineData("spec.template.spec.containers.command", ListMergeStrategy.Atomic, null)]
    [InlineData("spec.template.spec.nodeSelector.zone", ListMergeStrategy.Atomic, null)]
    [InlineData("spec.unknown.containers", ListMergeStrategy.Atomic, null)]
    [InlineData("metadata.managedFields.fieldsV1.x", ListMergeStrategy.Atomic, null)]
    public void GetList_ReadsMergeAttributesThroughNestedTypes(string path, ListMergeStrategy strategy, string? key)
    {
        var list = Schema.GetList(path.Split('.'));

        Assert.Equal(new ListSchema(strategy, key), list);
    }

    [Fact]
    public void For_SameTypeInfo_ReturnsCachedSchema()
    {
        Assert.Same(Schema, TypePatchSchema.For(PatchTestJsonContext.Default.SchemaDeployment));
    }

    [Fact]
    public void StrategicMergePatch_WithTypeSchema_MergesContainersByName()
    {
        var live = Obj("""{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}]}}}}""");
        var patch = Obj("""{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"image":"x:2","name":"a"}]}}}}""");

        var result = StrategicMergePatch.Apply(live, patch, Schema);

        Json("""{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:2"},{"name":"b","image":"y:1"}]}}}}""", result);
    }
}

internal sealed class SchemaDeployment : KubeObject
{
    public SchemaDeploymentSpec? Spec { get; set; }
}

internal sealed class SchemaDeploymentSpec
{
    public int? Replicas { get; set; }

    public SchemaPodTemplate? Template { get; set; }
}

internal sealed class SchemaPodTemplate
{
    public ObjectMeta? Metadata { get; set; }

    public SchemaPodSpec? Spec { get; set; }
}

internal sealed class SchemaPodSpec
{
    [MergeKey("name")]
    public List<SchemaContainer>? Containers { get; set; }

    public Dictionary<string, SchemaContainer>? Sidecars { get; set; }

    public Dictionary<string, string>? NodeSelector { get; set; }
}

internal sealed class SchemaContainer
{
    public string? Name { get; set; }

    public string? Image { get; set; }

    public List<string>? Command { get; set; }

    [MergeKey("name")]
    public List<SchemaEnvVar>? Env { get; set; }

    [MergeKey("containerPort")]
    public SchemaPort[]? Ports { get; set; }
}

internal sealed class SchemaEnvVar
{
    public string? Name { get; set; }

    public string? Value { get; set; }
}

internal sealed class SchemaPort
{
    public int ContainerPort { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SchemaDeployment))]
internal sealed partial class PatchTestJsonContext : JsonSerializerContext;
