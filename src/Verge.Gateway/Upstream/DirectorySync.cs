using System.Runtime.InteropServices;
using System.Text;

namespace Verge.Gateway.Upstream;

/// <summary>
/// fsync of a directory, so a newly created file's directory entry survives a crash (.NET cannot open a directory as
/// a file). Linux only; elsewhere a no-op.
/// </summary>
internal static class DirectorySync
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux x86-64 and arm64

    public static void Flush(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var fd = NativeMethods.open(bytes, ReadOnly | Directory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {path} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"cannot sync directory {path} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054, CA5392, IDE1006 // plain libc calls with blittable arguments; names as libc spells them
        [DllImport("libc", SetLastError = true)]
        public static extern int open(byte[] path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc")]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054, CA5392, IDE1006
    }
}
