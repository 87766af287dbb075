using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Drm;

/// <summary>
/// A GEM object on a DRM node: its handle, the host's mapping of it (device file at the fake
/// offset), and, once a guest maps it, a dma-buf exported with PRIME. The last reference unmaps,
/// closes the dma-buf and frees the handle (DESTROY_DUMB for dumb buffers, GEM_CLOSE otherwise).
/// </summary>
internal sealed class DrmBuffer : IGpuBuffer
{
    private readonly DrmSession _session;
    private readonly DrmMapping _mapping;
    private readonly bool _dumb;
    private readonly object _exportLock = new();
    private FileDescriptor? _dmabuf;
    private int _references = 1;

    private DrmBuffer(DrmSession session, uint handle, ulong size, GemDomain domain, DrmMapping mapping, bool dumb)
    {
        _session = session;
        Handle = handle;
        Size = size;
        Domain = domain;
        _mapping = mapping;
        _dumb = dumb;
    }

    public DrmGpuDevice Device => _session.DrmDevice;

    /// <summary>The DRM file the handle belongs to: it means nothing in any other.</summary>
    public DrmSession Session => _session;

    /// <summary>The GEM handle in <see cref="Session"/>'s DRM file (never shown to guests).</summary>
    public uint Handle { get; }

    public ulong Size { get; }

    public GemDomain Domain { get; }

    /// <summary>
    /// The buffer as a dma-buf, exported on first use with PRIME_HANDLE_TO_FD (DRM_CLOEXEC |
    /// DRM_RDWR) so that only buffers a guest maps hold one. Throws EOPNOTSUPP when the device
    /// cannot export, or the kernel's errno when the export fails.
    /// </summary>
    public FileDescriptor Fd
    {
        get
        {
            lock (_exportLock)
                return _dmabuf ??= Export();
        }
    }

    /// <summary>
    /// A dumb buffer of at least <paramref name="size"/> bytes: rows of <see cref="DrmGpuDevice.DumbPitch"/>
    /// bytes (1024 pixels at 32 bpp), as many rows as pages. Drivers hand out zeroed dumb buffers.
    /// </summary>
    public static unsafe DrmBuffer CreateDumb(DrmSession session, ulong size, GemDomain domain)
    {
        var device = session.DrmDevice;
        var file = session.File;
        if (!device.HasDumbBuffers)
            ErrnoException.Throw(Errno.EOPNOTSUPP, $"{device.Info.Driver} ({file.Path}) has no dumb buffers (DRM_CAP_DUMB_BUFFER is 0)");
        ulong rows = (size + DrmGpuDevice.DumbPitch - 1) / DrmGpuDevice.DumbPitch;
        if (rows > uint.MaxValue / DrmGpuDevice.DumbPitch)
            ErrnoException.Throw(Errno.E2BIG, $"buffer of {size} bytes exceeds the 4 GiB a dumb buffer can have");

        var create = new drm_mode_create_dumb { width = DrmGpuDevice.DumbWidth, height = (uint)rows, bpp = DrmGpuDevice.DumbBpp };
        int error = file.TryIoctl(DRM_IOCTL_MODE_CREATE_DUMB, &create);
        if (error == Errno.EACCES)
            throw new ErrnoException(error, $"DRM_IOCTL_MODE_CREATE_DUMB failed on {device.Info.Driver} device {file.Path}: EACCES: " +
                "the kernel allows dumb buffers on primary nodes (/dev/dri/cardN) only, not on render nodes");
        if (error != 0) throw file.Failure(DRM_IOCTL_MODE_CREATE_DUMB, error, $"{size} bytes as {DrmGpuDevice.DumbWidth}x{rows} at {DrmGpuDevice.DumbBpp} bpp");
        try
        {
            var map = new drm_mode_map_dumb { handle = create.handle };
            file.Ioctl(DRM_IOCTL_MODE_MAP_DUMB, &map, $"handle {create.handle}");
            var mapping = file.Map(map.offset, create.size);
            return new DrmBuffer(session, create.handle, create.size, domain == GemDomain.None ? GemDomain.Vram : domain, mapping, dumb: true);
        }
        catch
        {
            var destroy = new drm_mode_destroy_dumb { handle = create.handle };
            file.TryIoctl(DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
            throw;
        }
    }

    /// <summary>
    /// A NOUVEAU_GEM_NEW buffer in <paramref name="domain"/> (VRAM when none is given; VRAM is
    /// asked for CPU-mappable). nouveau does not clear VRAM, so VRAM buffers are zeroed here
    /// through the mapping: memory another guest freed must never show through.
    /// </summary>
    public static unsafe DrmBuffer CreateNouveau(DrmSession session, ulong size, GemDomain domain)
    {
        const GemDomain known = GemDomain.Cpu | GemDomain.Vram | GemDomain.Gart | GemDomain.Mappable;
        if ((domain & ~known) != 0) ErrnoException.Throw(Errno.EINVAL, $"unknown GEM domain bits 0x{(uint)(domain & ~known):x}");
        if ((domain & ~GemDomain.Mappable) == 0) domain |= GemDomain.Vram;
        uint placement = (uint)domain; // GemDomain is numbered as NOUVEAU_GEM_DOMAIN_*
        if ((placement & NOUVEAU_GEM_DOMAIN_VRAM) != 0) placement |= NOUVEAU_GEM_DOMAIN_MAPPABLE;

        var file = session.File;
        var request = new drm_nouveau_gem_new { info = { size = (size + 4095) & ~4095UL, domain = placement } };
        file.Ioctl(DRM_IOCTL_NOUVEAU_GEM_NEW, &request, $"{size} bytes in domain 0x{placement:x}");
        var info = request.info;
        DrmMapping? mapping = null;
        try
        {
            mapping = file.Map(info.map_handle, info.size);
            if ((placement & NOUVEAU_GEM_DOMAIN_VRAM) != 0) Clear(mapping);
            return new DrmBuffer(session, info.handle, info.size, ReportedDomain(info.domain, domain), mapping, dumb: false);
        }
        catch
        {
            mapping?.Dispose();
            var close = new drm_gem_close { handle = info.handle };
            file.TryIoctl(DRM_IOCTL_GEM_CLOSE, &close);
            throw;
        }
    }

    // The kernel reports where the buffer lives now; fall back to what was asked if it says nothing.
    private static GemDomain ReportedDomain(uint reported, GemDomain requested)
    {
        var placed = (GemDomain)(reported & (NOUVEAU_GEM_DOMAIN_CPU | NOUVEAU_GEM_DOMAIN_VRAM | NOUVEAU_GEM_DOMAIN_GART));
        return placed != GemDomain.None ? placed : requested & ~GemDomain.Mappable;
    }

    private static void Clear(DrmMapping mapping)
    {
        for (ulong at = 0; at < mapping.Length; at += 1 << 20)
            mapping.Slice(at, (int)Math.Min(1UL << 20, mapping.Length - at)).Clear();
    }

    public void Read(ulong offset, Span<byte> destination) => _mapping.Slice(offset, destination.Length).CopyTo(destination);

    public void Write(ulong offset, ReadOnlySpan<byte> source) => source.CopyTo(_mapping.Slice(offset, source.Length));

    private unsafe FileDescriptor Export()
    {
        var device = _session.DrmDevice;
        if (!device.CanExportBuffers)
            ErrnoException.Throw(Errno.EOPNOTSUPP,
                $"{device.Info.Driver} ({device.Path}) cannot export buffers as dma-bufs (DRM_CAP_PRIME has no export bit): map is unavailable, use GEM_READ/GEM_WRITE");
        var request = new drm_prime_handle { handle = Handle, flags = DRM_CLOEXEC | DRM_RDWR, fd = -1 };
        _session.File.Ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &request, $"handle {Handle}");
        return new FileDescriptor(request.fd);
    }

    public void AddRef()
    {
        int current;
        do
        {
            current = Volatile.Read(ref _references);
            if (current == 0) throw new ObjectDisposedException(nameof(DrmBuffer), "buffer already freed");
        }
        while (Interlocked.CompareExchange(ref _references, current + 1, current) != current);
    }

    public unsafe void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left > 0) return;
        if (left < 0) throw new InvalidOperationException("buffer released more often than referenced");
        _mapping.Dispose();
        lock (_exportLock) _dmabuf?.Dispose();
        var file = _session.File;
        int error;
        if (_dumb)
        {
            var destroy = new drm_mode_destroy_dumb { handle = Handle };
            error = file.TryIoctl(DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
        }
        else
        {
            var close = new drm_gem_close { handle = Handle };
            error = file.TryIoctl(DRM_IOCTL_GEM_CLOSE, &close);
        }
        _session.OnBufferFreed(Size);
        // Only a PvDrm bug makes the kernel refuse its own handle: surface it (the accounting is done,
        // and closing the node frees the object regardless).
        if (error != 0) throw file.Failure(_dumb ? DRM_IOCTL_MODE_DESTROY_DUMB : DRM_IOCTL_GEM_CLOSE, error, $"handle {Handle}");
    }
}
