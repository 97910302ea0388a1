using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Verge.Agent.Tests.Hosting;

/// <summary>
/// The agent and its gateway serialize through <c>NodeJsonContext</c>: a reference to the full context would put the
/// contracts of every kind back into the Native AOT binary (docs/agent.md, "Memory").
/// </summary>
public sealed class JsonContractsTests
{
    [Theory]
    [InlineData("Verge.Agent")]
    [InlineData("Verge.Gateway")]
    public void AgentAssemblies_DoNotReferToTheFullJsonContext(string assemblyName)
    {
        var referenced = TypeReferences(Assembly.Load(assemblyName));

        Assert.Contains("Verge.Core.Serialization.NodeJsonContext", referenced);
        Assert.DoesNotContain("Verge.Core.Serialization.VergeJsonContext", referenced);
        Assert.DoesNotContain("Verge.Core.Serialization.VergeJson", referenced);
    }

    private static HashSet<string> TypeReferences(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        return metadata.TypeReferences
            .Select(handle => metadata.GetTypeReference(handle))
            .Select(reference => $"{metadata.GetString(reference.Namespace)}.{metadata.GetString(reference.Name)}")
            .ToHashSet(StringComparer.Ordinal);
    }
}
