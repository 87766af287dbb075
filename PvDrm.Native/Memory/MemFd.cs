using System.Text;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Memory;

/// <summary>Anonymous shared memory files: the pages behind SoftGpu's GEM objects.</summary>
public static class MemFd
{
    /// <summary>
    /// Creates a zero-filled memfd of <paramref name="size"/> bytes. The kernel hands out zeroed
    /// pages, so memory another guest freed never shows through.
    /// </summary>
    public static unsafe FileDescriptor Create(string name, ulong size)
    {
        // memfd names must be NUL-terminated; the kernel truncates them at 249 bytes.
        int length = Math.Min(Encoding.UTF8.GetByteCount(name), 200);
        Span<byte> bytes = stackalloc byte[length + 1];
        Encoding.UTF8.GetBytes(name.AsSpan(), bytes[..length]);
        bytes[length] = 0;

        int fd;
        fixed (byte* p = bytes) fd = memfd_create(p, MFD_CLOEXEC);
        if (fd < 0) ErrnoException.ThrowLibc("memfd_create", errno);

        var handle = new FileDescriptor(fd);
        if (ftruncate(fd, (off_t)(long)size) != 0)
        {
            int err = errno;
            handle.Dispose();
            ErrnoException.ThrowLibc($"ftruncate({size})", err);
        }
        return handle;
    }

    /// <summary>The size of a file (memfd, dma-buf) from fstat.</summary>
    public static unsafe ulong SizeOf(FileDescriptor fd)
    {
        stat st;
        if (fstat(fd.Number, &st) != 0) ErrnoException.ThrowLibc("fstat", errno);
        return (ulong)(long)st.st_size;
    }
}
