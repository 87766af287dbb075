using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu;

/// <summary>
/// One guest context's view of a device: the objects and channels it creates. On a real DRM
/// node a session is its own open file, so the kernel's per-file handle table and GPU address
/// space keep contexts apart; closing it frees what the file still holds once the last of its
/// buffers and channels is released. Thread-safe, like the device.
/// </summary>
public interface IGpuSession : IDisposable
{
    /// <summary>The device this session belongs to.</summary>
    IGpuDevice Device { get; }

    /// <summary>As <see cref="IGpuDevice.CreateBuffer"/>, in this session.</summary>
    IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags);

    /// <summary>As <see cref="IGpuDevice.ImportBuffer"/>, in this session.</summary>
    IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain);

    /// <summary>As <see cref="IGpuDevice.CreateChannel(string)"/>, in this session.</summary>
    IGpuChannel CreateChannel(string owner);
}
