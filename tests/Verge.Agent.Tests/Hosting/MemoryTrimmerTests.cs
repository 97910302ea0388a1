using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Hosting;

namespace Verge.Agent.Tests.Hosting;

public sealed class MemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;

    private long _allocated;

    private MemoryTrimmer Trimmer() =>
        new(new MemoryTrimmerOptions { BusyBytes = 1 * MiB, TrimAfterBytes = 8 * MiB }, TimeProvider.System, NullLogger.Instance, () => _allocated);

    [Fact]
    public async Task Check_WhileWorkGoesOn_DoesNotTrim_ThenTrimsOnceItIsQuiet()
    {
        await using var trimmer = Trimmer();

        _allocated += 20 * MiB;
        Assert.False(trimmer.Check());
        _allocated += 5 * MiB;
        Assert.False(trimmer.Check());

        _allocated += 100 * 1024;
        Assert.True(trimmer.Check());
        Assert.Equal(1, trimmer.Trims);
    }

    [Fact]
    public async Task Check_WhenLittleWasAllocatedSinceTheLastTrim_DoesNotTrim()
    {
        await using var trimmer = Trimmer();
        _allocated += 20 * MiB;
        trimmer.Check();
        Assert.True(trimmer.Check());

        // Idle: a trickle below the busy level, but not yet the trim threshold in all.
        for (var i = 0; i < 27; i++)
        {
            _allocated += 300 * 1024;
            Assert.False(trimmer.Check());
        }

        _allocated += 300 * 1024;
        Assert.True(trimmer.Check());
        Assert.Equal(2, trimmer.Trims);
    }

    [Fact]
    public void Options_WithNonPositiveValues_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => new MemoryTrimmerOptions { CheckInterval = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentException>(() => new MemoryTrimmerOptions { TrimAfterBytes = 0 }.Validate());
    }

    [Fact]
    public async Task Trim_ReallyCollects_AndGivesTheHeapBack()
    {
        await using var trimmer = new MemoryTrimmer(new MemoryTrimmerOptions { BusyBytes = 100, TrimAfterBytes = 1 }, TimeProvider.System, NullLogger.Instance, () => _allocated);
        var collections = GC.CollectionCount(GC.MaxGeneration);
        _allocated = 10;

        Assert.True(trimmer.Check());

        Assert.True(GC.CollectionCount(GC.MaxGeneration) > collections);
    }
}
