using System.Runtime.InteropServices;

namespace Verge.Agent.Images;

/// <summary>The few POSIX calls .NET has no API for: ownership without following links, and hard links.</summary>
internal static partial class NativeFs
{
    public static void LChown(string path, int uid, int gid)
    {
        if (LChownNative(path, uid, gid) != 0)
        {
            throw new IOException($"lchown {path} to {uid}:{gid} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    public static void Link(string existing, string created)
    {
        if (LinkNative(existing, created) != 0)
        {
            throw new IOException($"hard link {created} to {existing} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChownNative(string path, int owner, int group);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);
}
