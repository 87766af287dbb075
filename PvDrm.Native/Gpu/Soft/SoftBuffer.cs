using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A SoftGpu buffer: a memfd (what guests map, like a dma-buf) mapped once into the host for
/// the engines. Freed when the last reference goes.
/// </summary>
internal sealed unsafe class SoftBuffer : IGpuBuffer
{
    private readonly SoftGpu _device;
    private readonly FileDescriptor _fd;
    private readonly Mapping _mapping;
    private int _references = 1;

    /// <summary>A new zeroed, sealed memfd of <paramref name="size"/> bytes.</summary>
    public SoftBuffer(SoftGpu device, ulong size, GemDomain domain)
        : this(device, MemFd.Create($"pvdrm-{device.Name}", size), size, domain)
    {
    }

    /// <summary>Adopts <paramref name="fd"/> (sealed against shrinking by the caller) as the buffer's memory.</summary>
    public SoftBuffer(SoftGpu device, FileDescriptor fd, ulong size, GemDomain domain)
    {
        _device = device;
        Size = size;
        Domain = domain;
        _fd = fd;
        try
        {
            _mapping = Mapping.Map(_fd, size);
        }
        catch
        {
            _fd.Dispose();
            throw;
        }
    }

    /// <summary>The device whose memory this is; a pushbuf may only list its own device's buffers.</summary>
    internal SoftGpu Device => _device;

    public ulong Size { get; }

    public GemDomain Domain { get; }

    public FileDescriptor Fd => _fd;

    /// <summary>The first byte, for the engines; valid while a reference is held.</summary>
    public byte* Pointer => _mapping.Pointer;

    public void Read(ulong offset, Span<byte> destination) => Slice(offset, destination.Length).CopyTo(destination);

    public void Write(ulong offset, ReadOnlySpan<byte> source) => source.CopyTo(Slice(offset, source.Length));

    private Span<byte> Slice(ulong offset, int length)
    {
        if (offset > Size || (ulong)length > Size - offset)
            ErrnoException.Throw(Errno.EINVAL, $"range [{offset}, +{length}) is outside the {Size}-byte buffer");
        return new Span<byte>(Pointer + offset, length);
    }

    public void AddRef()
    {
        int current;
        do
        {
            current = Volatile.Read(ref _references);
            if (current == 0) throw new ObjectDisposedException(nameof(SoftBuffer), "buffer already freed");
        }
        while (Interlocked.CompareExchange(ref _references, current + 1, current) != current);
    }

    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left > 0) return;
        if (left < 0) throw new InvalidOperationException("buffer released more often than referenced");
        _mapping.Dispose();
        _fd.Dispose();
        _device.OnBufferFreed(Size);
    }
}
