using Verge.Controllers.Runtime;

namespace Verge.Controllers.Tests.Runtime;

public class LruCacheTests
{
    [Fact]
    public void Set_WhenFull_ForgetsTheLeastRecentlyUsed()
    {
        var cache = new LruCache<int>(2);
        cache.Set("a", 1);
        cache.Set("b", 2);
        Assert.True(cache.TryGet("a", out _));

        cache.Set("c", 3);

        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("a", out var a) && a == 1);
        Assert.True(cache.TryGet("c", out var c) && c == 3);

        cache.Set("a", 10);
        cache.Set("d", 4);
        Assert.False(cache.TryGet("c", out _));
        Assert.True(cache.TryGet("a", out a) && a == 10);
    }
}
