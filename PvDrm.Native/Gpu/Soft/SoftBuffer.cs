using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A SoftGpu buffer: a memfd (what guests map, like a dma-buf), mapped into the host only while
/// the device's mapping cache keeps it (<see cref="SoftMappingCache"/>). The memfd is made
/// lazily, when the buffer is first handed out, written or listed in a pushbuf; the mapping when
/// a command touches the bytes, and it may be unmapped again whenever no command pins it. An
/// untouched buffer reads as zeros and costs no descriptor and no mapping, so a guest can hold
/// 100k idle objects under the host's fd and map-count limits. The host's own reads and writes
/// go through the descriptor (pread/pwrite), so only the engines map buffers, and each memfd is
/// charged to the device's descriptor budget (<see cref="SoftGpuOptions.MaxDescriptors"/>). When
/// the last reference goes the mapping is dropped and the pages are punched out, so memory
/// returns even while a guest still holds the descriptor it was handed.
/// </summary>
internal sealed unsafe class SoftBuffer : IGpuBuffer
{
    private readonly SoftGpu _device;
    private readonly SoftRegion? _region;
    private FileDescriptor? _fd;
    private int _references = 1;

    // The mapping cache's state of this buffer, kept here so a hit needs no lookup; only
    // SoftMappingCache touches these. Pins: commands using the mapping now, or -1 while the
    // cache unmaps it. Stamp: when it was last pinned. Owner and slot: whose list holds it.
    internal Mapping? CachedMapping;
    internal int CachePins;
    internal long CacheStamp;
    internal string? CacheOwner;
    internal int CacheSlot;

    /// <summary>A zeroed buffer of <paramref name="size"/> bytes; its memfd comes on first use.</summary>
    public SoftBuffer(SoftGpu device, ulong size, GemDomain domain)
    {
        _device = device;
        Size = size;
        Domain = domain;
    }

    /// <summary>Adopts <paramref name="fd"/> (sealed by <see cref="MemFd.SealForImport"/>, its descriptor charged) as the buffer's memory.</summary>
    public SoftBuffer(SoftGpu device, FileDescriptor fd, ulong size, GemDomain domain)
        : this(device, size, domain)
    {
        _fd = fd;
    }

    /// <summary>
    /// A zeroed buffer of <paramref name="size"/> bytes at <paramref name="offset"/> of a guest's
    /// shared region (taken there by the caller, given back on release): its bytes are the
    /// region file's, which the guest's VM maps.
    /// </summary>
    public SoftBuffer(SoftGpu device, SoftRegion region, ulong offset, ulong size, GemDomain domain)
        : this(device, size, domain)
    {
        (_region, _fd, Base) = (region, region.Fd, offset);
    }

    /// <summary>Where the buffer's bytes start in its descriptor: 0, or its offset in a shared region.</summary>
    internal ulong Base { get; }

    /// <summary>The buffer's offset in its guest's shared region, or null when it has a memfd of its own.</summary>
    public ulong? RegionOffset => _region != null ? Base : null;

    /// <summary>The device whose memory this is; a pushbuf may only list its own device's buffers.</summary>
    internal SoftGpu Device => _device;

    public ulong Size { get; }

    public GemDomain Domain { get; }

    /// <summary>The memfd, created (zero-filled) on first use; can fail with EMFILE or ENOMEM.</summary>
    public FileDescriptor Fd => Volatile.Read(ref _fd) ?? Back();

    /// <summary>True once the buffer has a memfd (tests, diagnostics).</summary>
    internal bool HasMemory => Volatile.Read(ref _fd) != null;

    /// <summary>True while the host maps the memfd (the mapping cache holds it).</summary>
    internal bool IsMapped => Volatile.Read(ref CachedMapping) != null;

    /// <summary>Makes the memory exist before a pushbuf runs, so running out of descriptors is the submitter's error, not the engine's.</summary>
    internal void Touch() => _ = Fd;

    /// <summary>The 32-bit word at <paramref name="offset"/>, read through the descriptor: a parked semaphore's check maps nothing.</summary>
    internal uint ReadWord(ulong offset)
    {
        Span<byte> word = stackalloc byte[4];
        Read(offset, word);
        return BitConverter.ToUInt32(word);
    }

    public void Read(ulong offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        // Nothing has written an unbacked buffer: it is all zeros, and reading it need not change that.
        if (Volatile.Read(ref _fd) is not { } fd) destination.Clear();
        else MemFd.ReadAt(fd, Base + offset, destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        if (source.IsEmpty) return;
        MemFd.WriteAt(Fd, Base + offset, source);
    }

    /// <summary>Zeroes the whole buffer by freeing its pages (SCRUB): no copy, and less memory after; its idle mapping goes too.</summary>
    public void Zero()
    {
        if (Volatile.Read(ref _fd) is not { } fd) return;
        _device.Mappings.Drop(this);
        MemFd.PunchOut(fd, Base, Size);
    }

    /// <summary>
    /// Zeroes the buffer on the engines as <paramref name="owner"/>'s work, a chunk per step
    /// (<see cref="SoftGpuOptions.ScrubChunkBytes"/>), so a huge scrub neither holds the caller's
    /// thread nor delays other guests for more than a chunk. Completes when every page is freed.
    /// </summary>
    public Task ZeroAsync(string owner) => Volatile.Read(ref _fd) == null ? Task.CompletedTask : _device.ScrubAsync(this, owner);

    /// <summary>Frees the pages of one scrub chunk; the memfd exists (a scrub starts only then).</summary>
    internal void PunchOut(ulong offset, ulong length) => MemFd.PunchOut(_fd!, Base + offset, length);

    private void CheckRange(ulong offset, int length)
    {
        if (offset > Size || (ulong)length > Size - offset)
            ErrnoException.Throw(Errno.EINVAL, $"range [{offset}, +{length}) is outside the {Size}-byte buffer");
    }

    /// <summary>
    /// Creates the memfd once. Locks the buffer itself: it is internal, nothing else locks it,
    /// and an extra lock object per buffer is what 100k idle objects should not pay for.
    /// </summary>
    private FileDescriptor Back()
    {
        lock (this)
        {
            if (Volatile.Read(ref _references) == 0) throw new ObjectDisposedException(nameof(SoftBuffer), "buffer already freed");
            // The descriptor stays once made, even if mapping it fails: it is valid, and Release closes it.
            var fd = _fd ?? NewMemFd();
            Volatile.Write(ref _fd, fd);
            return fd;
        }
    }

    /// <summary>A memfd for this buffer, charged to the device's descriptor budget first.</summary>
    private FileDescriptor NewMemFd()
    {
        _device.TakeDescriptor();
        try
        {
            return MemFd.Create($"pvdrm-{_device.Name}", Size);
        }
        catch
        {
            _device.ReturnDescriptor();
            throw;
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
        // No command pins it any more (each holds a reference), so its mapping goes now.
        _device.Mappings.Drop(this);
        lock (this)
        {
            if (_region != null)
            {
                // Zeroed before the range can hold another buffer; a failure keeps the range out of use.
                try
                {
                    _region.Return(Base, Size);
                }
                catch (Exception e) when (e is ErrnoException or ObjectDisposedException)
                {
                }
            }
            else if (_fd != null)
            {
                // A guest may still hold a duplicate of the descriptor (GEM_MAP, PRIME): the pages
                // must go now, not when it closes its copy. Best effort: a failure cannot be reported.
                try
                {
                    MemFd.PunchOut(_fd, Size);
                }
                catch (ErrnoException)
                {
                }
                _fd.Dispose();
                _device.ReturnDescriptor();
            }
        }
        _device.OnBufferFreed(Size);
    }
}
