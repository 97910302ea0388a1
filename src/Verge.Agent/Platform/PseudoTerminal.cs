using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Verge.Agent.Platform;

/// <summary>
/// A Unix pseudo-terminal pair (<c>posix_openpt</c>): the agent keeps the master end and hands the slave's path to the
/// command it starts. Reading the master gives what the terminal shows; writing it types. Once every process holding
/// the slave has closed it, reads of the master end (EIO), which <see cref="Reader"/> reports as end of stream.
/// </summary>
public sealed partial class PseudoTerminal : IDisposable
{
    private const int ORdwr = 2;
    private const int ONoctty = 0x100;
    private const ulong TiocSwinsz = 0x5414;

    private readonly SafeFileHandle _master;

    private PseudoTerminal(SafeFileHandle master, string slavePath)
    {
        _master = master;
        SlavePath = slavePath;
        Reader = new MasterReader(new FileStream(master, FileAccess.Read, bufferSize: 0));
        Writer = new FileStream(master, FileAccess.Write, bufferSize: 0);
    }

    /// <summary>The slave's path, such as /dev/pts/3.</summary>
    public string SlavePath { get; }

    /// <summary>What the terminal shows; ends when the last process holding the slave closed it.</summary>
    public Stream Reader { get; }

    /// <summary>Input for the terminal.</summary>
    public Stream Writer { get; }

    public static PseudoTerminal Open()
    {
        var fd = PosixOpenpt(ORdwr | ONoctty);
        if (fd < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "posix_openpt");
        }

        var master = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (GrantPt(fd) != 0 || UnlockPt(fd) != 0)
            {
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "grantpt/unlockpt");
            }

            var name = new byte[128];
            var error = PtsNameR(fd, name, name.Length);
            if (error != 0)
            {
                throw new Win32Exception(error, "ptsname_r");
            }

            return new PseudoTerminal(master, Encoding.UTF8.GetString(name, 0, Array.IndexOf(name, (byte)0)));
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>Sets the terminal's size; the foreground process group of the terminal gets SIGWINCH.</summary>
    public void Resize(uint width, uint height)
    {
        var size = new WindowSize { Rows = (ushort)Math.Min(height, ushort.MaxValue), Columns = (ushort)Math.Min(width, ushort.MaxValue) };
        _ = Ioctl((int)_master.DangerousGetHandle(), TiocSwinsz, ref size);
    }

    public void Dispose()
    {
        Reader.Dispose();
        Writer.Dispose();
        _master.Dispose();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WindowSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenpt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r")]
    private static partial int PtsNameR(int fd, [Out] byte[] buffer, nint length);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, ref WindowSize size);

    /// <summary>The master's reads, with the EIO that follows the slave's last close read as end of stream.</summary>
    private sealed class MasterReader(FileStream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                return inner.Read(buffer, offset, count);
            }
            catch (IOException)
            {
                return 0;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (IOException)
            {
                return 0;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
