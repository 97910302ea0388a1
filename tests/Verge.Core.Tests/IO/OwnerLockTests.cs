using Verge.Core.IO;

namespace Verge.Core.Tests.IO;

public sealed class OwnerLockTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("verge-lock-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Acquire_WhileHeld_FailsSayingWhatIsInUse_AndSucceedsOnceReleased()
    {
        var path = Path.Combine(_dir.FullName, "state.db");
        var first = OwnerLock.Acquire(path, "the store");

        var error = Assert.Throws<IOException>(() => OwnerLock.Acquire(path, "the store"));
        Assert.Equal("the store is in use by another process; stop that one first", error.Message);

        first.Dispose();
        using var second = OwnerLock.Acquire(path, "the store");
        Assert.True(File.Exists(path + ".lock"));
    }
}
