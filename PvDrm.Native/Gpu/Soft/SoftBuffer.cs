using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A SoftGpu buffer: a memfd (what guests map, like a dma-buf) mapped into the host for the
/// engines. Both are made lazily: the memfd when the buffer is first handed out or written, the
/// mapping when the host first touches the bytes. An untouched buffer reads as zeros and costs
/// no descriptor and no mapping, so a guest can hold 100k idle objects under the host's fd and
/// map-count limits. Freed when the last reference goes.
/// </summary>
internal sealed unsafe class SoftBuffer : IGpuBuffer
{
    private readonly SoftGpu _device;
    private FileDescriptor? _fd;
    private Mapping? _mapping;
    private int _references = 1;

    /// <summary>A zeroed buffer of <paramref name="size"/> bytes; its memfd comes on first use.</summary>
    public SoftBuffer(SoftGpu device, ulong size, GemDomain domain)
    {
        _device = device;
        Size = size;
        Domain = domain;
    }

    /// <summary>Adopts <paramref name="fd"/> (sealed against shrinking by the caller) as the buffer's memory.</summary>
    public SoftBuffer(SoftGpu device, FileDescriptor fd, ulong size, GemDomain domain)
        : this(device, size, domain)
    {
        _fd = fd;
    }

    /// <summary>The device whose memory this is; a pushbuf may only list its own device's buffers.</summary>
    internal SoftGpu Device => _device;

    public ulong Size { get; }

    public GemDomain Domain { get; }

    /// <summary>The memfd, created (zero-filled) on first use; can fail with EMFILE or ENOMEM.</summary>
    public FileDescriptor Fd => Volatile.Read(ref _fd) ?? Back(map: false).Fd;

    /// <summary>True once the buffer has a memfd (tests, diagnostics).</summary>
    internal bool HasMemory => Volatile.Read(ref _fd) != null;

    /// <summary>True once the host has mapped the memfd.</summary>
    internal bool IsMapped => Volatile.Read(ref _mapping) != null;

    /// <summary>The first byte, for the engines; valid while a reference is held. Maps on first use.</summary>
    public byte* Pointer => (Volatile.Read(ref _mapping) ?? Back(map: true).Mapping!).Pointer;

    /// <summary>Makes the memory exist before a pushbuf runs, so a failure is the submitter's error, not the engine's.</summary>
    internal void Touch() => _ = Pointer;

    public void Read(ulong offset, Span<byte> destination)
    {
        // Nothing has written an unbacked buffer: it is all zeros, and reading it need not change that.
        if (!HasMemory)
        {
            CheckRange(offset, destination.Length);
            destination.Clear();
            return;
        }
        Slice(offset, destination.Length).CopyTo(destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source) => source.CopyTo(Slice(offset, source.Length));

    private Span<byte> Slice(ulong offset, int length)
    {
        CheckRange(offset, length);
        return new Span<byte>(Pointer + offset, length);
    }

    private void CheckRange(ulong offset, int length)
    {
        if (offset > Size || (ulong)length > Size - offset)
            ErrnoException.Throw(Errno.EINVAL, $"range [{offset}, +{length}) is outside the {Size}-byte buffer");
    }

    /// <summary>
    /// Creates the memfd (and, if <paramref name="map"/>, the mapping) once. Locks the buffer
    /// itself: it is internal, nothing else locks it, and an extra lock object per buffer is what
    /// 100k idle objects should not pay for.
    /// </summary>
    private (FileDescriptor Fd, Mapping? Mapping) Back(bool map)
    {
        lock (this)
        {
            if (Volatile.Read(ref _references) == 0) throw new ObjectDisposedException(nameof(SoftBuffer), "buffer already freed");
            // The descriptor stays once made, even if mapping it fails: it is valid, and Release closes it.
            var fd = _fd ?? MemFd.Create($"pvdrm-{_device.Name}", Size);
            Volatile.Write(ref _fd, fd);
            if (map && _mapping == null) Volatile.Write(ref _mapping, Mapping.Map(fd, Size));
            return (fd, _mapping);
        }
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
        lock (this)
        {
            _mapping?.Dispose();
            _fd?.Dispose();
        }
        _device.OnBufferFreed(Size);
    }
}
