using System.Diagnostics;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The embedded default device: GEM objects are memfds (mapped and passed by descriptor exactly
/// like dma-bufs, made on first use: see <see cref="SoftBuffer"/>), and channels execute SoftGpu's command set (SOFTGPU.md) on engine threads.
/// It lets the whole system run, be tested and be measured without a GPU, as Mesa's drm-shim
/// and llvmpipe do. Thread-safe; no call blocks.
/// </summary>
public sealed class SoftGpu : IGpuDevice
{
    private const ulong PageSize = 4096;
    private static readonly DeviceInfo s_info = new("softgpu", 1, 0, 0, "20261125", "PvDrm SoftGpu: memfd buffers, CPU engines");

    // 1.3.1 is where libdrm_nouveau switches to NVIF (nouveau_drm_new: version >= 0x01000301).
    private static readonly DeviceInfo s_nouveauInfo = new("nouveau", 1, 3, 0, "20261125", "PvDrm SoftGpu with nouveau's ABI16 interface; SoftGpu commands");
    private const ulong NouveauChipset = 0xc0;

    private readonly object _lock = new();
    private readonly HashSet<SoftChannel> _channels = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, SoftRegion> _regions = new(StringComparer.Ordinal);
    private readonly Budget _memory, _descriptors;
    private long _liveBuffers, _liveChannels, _submitted, _completed, _scrubChunks;
    private volatile bool _shutDown;

    public SoftGpu(string name, SoftGpuOptions options)
    {
        ArgumentNullException.ThrowIfNull(name);
        options.Validate();
        Name = name;
        Options = options;
        _memory = new Budget("soft-gpu.memory", (long)options.MemoryBytes);
        _descriptors = new Budget("soft-gpu.max-descriptors", options.MaxDescriptors);
        Mappings = new SoftMappingCache(name, options.MaxMappings, options.MaxMappingsPerOwner);
        Engines = new SoftEngines(this, options.Engines);
        CommandBudget = new SoftCommandBudget(this);
    }

    public string Name { get; }

    public SoftGpuOptions Options { get; }

    internal SoftEngines Engines { get; }

    /// <summary>The host mappings of this device's buffers, bounded (soft-gpu.max-mappings).</summary>
    internal SoftMappingCache Mappings { get; }

    internal SoftCommandBudget CommandBudget { get; }

    /// <summary>True once <see cref="Dispose"/> began: nothing new is accepted and running work stops.</summary>
    internal bool IsShutDown => _shutDown;

    public DeviceInfo Info => Options.Personality == SoftGpuPersonality.Nouveau ? s_nouveauInfo : s_info;

    public bool CallsMayBlock => false;

    /// <summary>Nouveau GETPARAM values as SoftGpu reports them (SOFTGPU.md, "Device values").</summary>
    public bool TryGetParam(ulong param, out ulong value)
    {
        ulong? known = param switch
        {
            DeviceParam.ChipsetId => Options.Personality == SoftGpuPersonality.Nouveau ? NouveauChipset : 0,
            DeviceParam.PciVendor or DeviceParam.PciDevice or DeviceParam.VmVaddrBase => 0,
            DeviceParam.BusType => 4, // platform device: no PCI ids to report
            DeviceParam.FbSize or DeviceParam.AgpSize => Options.MemoryBytes,
            DeviceParam.GraphUnits => (ulong)Options.Engines,
            DeviceParam.PtimerTime => MonotonicNanoseconds(),
            DeviceParam.HasBoUsage => 1,
            DeviceParam.HasPageflip => 0,
            _ => null,
        };
        value = known ?? 0;
        return known.HasValue;
    }

    public bool TryGetCap(ulong cap, out ulong value)
    {
        ulong? known = cap switch
        {
            DeviceCap.DumbBuffer => 1,
            DeviceCap.Prime => DeviceCap.PrimeImport | DeviceCap.PrimeExport,
            DeviceCap.TimestampMonotonic => 1,
            _ => null,
        };
        value = known ?? 0;
        return known.HasValue;
    }

    /// <summary>
    /// A zeroed buffer of <paramref name="size"/> bytes rounded up to whole pages; flags are ignored.
    /// Counted in device memory now, though its memfd is made only when it is first used.
    /// </summary>
    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags)
    {
        ulong pages = Pages(size);
        return Adopt(pages, () => new SoftBuffer(this, pages, domain == GemDomain.None ? GemDomain.Vram : domain));
    }

    /// <summary>As <see cref="CreateBuffer"/>, with the buffer's pages taken in <paramref name="region"/> (ENOMEM naming its key when full).</summary>
    internal IGpuBuffer CreateBuffer(SoftRegion region, ulong size, GemDomain domain)
    {
        ulong pages = Pages(size);
        return Adopt(pages, () =>
        {
            ulong at = region.Take(pages);
            return new SoftBuffer(this, region, at, pages, domain == GemDomain.None ? GemDomain.Vram : domain);
        });
    }

    /// <summary>
    /// From now on, the contexts <paramref name="owner"/> opens make their buffers in
    /// <paramref name="region"/> (a VM guest's shared memory); the device disposes it.
    /// </summary>
    public void AddRegion(string owner, SoftRegion region)
    {
        lock (_lock) _regions.Add(owner, region);
    }

    /// <summary>A session that makes buffers in the owner's shared region when it has one; otherwise the device itself.</summary>
    public IGpuSession OpenSession(string owner)
    {
        lock (_lock)
            return _regions.TryGetValue(owner, out var region) ? new SoftRegionSession(this, region) : new SharedGpuSession(this);
    }

    private ulong Pages(ulong size)
    {
        if (size == 0) ErrnoException.Throw(Errno.EINVAL, "buffer size must be at least 1 byte");
        // The first test also keeps the rounding below from overflowing (MaxBufferBytes < 2^31).
        if (size > Options.MaxBufferBytes || RoundToPages(size) > Options.MaxBufferBytes)
            ErrnoException.Throw(Errno.E2BIG, $"a buffer of {size} bytes (whole pages) exceeds {Name}'s largest buffer of {Options.MaxBufferBytes} bytes");
        return RoundToPages(size);
    }

    /// <summary>
    /// Adopts a memfd made elsewhere (taking <paramref name="fd"/>, closed if this fails): sealed
    /// against resizing and further sealing first, refused if write-sealed (<see cref="MemFd.SealForImport"/>),
    /// its size read once after that, mapped once to prove the engines can, and counted in device
    /// memory and descriptors like any buffer.
    /// </summary>
    public IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain)
    {
        try
        {
            ulong size = MemFd.SealForImport(fd);
            if (size == 0 || size % PageSize != 0)
                ErrnoException.Throw(Errno.EINVAL, $"an imported buffer must be a whole number of pages, not {size} bytes");
            if (size > Options.MaxBufferBytes)
                ErrnoException.Throw(Errno.E2BIG, $"an imported buffer of {size} bytes exceeds {Name}'s largest buffer of {Options.MaxBufferBytes} bytes");
            TakeDescriptor();
            try
            {
                Mapping.Map(fd, size).Dispose();
                return Adopt(size, () => new SoftBuffer(this, fd, size, domain == GemDomain.None ? GemDomain.Gart : domain));
            }
            catch
            {
                ReturnDescriptor();
                throw;
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    public IGpuChannel CreateChannel() => CreateChannel("");

    /// <summary>A channel of <paramref name="owner"/>: owners share the engines by time (see <see cref="SoftEngines"/>).</summary>
    public IGpuChannel CreateChannel(string owner)
    {
        lock (_lock)
        {
            if (_shutDown) ErrnoException.Throw(Errno.ENODEV, $"SoftGpu {Name} is shut down");
            var channel = new SoftChannel(this, owner);
            _channels.Add(channel);
            Interlocked.Increment(ref _liveChannels);
            return channel;
        }
    }

    public EngineUse GetEngineUse() => Engines.Use();

    public DeviceStats GetStats() => new(
        Interlocked.Read(ref _liveBuffers), _memory.Used, Interlocked.Read(ref _liveChannels),
        Interlocked.Read(ref _submitted), Interlocked.Read(ref _completed), Engines.Running, Engines.PeakRunning);

    /// <summary>Charges <paramref name="bytes"/> to device memory (or ENOMEM), then makes the buffer; undone if that fails.</summary>
    private SoftBuffer Adopt(ulong bytes, Func<SoftBuffer> make)
    {
        if (!_memory.TryTake(bytes))
            ErrnoException.Throw(Errno.ENOMEM,
                $"SoftGpu {Name} is out of memory: {bytes} more bytes would exceed its {Options.MemoryBytes} bytes ({_memory.Used} in use; soft-gpu.memory)");
        try
        {
            var buffer = make();
            Interlocked.Increment(ref _liveBuffers);
            return buffer;
        }
        catch
        {
            _memory.Return(bytes);
            throw;
        }
    }

    private static ulong RoundToPages(ulong size) => (size + PageSize - 1) & ~(PageSize - 1);

    private static ulong MonotonicNanoseconds() =>
        (ulong)((UInt128)(ulong)Stopwatch.GetTimestamp() * 1_000_000_000 / (ulong)Stopwatch.Frequency);

    internal void OnBufferFreed(ulong size)
    {
        Interlocked.Decrement(ref _liveBuffers);
        _memory.Return(size);
    }

    /// <summary>Buffer memfds held now.</summary>
    internal long Descriptors => _descriptors.Used;

    /// <summary>Charges one buffer memfd, before it is made; EMFILE at <see cref="SoftGpuOptions.MaxDescriptors"/>.</summary>
    internal void TakeDescriptor()
    {
        if (!_descriptors.TryTake())
            ErrnoException.Throw(Errno.EMFILE,
                $"SoftGpu {Name} already holds {_descriptors.Limit} buffer descriptors (soft-gpu.max-descriptors); buffers must be freed first");
    }

    internal void ReturnDescriptor() => _descriptors.Return();

    internal void OnSubmitted() => Interlocked.Increment(ref _submitted);

    /// <summary>Scrub chunks freed so far: tests bound how many another guest's wait spans.</summary>
    internal long ScrubChunks => Interlocked.Read(ref _scrubChunks);

    internal void OnScrubChunk() => Interlocked.Increment(ref _scrubChunks);

    /// <summary>
    /// Scrubs <paramref name="buffer"/> on the engines as <paramref name="owner"/>'s work, through
    /// a channel of its own that closes when the scrub ends; fails with the scrub's errno.
    /// </summary>
    internal Task ScrubAsync(SoftBuffer buffer, string owner)
    {
        var channel = (SoftChannel)CreateChannel(owner);
        GpuFence fence;
        try
        {
            fence = channel.SubmitScrub(buffer);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fence.OnSignaled(f =>
        {
            channel.Dispose();
            if (f.Error == 0) done.TrySetResult();
            else done.TrySetException(new ErrnoException(f.Error, f.Message ?? "scrub failed"));
        });
        return done.Task;
    }

    internal void OnCompleted() => Interlocked.Increment(ref _completed);

    internal void OnChannelClosed(SoftChannel channel)
    {
        lock (_lock) _channels.Remove(channel);
        Interlocked.Decrement(ref _liveChannels);
    }

    /// <summary>
    /// Stops the engines (a running pushbuf stops at its next step) and cancels every queued,
    /// yielded or parked pushbuf with ECANCELED. Channels and buffers stay the callers' to dispose and release;
    /// buffers stay valid until then, and submitting to a channel now fails with ENODEV.
    /// </summary>
    public void Dispose()
    {
        SoftChannel[] channels;
        lock (_lock)
        {
            if (_shutDown) return;
            _shutDown = true;
            channels = _channels.ToArray();
        }
        Engines.Dispose();
        foreach (var channel in channels) channel.CancelQueued(started: true);
        lock (_lock)
            foreach (var region in _regions.Values) region.Dispose();
    }
}
