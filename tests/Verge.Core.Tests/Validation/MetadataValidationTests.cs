using Verge.Core.Meta;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class MetadataValidationTests
{
    [Fact]
    public void Validate_WhenNameIsNotASubdomain_PrintsKubernetesMessage()
    {
        var errors = MetadataValidation.Validate(new ObjectMeta { Name = "Bad_Name", Namespace = "default" }, namespaced: true, nameIsDnsLabel: false);
        var error = Assert.Single(errors);
        Assert.Equal(
            "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            error.ToString());
    }

    [Fact]
    public void Validate_WhenNamespaceNameHasADot_RequiresADnsLabel()
    {
        var error = Assert.Single(MetadataValidation.Validate(new ObjectMeta { Name = "a.b" }, namespaced: false, nameIsDnsLabel: true));
        Assert.Equal(
            "metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            error.ToString());
    }

    [Fact]
    public void Validate_WhenNameAndGenerateNameAreMissing_RequiresOne()
    {
        var error = Assert.Single(MetadataValidation.Validate(new ObjectMeta { Namespace = "default" }, namespaced: true, nameIsDnsLabel: false));
        Assert.Equal("metadata.name: Required value: name or generateName is required", error.ToString());
    }

    [Fact]
    public void Validate_WhenGenerateNameEndsInDash_AcceptsIt()
    {
        Assert.Empty(MetadataValidation.Validate(new ObjectMeta { Name = "web-x7k2p", GenerateName = "web-", Namespace = "default" }, namespaced: true, nameIsDnsLabel: false));
    }

    [Fact]
    public void Validate_NamespaceRequiredForNamespacedKinds_AndForbiddenOtherwise()
    {
        Assert.Equal("metadata.namespace: Required value", Assert.Single(MetadataValidation.Validate(new ObjectMeta { Name = "a" }, true, false)).ToString());
        Assert.Equal("metadata.namespace: Forbidden: not allowed on this type", Assert.Single(MetadataValidation.Validate(new ObjectMeta { Name = "a", Namespace = "x" }, false, false)).ToString());
    }

    [Fact]
    public void Validate_LabelKeysAndValues()
    {
        var meta = new ObjectMeta { Name = "a", Labels = new() { ["example.com/app"] = "ok", ["bad key"] = "v", ["k"] = "-bad" } };
        var errors = MetadataValidation.Validate(meta, false, false).Select(e => e.ToString()).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal("metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')", errors[0]);
        Assert.Equal("metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')", errors[1]);
    }

    [Fact]
    public void Validate_WhenAnnotationsExceed256KiB_IsTooLong()
    {
        var meta = new ObjectMeta { Name = "a", Annotations = new() { ["big"] = new string('x', 256 * 1024) } };
        var error = Assert.Single(MetadataValidation.Validate(meta, false, false));
        Assert.Equal("metadata.annotations: Too long: may not be more than 262144 bytes", error.ToString());
    }

    [Fact]
    public void Validate_WhenLabelValueIsTooLong_SaysSo()
    {
        var meta = new ObjectMeta { Name = "a", Labels = new() { ["k"] = new string('a', 64) } };
        var error = Assert.Single(MetadataValidation.Validate(meta, false, false));
        Assert.EndsWith("must be no more than 63 characters", error.ToString(), StringComparison.Ordinal);
    }
}
