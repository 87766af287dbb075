using System.Diagnostics;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The embedded default device: GEM objects are memfds (mapped and passed by descriptor exactly
/// like dma-bufs), and channels execute SoftGpu's command set (SOFTGPU.md) on engine threads.
/// It lets the whole system run, be tested and be measured without a GPU, as Mesa's drm-shim
/// and llvmpipe do.
/// </summary>
public sealed class SoftGpu : IGpuDevice
{
    private static readonly DeviceInfo s_info = new("softgpu", 1, 0, 0, "20261125", "PvDrm SoftGpu: memfd buffers, CPU engines");

    // 1.3.1 is where libdrm_nouveau switches to NVIF (nouveau_drm_new: version >= 0x01000301).
    private static readonly DeviceInfo s_nouveauInfo = new("nouveau", 1, 3, 0, "20261125", "PvDrm SoftGpu with nouveau's ABI16 interface; SoftGpu commands");
    private const ulong NouveauChipset = 0xc0;

    private long _liveBuffers, _liveBytes, _liveChannels, _submitted, _completed;
    private int _disposed;

    public SoftGpu(string name, SoftGpuOptions options)
    {
        options.Validate();
        Name = name;
        Options = options;
        Engines = new SoftEngines(this, options.Engines);
    }

    public string Name { get; }

    public SoftGpuOptions Options { get; }

    internal SoftEngines Engines { get; }

    public DeviceInfo Info => Options.Personality == SoftGpuPersonality.Nouveau ? s_nouveauInfo : s_info;

    public bool CallsMayBlock => false;

    public bool TryGetParam(ulong param, out ulong value)
    {
        value = param switch
        {
            DeviceParam.PciVendor => 0,
            DeviceParam.PciDevice => 0,
            DeviceParam.BusType => 4, // platform device
            DeviceParam.FbSize => Options.MemoryBytes,
            DeviceParam.AgpSize => Options.MemoryBytes,
            DeviceParam.ChipsetId => Options.Personality == SoftGpuPersonality.Nouveau ? NouveauChipset : 0,
            DeviceParam.VmVaddrBase => 0,
            DeviceParam.GraphUnits => (ulong)Options.Engines,
            DeviceParam.PtimerTime => (ulong)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency)),
            DeviceParam.HasBoUsage => 1,
            DeviceParam.HasPageflip => 0,
            _ => ulong.MaxValue,
        };
        return value != ulong.MaxValue;
    }

    public bool TryGetCap(ulong cap, out ulong value)
    {
        value = cap switch
        {
            DeviceCap.DumbBuffer => 1,
            DeviceCap.Prime => DeviceCap.PrimeImport | DeviceCap.PrimeExport,
            DeviceCap.TimestampMonotonic => 1,
            _ => ulong.MaxValue,
        };
        return value != ulong.MaxValue;
    }

    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags)
    {
        if (size == 0) ErrnoException.Throw(Errno.EINVAL, "buffer size must be at least 1 byte");
        if (size > Options.MaxBufferBytes)
            ErrnoException.Throw(Errno.E2BIG, $"buffer of {size} bytes exceeds {Name}'s largest buffer of {Options.MaxBufferBytes} bytes");
        ulong pages = (size + 4095) & ~4095UL;
        Charge(pages);
        try
        {
            var buffer = new SoftBuffer(this, pages, domain == GemDomain.None ? GemDomain.Vram : domain);
            Interlocked.Increment(ref _liveBuffers);
            return buffer;
        }
        catch
        {
            Interlocked.Add(ref _liveBytes, -(long)pages);
            throw;
        }
    }

    /// <summary>
    /// Adopts a memfd made elsewhere: it is sealed against shrinking first (so the engines'
    /// mapping can never fault) and counted in device memory like any buffer.
    /// </summary>
    public IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain)
    {
        MemFd.SealAgainstShrinking(fd);
        ulong size = MemFd.SizeOf(fd);
        if (size == 0 || size % 4096 != 0)
            ErrnoException.Throw(Errno.EINVAL, $"an imported buffer must be a whole number of pages, not {size} bytes");
        if (size > Options.MaxBufferBytes)
            ErrnoException.Throw(Errno.E2BIG, $"an imported buffer of {size} bytes exceeds {Name}'s largest buffer of {Options.MaxBufferBytes} bytes");
        Charge(size);
        try
        {
            var buffer = new SoftBuffer(this, fd, size, domain == GemDomain.None ? GemDomain.Gart : domain);
            Interlocked.Increment(ref _liveBuffers);
            return buffer;
        }
        catch
        {
            Interlocked.Add(ref _liveBytes, -(long)size);
            throw;
        }
    }

    public IGpuChannel CreateChannel() => CreateChannel("");

    /// <summary>A channel of <paramref name="owner"/>: owners share the engines by time (see <see cref="SoftEngines"/>).</summary>
    public IGpuChannel CreateChannel(string owner)
    {
        if (Volatile.Read(ref _disposed) != 0) ErrnoException.Throw(Errno.ENODEV, $"{Name} is shut down");
        Interlocked.Increment(ref _liveChannels);
        return new SoftChannel(this, owner);
    }

    public DeviceStats GetStats() => new(
        Interlocked.Read(ref _liveBuffers), Interlocked.Read(ref _liveBytes), Interlocked.Read(ref _liveChannels),
        Interlocked.Read(ref _submitted), Interlocked.Read(ref _completed), Engines.Running, Engines.PeakRunning);

    /// <summary>Counts <paramref name="bytes"/> against device memory, or ENOMEM.</summary>
    private void Charge(ulong bytes)
    {
        long total = Interlocked.Add(ref _liveBytes, (long)bytes);
        if ((ulong)total <= Options.MemoryBytes) return;
        Interlocked.Add(ref _liveBytes, -(long)bytes);
        ErrnoException.Throw(Errno.ENOMEM, $"{Name} is out of memory: {bytes} more bytes would exceed its {Options.MemoryBytes} bytes ({total - (long)bytes} in use)");
    }

    internal void OnBufferFreed(ulong size)
    {
        Interlocked.Decrement(ref _liveBuffers);
        Interlocked.Add(ref _liveBytes, -(long)size);
    }

    internal void OnSubmitted() => Interlocked.Increment(ref _submitted);

    internal void OnCompleted() => Interlocked.Increment(ref _completed);

    internal void OnChannelClosed() => Interlocked.Decrement(ref _liveChannels);

    /// <summary>Stops the engines. Buffers still referenced stay valid until released.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Engines.Dispose();
    }
}
