using System.Text;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Support;

/// <summary>Memfds as a hostile guest makes them: sealable or not, with whatever seals it likes.</summary>
internal static unsafe class GuestMemFd
{
    /// <summary>Linux 5.1's F_SEAL_FUTURE_WRITE (Tmds.LibC does not name it).</summary>
    public const int F_SEAL_FUTURE_WRITE = 0x0010;

    public static FileDescriptor Create(string name, ulong size, bool sealable = true)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name + "\0");
        int fd;
        fixed (byte* p = bytes) fd = memfd_create(p, MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0));
        if (fd < 0) ErrnoException.ThrowLibc("memfd_create", errno);
        var handle = new FileDescriptor(fd);
        if (ftruncate(fd, (off_t)(long)size) != 0) ErrnoException.ThrowLibc("ftruncate", errno);
        return handle;
    }

    public static void AddSeals(FileDescriptor fd, int seals)
    {
        if (fcntl(fd.Number, F_ADD_SEALS, seals) != 0) ErrnoException.ThrowLibc("fcntl(F_ADD_SEALS)", errno);
    }
}
