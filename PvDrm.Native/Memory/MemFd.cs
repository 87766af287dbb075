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

    /// <summary>Linux 5.1's F_SEAL_FUTURE_WRITE (fcntl.h), which Tmds.LibC does not name.</summary>
    private const int F_SEAL_FUTURE_WRITE = 0x0010;

    /// <summary>True for a file that takes seals (a memfd made with MFD_ALLOW_SEALING); false for a dma-buf, pipe, socket.</summary>
    public static bool IsSealable(FileDescriptor fd) => fcntl(fd.Number, F_GET_SEALS) >= 0;

    /// <summary>
    /// Makes a memfd received from a guest safe to adopt, and returns its size, read once after
    /// sealing: sealed first against shrinking, growing and further sealing (so a racing
    /// ftruncate cannot change what is charged, and no write seal can come later to make the
    /// host's mapping or punching fail). Refuses a descriptor that is not a sealable memfd
    /// (EINVAL) or that carries a write or future-write seal (EPERM: the host could not write
    /// or free its pages).
    /// </summary>
    public static ulong SealForImport(FileDescriptor fd)
    {
        int wanted = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
        int seals = fcntl(fd.Number, F_GET_SEALS);
        if (seals < 0) ErrnoException.Throw(Errno.EINVAL, "not a memfd: only memfds created with MFD_ALLOW_SEALING can be imported");
        if ((seals & wanted) != wanted && fcntl(fd.Number, F_ADD_SEALS, wanted & ~seals) != 0)
            ErrnoException.Throw(Errno.EINVAL, "the memfd cannot be sealed against resizing (create it with MFD_ALLOW_SEALING and do not seal it against sealing)");
        // Read again: a write seal added before ours took effect shows now, and none can follow.
        seals = fcntl(fd.Number, F_GET_SEALS);
        if (seals < 0 || (seals & wanted) != wanted)
            ErrnoException.Throw(Errno.EINVAL, "the memfd did not keep its seals against resizing");
        if ((seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0)
            ErrnoException.Throw(Errno.EPERM, "the memfd is sealed against writing (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE); the host must be able to write and free its pages");
        return SizeOf(fd);
    }

    /// <summary>
    /// Frees the pages of <paramref name="length"/> bytes from the start of a memfd, in every
    /// process that maps or holds it: they read as zeros afterwards and cost no memory until
    /// written again. The size stays, so a sealed memfd can be punched too.
    /// </summary>
    public static void PunchOut(FileDescriptor fd, ulong length) => PunchOut(fd, 0, length);

    /// <summary>Frees the pages of <paramref name="length"/> bytes at <paramref name="offset"/>, as <see cref="PunchOut(FileDescriptor, ulong)"/>.</summary>
    public static void PunchOut(FileDescriptor fd, ulong offset, ulong length)
    {
        if (fallocate(fd.Number, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(long)offset, (off_t)(long)length) != 0)
            ErrnoException.ThrowLibc($"fallocate(PUNCH_HOLE, {offset}, {length})", errno);
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/> (pread, EINTR retried).</summary>
    public static unsafe void ReadAt(FileDescriptor fd, ulong offset, Span<byte> destination)
    {
        fixed (byte* p = destination)
            for (int done = 0; done < destination.Length;)
            {
                long n = pread(fd.Number, p + done, (size_t)(destination.Length - done), (off_t)(long)(offset + (ulong)done));
                if (n > 0) done += (int)n;
                else if (n == 0) ErrnoException.Throw(Errno.EIO, $"pread at {offset + (ulong)done}: end of file inside a sealed buffer");
                else if (errno is var e && e != EINTR) ErrnoException.ThrowLibc($"pread({destination.Length - done})", e);
            }
    }

    /// <summary>Writes all of <paramref name="source"/> at <paramref name="offset"/> (pwrite, EINTR retried).</summary>
    public static unsafe void WriteAt(FileDescriptor fd, ulong offset, ReadOnlySpan<byte> source)
    {
        fixed (byte* p = source)
            for (int done = 0; done < source.Length;)
            {
                long n = pwrite(fd.Number, p + done, (size_t)(source.Length - done), (off_t)(long)(offset + (ulong)done));
                if (n > 0) done += (int)n;
                else if (n == 0) ErrnoException.Throw(Errno.EIO, $"pwrite at {offset + (ulong)done} wrote nothing");
                else if (errno is var e && e != EINTR) ErrnoException.ThrowLibc($"pwrite({source.Length - done})", e);
            }
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
