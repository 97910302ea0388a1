using Verge.Agent.Hosting;

namespace Verge.Agent.Tests.Hosting;

public sealed class MallocArenasTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void NothingSet_IsLeftToTheAgent()
    {
        Assert.True(MallocArenas.OperatorLeftItOpen(Environment()));
        Assert.True(MallocArenas.OperatorLeftItOpen(Environment(("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072"))));
    }

    [Theory]
    [InlineData("MALLOC_ARENA_MAX", "4")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=8")]
    public void ALimitFromTheOperator_IsKept(string name, string value)
    {
        Assert.False(MallocArenas.OperatorLeftItOpen(Environment((name, value))));
        Assert.False(MallocArenas.LimitToOne(Environment((name, value))));
    }
}
