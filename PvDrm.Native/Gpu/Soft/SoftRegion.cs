using System.Text;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// One guest's shared region (PVDRM's granted pages): a file the host creates and a VM maps as
/// the BAR of an ivshmem-plain device, holding that guest's SoftGpu buffers and nothing else.
/// A guest in the VM maps its buffers' ranges of the BAR, so it writes the very pages the engines
/// read. A buffer's pages are freed (zeroed) when it is released, before the range is reused.
/// </summary>
public sealed class SoftRegion : IDisposable
{
    private readonly RegionAllocator _pages;

    private SoftRegion(string path, FileDescriptor fd, ulong size, string key)
    {
        (Path, Fd, Key) = (path, fd, key);
        _pages = new RegionAllocator(size);
    }

    /// <summary>
    /// Creates the file <paramref name="path"/>, mode 0600, of <paramref name="size"/> bytes
    /// (zeros); removed on dispose. A file already there is removed first and the new one made
    /// with O_EXCL, so neither an earlier file's bytes nor a file someone else made is used.
    /// <paramref name="key"/> is the setting that sized it, named when the region is full.
    /// </summary>
    public static unsafe SoftRegion Create(string path, ulong size, string key)
    {
        if (size == 0 || size % 4096 != 0) ErrnoException.Throw(Errno.EINVAL, $"{key}: {size} bytes is not a whole number of pages");
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ErrnoException.Throw(Errno.EEXIST, $"{key}: {path} exists and cannot be removed: {e.Message}");
        }
        fixed (byte* p = name) fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0x180);
        if (fd < 0) ErrnoException.ThrowLibc($"open({path})", errno);
        var handle = new FileDescriptor(fd);
        if (ftruncate(fd, (off_t)(long)size) != 0)
        {
            int err = errno;
            handle.Dispose();
            ErrnoException.ThrowLibc($"sizing {path} to {size}", err);
        }
        return new SoftRegion(path, handle, size, key);
    }

    public string Path { get; }

    /// <summary>The region file; buffers in it read, write and map through it at their offsets.</summary>
    internal FileDescriptor Fd { get; }

    /// <summary>The setting that sized the region, named when it is full.</summary>
    public string Key { get; }

    public ulong Size => _pages.Capacity;

    public ulong Used
    {
        get { lock (_pages) return _pages.Used; }
    }

    /// <summary>The offset of <paramref name="length"/> bytes (whole pages) of zeros, taken; ENOMEM naming the key when they do not fit.</summary>
    internal ulong Take(ulong length)
    {
        lock (_pages)
        {
            if (_pages.TryTake(length, out ulong offset)) return offset;
            ErrnoException.Throw(Errno.ENOMEM,
                $"the shared region is full: {length} more bytes do not fit in its {Size} bytes ({_pages.Used} in use; {Key})");
            return 0;
        }
    }

    /// <summary>Zeroes the range (its pages freed), then gives it back for reuse.</summary>
    internal void Return(ulong offset, ulong length)
    {
        MemFd.PunchOut(Fd, offset, length);
        lock (_pages) _pages.Return(offset, length);
    }

    public void Dispose()
    {
        Fd.Dispose();
        File.Delete(Path);
    }
}
