using System.Text.Json.Nodes;
using Verge.Core.Apps;
using Verge.Core.Meta;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class ControllerRevisionValidationTests
{
    [Fact]
    public void Validate_WhenDataChangesOnUpdate_SaysTheFieldIsImmutable()
    {
        var old = Revision("""{"spec":{"template":{"$patch":"replace"}}}""", 1);
        var renumbered = Revision("""{"spec":{"template":{"$patch":"replace"}}}""", 2);
        var changed = Revision("""{"spec":{"template":{"metadata":{"labels":{"a":"b"}},"$patch":"replace"}}}""", 1);

        Assert.Empty(AppsValidation.ValidateControllerRevision(renumbered, old));
        var error = Assert.Single(AppsValidation.ValidateControllerRevision(changed, old));
        Assert.Equal("data", error.Field);
        Assert.Contains("field is immutable", error.ToString());
    }

    [Fact]
    public void Validate_WithANegativeRevision_IsInvalid()
    {
        var error = Assert.Single(AppsValidation.ValidateControllerRevision(Revision("{}", -1), null));
        Assert.Equal("revision", error.Field);
    }

    [Fact]
    public void Catalog_ServesControllerRevisionsInApps()
    {
        var type = ResourceCatalog.For<ControllerRevision>();
        Assert.Equal("apps", type.Group);
        Assert.Equal("controllerrevisions", type.Plural);
        Assert.True(type.Namespaced);
        Assert.False(type.HasStatus);
    }

    private static ControllerRevision Revision(string data, long revision) => new()
    {
        Metadata = new ObjectMeta { Name = "agent-abc", Namespace = "default" },
        Data = JsonNode.Parse(data),
        Revision = revision,
    };
}
