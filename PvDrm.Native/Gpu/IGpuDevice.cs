using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu;

/// <summary>
/// The one seam between the dispatcher and hardware: a DRM device as the host sees it.
/// Implementations are thread-safe. Failures are <see cref="Interop.ErrnoException"/>s whose
/// errno and message go back to the guest unchanged.
/// </summary>
public interface IGpuDevice : IDisposable
{
    /// <summary>The configured instance name, e.g. "soft0".</summary>
    string Name { get; }

    /// <summary>What DRM_IOCTL_VERSION reports.</summary>
    DeviceInfo Info { get; }

    /// <summary>
    /// True when calls may block in the kernel (a real DRM node). The host then runs the
    /// actors that call this device on a dedicated dispatcher instead of the shared one.
    /// </summary>
    bool CallsMayBlock { get; }

    /// <summary>A driver parameter (nouveau GETPARAM numbering, see <see cref="DeviceParam"/>).</summary>
    bool TryGetParam(ulong param, out ulong value);

    /// <summary>A DRM capability (DRM_CAP_* numbering, see <see cref="DeviceCap"/>).</summary>
    bool TryGetCap(ulong cap, out ulong value);

    /// <summary>
    /// Allocates a zeroed buffer object. The caller holds the one reference and gives it back
    /// with <see cref="IGpuBuffer.Release"/>.
    /// </summary>
    IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags);

    /// <summary>
    /// Adopts memory another process made (PRIME import of a foreign memfd/dma-buf) as a buffer;
    /// the device takes ownership of <paramref name="fd"/>. Devices that cannot say EOPNOTSUPP.
    /// </summary>
    IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain) =>
        throw new ErrnoException(Errno.EOPNOTSUPP, $"{Info.Driver} cannot import foreign buffers");

    /// <summary>Creates a command channel (a hardware context with its own submission queue).</summary>
    IGpuChannel CreateChannel();

    /// <summary>
    /// Creates a channel on behalf of <paramref name="owner"/> (a guest), so a device that
    /// schedules its engines can share them fairly between owners rather than between channels.
    /// </summary>
    IGpuChannel CreateChannel(string owner) => CreateChannel();

    /// <summary>
    /// Opens a session for one guest context of <paramref name="owner"/>: where that context's
    /// objects and channels are made. A real DRM node opens a file per session (and may refuse
    /// with EMFILE when its file budget is spent); devices without per-file state share themselves.
    /// </summary>
    IGpuSession OpenSession(string owner) => new SharedGpuSession(this);

    /// <summary>A snapshot of live objects and work, for status output and leak checks.</summary>
    DeviceStats GetStats();

    /// <summary>Engine time spent, in all and per owner; <see cref="EngineUse.None"/> where the device does not say.</summary>
    EngineUse GetEngineUse() => EngineUse.None;
}
