using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Verge.Agent.Tests.Hosting;

/// <summary>
/// What keeps the native agent's JSON contracts few (docs/agent.md, "Memory"): the agent and its gateway serialize
/// through <c>NodeJsonContext</c>, since a reference to the full context would put the contracts of every kind back
/// into the binary, and never parse a stream asynchronously, which would compile the serializer's asynchronous reader
/// into every JSON type's generic dictionary. These tests read the two assemblies' own references; the Verge.Core code
/// they call (such as <c>NodeReportDigest</c>) is not covered here.
/// </summary>
public sealed class JsonContractsTests
{
    [Theory]
    [InlineData("Verge.Agent")]
    [InlineData("Verge.Gateway")]
    public void AgentAssemblies_DoNotReferToTheFullJsonContext(string assemblyName)
    {
        var referenced = Read(assemblyName, TypeReferences);

        Assert.Contains("Verge.Core.Serialization.NodeJsonContext", referenced);
        Assert.DoesNotContain("Verge.Core.Serialization.VergeJsonContext", referenced);
        Assert.DoesNotContain("Verge.Core.Serialization.VergeJson", referenced);
    }

    [Theory]
    [InlineData("Verge.Agent")]
    [InlineData("Verge.Gateway")]
    public void AgentAssemblies_DoNotDeserializeStreamsAsynchronously(string assemblyName)
    {
        var called = Read(assemblyName, MemberReferences);

        Assert.Contains(called, name => name.StartsWith("System.Text.Json.JsonSerializer.", StringComparison.Ordinal));
        Assert.DoesNotContain("System.Text.Json.JsonSerializer.DeserializeAsync", called);
        Assert.DoesNotContain("System.Text.Json.JsonSerializer.DeserializeAsyncEnumerable", called);
    }

    private static HashSet<string> Read(string assemblyName, Func<MetadataReader, IEnumerable<string>> names)
    {
        using var stream = File.OpenRead(Assembly.Load(assemblyName).Location);
        using var pe = new PEReader(stream);
        return names(pe.GetMetadataReader()).ToHashSet(StringComparer.Ordinal);
    }

    private static IEnumerable<string> TypeReferences(MetadataReader metadata) =>
        metadata.TypeReferences.Select(handle => TypeName(metadata, handle));

    private static IEnumerable<string> MemberReferences(MetadataReader metadata)
    {
        foreach (var handle in metadata.MemberReferences)
        {
            var member = metadata.GetMemberReference(handle);
            var name = metadata.GetString(member.Name);
            switch (member.Parent.Kind)
            {
                case HandleKind.TypeReference:
                    yield return $"{TypeName(metadata, (TypeReferenceHandle)member.Parent)}.{name}";
                    break;
                case HandleKind.TypeSpecification:
                    yield return $"(generic).{name}";
                    break;
            }
        }

        // Generic methods (JsonSerializer.Deserialize<T>, DeserializeAsync<T>) are called through method specifications
        // whose method is a member reference, so the loop above already named them.
    }

    private static string TypeName(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var reference = metadata.GetTypeReference(handle);
        return $"{metadata.GetString(reference.Namespace)}.{metadata.GetString(reference.Name)}";
    }
}
