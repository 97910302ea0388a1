namespace Verge.Core.IO;

/// <summary>
/// One process's claim on a state file: an exclusive lock on <c>PATH.lock</c>, held while this object lives. A store
/// or an agent database assumes it is the only writer (the server keeps the current revision in memory, the agent
/// acts on the pods it records), so a second server or agent started on the same data directory must be refused, not
/// left to interleave its writes with the first one's. The lock is the kernel's (<c>flock</c>, which .NET takes for
/// <see cref="FileShare.None"/>), so it goes with the process however that ends; the empty file stays.
/// </summary>
public sealed class OwnerLock : IDisposable
{
    private readonly FileStream _file;

    private OwnerLock(FileStream file) => _file = file;

    /// <summary>
    /// Takes the lock for <paramref name="path"/>, or throws an <see cref="IOException"/> saying that
    /// <paramref name="what"/> is in use.
    /// </summary>
    public static OwnerLock Acquire(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var lockPath = path + ".lock";
        try
        {
            return new OwnerLock(new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (File.Exists(lockPath))
        {
            throw new IOException($"{what} is in use by another process; stop that one first", e);
        }
    }

    public void Dispose() => _file.Dispose();
}
