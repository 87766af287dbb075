using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Interop;

/// <summary>An owned Linux file descriptor, closed exactly once.</summary>
public sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor(int fd, bool ownsHandle = true) : base(new IntPtr(-1), ownsHandle)
    {
        SetHandle(new IntPtr(fd));
    }

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw number; only valid while this object is alive and not disposed.</summary>
    public int Number => (int)handle.ToInt64();

    /// <summary>A new descriptor for the same open file (close-on-exec), owned by the caller.</summary>
    public FileDescriptor Duplicate()
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            int copy = fcntl(Number, F_DUPFD_CLOEXEC, 3);
            if (copy < 0) ErrnoException.ThrowLibc("fcntl(F_DUPFD_CLOEXEC)", errno);
            return new FileDescriptor(copy);
        }
        finally
        {
            if (added) DangerousRelease();
        }
    }

    protected override bool ReleaseHandle() => close((int)handle.ToInt64()) == 0;
}
