using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Memory;

/// <summary>A shared read/write mapping of a file (memfd or dma-buf), unmapped on dispose.</summary>
public sealed unsafe class Mapping : IDisposable
{
    private nint _address;

    private Mapping(byte* address, ulong length)
    {
        _address = (nint)address;
        Length = length;
    }

    public ulong Length { get; }

    /// <summary>The first byte; throws once disposed.</summary>
    public byte* Pointer => _address != 0 ? (byte*)_address : throw new ObjectDisposedException(nameof(Mapping));

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>, bounds checked.</summary>
    public Span<byte> Slice(ulong offset, int length)
    {
        if (length < 0 || offset > Length || (ulong)length > Length - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside a {Length}-byte mapping");
        return new Span<byte>(Pointer + offset, length);
    }

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> shared, read/write.</summary>
    public static Mapping Map(FileDescriptor fd, ulong length) => Map(fd, 0, length);

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/> (whole pages), shared, read/write.</summary>
    public static Mapping Map(FileDescriptor fd, ulong offset, ulong length)
    {
        if (length == 0) ErrnoException.Throw(Errno.EINVAL, "cannot map zero bytes");
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            void* p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd.Number, (off_t)(long)offset);
            if (p == MAP_FAILED) ErrnoException.ThrowLibc($"mmap({length})", errno);
            return new Mapping((byte*)p, length);
        }
        finally
        {
            if (added) fd.DangerousRelease();
        }
    }

    public void Dispose()
    {
        nint p = Interlocked.Exchange(ref _address, 0);
        if (p != 0) munmap((void*)p, (size_t)Length);
    }
}
