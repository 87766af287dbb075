using System.Text;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Memory;

/// <summary>Anonymous shared memory files: the pages behind SoftGpu's GEM objects.</summary>
public static class MemFd
{
    /// <summary>
    /// Creates a zero-filled memfd of <paramref name="size"/> bytes, sealed so nobody can resize it.
    /// The kernel hands out zeroed pages, so memory another guest freed never shows through. The
    /// seals matter because guests receive this descriptor (GEM_MAP): a guest that could shrink it
    /// would make the host's own mapping fault (SIGBUS) on its next access.
    /// </summary>
    public static unsafe FileDescriptor Create(string name, ulong size)
    {
        // memfd names must be NUL-terminated; the kernel truncates them at 249 bytes.
        int length = Math.Min(Encoding.UTF8.GetByteCount(name), 200);
        Span<byte> bytes = stackalloc byte[length + 1];
        Encoding.UTF8.GetBytes(name.AsSpan(), bytes[..length]);
        bytes[length] = 0;

        int fd;
        fixed (byte* p = bytes) fd = memfd_create(p, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) ErrnoException.ThrowLibc("memfd_create", errno);

        var handle = new FileDescriptor(fd);
        if (ftruncate(fd, (off_t)(long)size) != 0)
        {
            int err = errno;
            handle.Dispose();
            ErrnoException.ThrowLibc($"ftruncate({size})", err);
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        {
            int err = errno;
            handle.Dispose();
            ErrnoException.ThrowLibc("fcntl(F_ADD_SEALS)", err);
        }
        return handle;
    }

    /// <summary>
    /// Seals a memfd received from elsewhere against shrinking, so mapping it is safe; fails unless
    /// it is a memfd created with MFD_ALLOW_SEALING and not yet sealed against sealing.
    /// </summary>
    public static void SealAgainstShrinking(FileDescriptor fd)
    {
        int seals = fcntl(fd.Number, F_GET_SEALS);
        if (seals < 0) ErrnoException.Throw(Errno.EINVAL, "not a memfd (it cannot be sealed against shrinking)");
        if ((seals & F_SEAL_SHRINK) != 0) return;
        if (fcntl(fd.Number, F_ADD_SEALS, F_SEAL_SHRINK) != 0)
            ErrnoException.Throw(Errno.EINVAL, "the memfd cannot be sealed against shrinking (create it with MFD_ALLOW_SEALING)");
    }

    /// <summary>What makes a file itself, whichever descriptor refers to it: (st_dev, st_ino).</summary>
    public static unsafe (ulong Device, ulong Inode) Identity(FileDescriptor fd)
    {
        stat st;
        if (fstat(fd.Number, &st) != 0) ErrnoException.ThrowLibc("fstat", errno);
        return ((ulong)st.st_dev, (ulong)st.st_ino);
    }

    /// <summary>The size of a file (memfd, dma-buf) from fstat.</summary>
    public static unsafe ulong SizeOf(FileDescriptor fd)
    {
        stat st;
        if (fstat(fd.Number, &st) != 0) ErrnoException.ThrowLibc("fstat", errno);
        return (ulong)(long)st.st_size;
    }
}
