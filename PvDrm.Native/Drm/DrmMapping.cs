using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Drm;

/// <summary>
/// The host's CPU view of a buffer: the device file mapped at the fake offset the driver
/// returned (MODE_MAP_DUMB's offset, nouveau's map_handle), as libdrm maps buffers.
/// </summary>
internal sealed unsafe class DrmMapping : IDisposable
{
    private nint _address;

    private DrmMapping(byte* address, ulong length)
    {
        _address = (nint)address;
        Length = length;
    }

    public ulong Length { get; }

    public static DrmMapping Map(FileDescriptor fd, ulong offset, ulong length)
    {
        if (length == 0) ErrnoException.Throw(Errno.EINVAL, "cannot map zero bytes");
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            void* p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd.Number, (off_t)(long)offset);
            if (p == MAP_FAILED) ErrnoException.ThrowLibc($"mmap({length} bytes of the DRM device at offset 0x{offset:x})", errno);
            return new DrmMapping((byte*)p, length);
        }
        finally
        {
            if (added) fd.DangerousRelease();
        }
    }

    /// <summary>The bytes [offset, offset + length), bounds checked like a buffer range (EINVAL).</summary>
    public Span<byte> Slice(ulong offset, int length)
    {
        nint address = _address;
        if (address == 0) throw new ObjectDisposedException(nameof(DrmMapping));
        if (length < 0 || offset > Length || (ulong)length > Length - offset)
            ErrnoException.Throw(Errno.EINVAL, $"range [{offset}, +{length}) is outside the {Length}-byte buffer");
        return new Span<byte>((byte*)address + offset, length);
    }

    public void Dispose()
    {
        nint p = Interlocked.Exchange(ref _address, 0);
        if (p != 0) munmap((void*)p, (size_t)Length);
    }
}
