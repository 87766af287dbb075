using System.Text;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Drm;

/// <summary>
/// A real DRM render node behind the device seam. The driver named by DRM_IOCTL_VERSION picks
/// the allowlist and the buffer path: nouveau buffers are NOUVEAU_GEM_NEW objects and channels
/// submit DRM_NOUVEAU_GEM_PUSHBUF; every other driver gets dumb buffers and no channels. Guests
/// map a buffer through the dma-buf PRIME exports for it; the host reads and writes through its
/// own mapping of the device file. Calls may block in the kernel (<see cref="CallsMayBlock"/>).
/// Each guest context gets a file of its own (<see cref="OpenSession"/>), so the kernel's
/// per-file handle table and GPU address space keep guests apart; the device's own file
/// answers queries and serves callers that use the device directly. See DRM.md.
/// </summary>
public sealed unsafe class DrmGpuDevice : IGpuDevice
{
    /// <summary>Dumb buffers are allocated as rows of 1024 pixels at 32 bpp: one 4096-byte page per row.</summary>
    internal const uint DumbWidth = 1024, DumbBpp = 32, DumbPitch = DumbWidth * DumbBpp / 8;

    private const int MaxVersionString = 4096;

    private readonly DrmFile _file;
    private readonly DrmSession _own;
    private readonly DrmFileBudget _budget;
    private long _liveBuffers, _liveBytes, _liveChannels, _submitted, _completed;
    private int _running, _peakRunning, _openFiles = 1;
    private int _disposed;

    private DrmGpuDevice(string name, DrmFile file, DeviceInfo info, DrmFileBudget budget)
    {
        Name = name;
        _file = file;
        _own = new DrmSession(this, file, "", budget: null);
        _budget = budget;
        Info = info;
        IsNouveau = DrmAllowlist.IsNouveau(info.Driver);
        CanExportBuffers = TryGetCap(DRM_CAP_PRIME, out ulong prime) && (prime & DRM_PRIME_CAP_EXPORT) != 0;
        // A driver without modesetting (vgem) does not answer DRM_CAP_DUMB_BUFFER, yet may create
        // dumb buffers on its card node: only a "no" counts; MODE_CREATE_DUMB's errno says the rest.
        HasDumbBuffers = !IsNouveau && (!TryGetCap(DRM_CAP_DUMB_BUFFER, out ulong dumb) || dumb != 0);
    }

    /// <summary>
    /// Opens the DRM node at <paramref name="path"/> (a render node such as /dev/dri/renderD128),
    /// identifies its driver and from then on issues only that driver's allowed ioctls.
    /// </summary>
    /// <param name="budget">Caps the files <see cref="OpenSession"/> opens; shared by the host's DRM devices. None: unlimited.</param>
    public static DrmGpuDevice Open(string name, string path, DrmFileBudget? budget = null)
    {
        var file = DrmFile.Open(path, DrmAllowlist.Probe);
        try
        {
            var info = QueryVersion(file);
            file.Allowlist = DrmAllowlist.For(info.Driver);
            return new DrmGpuDevice(name, file, info, budget ?? DrmFileBudget.Unlimited());
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The driver name DRM_IOCTL_VERSION gives for the node at <paramref name="path"/>, or null
    /// where it cannot be opened or is no DRM node. Issues nothing else.
    /// </summary>
    public static string? AskDriver(string path)
    {
        try
        {
            using var file = DrmFile.Open(path, DrmAllowlist.Probe);
            return QueryVersion(file).Driver;
        }
        catch (ErrnoException)
        {
            return null;
        }
    }

    public string Name { get; }

    public DeviceInfo Info { get; }

    /// <summary>The node this device opened.</summary>
    public string Path => _file.Path;

    /// <summary>The ioctls this device may issue.</summary>
    public DrmAllowlist Allowlist => _file.Allowlist;

    /// <summary>True when DRM_CAP_PRIME has the export bit: buffers get a dma-buf for guests to map.</summary>
    public bool CanExportBuffers { get; }

    public bool CallsMayBlock => true;

    internal bool IsNouveau { get; }

    internal bool HasDumbBuffers { get; }

    internal DrmFile File => _file;

    /// <summary>The files open on the node now: the device's own and one per live session.</summary>
    public int OpenFiles => Volatile.Read(ref _openFiles);

    /// <summary>The budget sessions are charged to.</summary>
    public DrmFileBudget FileBudget => _budget;

    public bool TryGetParam(ulong param, out ulong value)
    {
        value = 0;
        if (!IsNouveau) return false; // GETPARAM numbering is nouveau's; other drivers have no equivalent here
        var request = new drm_nouveau_getparam { param = param };
        int error = _file.TryIoctl(DRM_IOCTL_NOUVEAU_GETPARAM, &request);
        if (error == Errno.EINVAL) return false;
        if (error != 0) throw _file.Failure(DRM_IOCTL_NOUVEAU_GETPARAM, error, $"param {param}");
        value = request.value;
        return true;
    }

    public bool TryGetCap(ulong cap, out ulong value)
    {
        var request = new drm_get_cap { capability = cap };
        int error = _file.TryIoctl(DRM_IOCTL_GET_CAP, &request);
        value = request.value;
        // EINVAL: a capability the kernel does not know. EOPNOTSUPP: one of modesetting's, asked of
        // a driver without modesetting (vgem: everything but PRIME and a few render caps).
        if (error == Errno.EINVAL || error == Errno.EOPNOTSUPP) return false;
        if (error != 0) throw _file.Failure(DRM_IOCTL_GET_CAP, error, $"capability {cap}");
        return true;
    }

    /// <summary>A buffer in the device's own file (callers outside a guest context).</summary>
    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags) => _own.CreateBuffer(size, domain, flags);

    /// <summary>A channel in the device's own file (callers outside a guest context).</summary>
    public IGpuChannel CreateChannel() => _own.CreateChannel("");

    /// <summary>
    /// Opens a new file on the node for one context of <paramref name="owner"/>, charged to the
    /// file budget first (EMFILE naming the setting when it is spent).
    /// </summary>
    public IGpuSession OpenSession(string owner)
    {
        if (IsDisposed) ErrnoException.Throw(Errno.ENODEV, $"{Name} ({Path}) is shut down");
        _budget.Take(owner, $"{Name} ({Path})");
        DrmFile file;
        try
        {
            file = DrmFile.Open(Path, Allowlist);
        }
        catch
        {
            _budget.Return(owner);
            throw;
        }
        Interlocked.Increment(ref _openFiles);
        return new DrmSession(this, file, owner, _budget);
    }

    public DeviceStats GetStats() => new(
        Interlocked.Read(ref _liveBuffers), Interlocked.Read(ref _liveBytes), Interlocked.Read(ref _liveChannels),
        Interlocked.Read(ref _submitted), Interlocked.Read(ref _completed), Volatile.Read(ref _running), Volatile.Read(ref _peakRunning));

    /// <summary>Any ioctl on the device's own file through the allowlist, for tests: 0 or the errno; a refused one throws EOPNOTSUPP.</summary>
    internal int Ioctl(uint request, void* arg) => _file.TryIoctl(request, arg);

    internal void OnBufferCreated(ulong size)
    {
        Interlocked.Increment(ref _liveBuffers);
        Interlocked.Add(ref _liveBytes, (long)size);
    }

    internal void OnBufferFreed(ulong size)
    {
        Interlocked.Decrement(ref _liveBuffers);
        Interlocked.Add(ref _liveBytes, -(long)size);
    }

    internal void OnChannelCreated() => Interlocked.Increment(ref _liveChannels);

    internal void OnChannelClosed() => Interlocked.Decrement(ref _liveChannels);

    internal void OnFileClosed() => Interlocked.Decrement(ref _openFiles);

    internal void OnSubmitted()
    {
        Interlocked.Increment(ref _submitted);
        int running = Interlocked.Increment(ref _running);
        int peak;
        while (running > (peak = Volatile.Read(ref _peakRunning)) && Interlocked.CompareExchange(ref _peakRunning, running, peak) != peak) { }
    }

    internal void OnCompleted()
    {
        Interlocked.Decrement(ref _running);
        Interlocked.Increment(ref _completed);
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Refuses new objects and sessions. Each file, the device's own included, closes once the
    /// buffers and channels made in it are released (the kernel would free them with the file).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _own.Dispose();
    }

    /// <summary>DRM_IOCTL_VERSION twice: once for the string lengths, once with buffers that size.</summary>
    private static DeviceInfo QueryVersion(DrmFile file)
    {
        drm_version sizes = default;
        file.Ioctl(DRM_IOCTL_VERSION, &sizes, "string lengths");
        if (sizes.name_len > MaxVersionString || sizes.date_len > MaxVersionString || sizes.desc_len > MaxVersionString)
            ErrnoException.Throw(Errno.EPROTO, $"DRM_IOCTL_VERSION on {file.Path} reports implausible string lengths ({sizes.name_len}, {sizes.date_len}, {sizes.desc_len})");

        var name = new byte[(int)sizes.name_len];
        var date = new byte[(int)sizes.date_len];
        var desc = new byte[(int)sizes.desc_len];
        drm_version version;
        fixed (byte* pName = name, pDate = date, pDesc = desc)
        {
            version = new drm_version
            {
                name_len = (nuint)name.Length, name = pName,
                date_len = (nuint)date.Length, date = pDate,
                desc_len = (nuint)desc.Length, desc = pDesc,
            };
            file.Ioctl(DRM_IOCTL_VERSION, &version, "strings");
        }
        string driver = Decode(name, version.name_len);
        if (driver.Length == 0) ErrnoException.Throw(Errno.EPROTO, $"DRM_IOCTL_VERSION on {file.Path} returned no driver name");
        return new DeviceInfo(driver, version.version_major, version.version_minor, version.version_patchlevel,
            Decode(date, version.date_len), Decode(desc, version.desc_len));
    }

    // The kernel copies min(buffer, length) bytes with no NUL and reports the full length.
    private static string Decode(byte[] buffer, nuint reported) =>
        Encoding.UTF8.GetString(buffer, 0, (int)Math.Min((ulong)buffer.Length, reported)).TrimEnd('\0');
}
