using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu;

/// <summary>
/// A session of a device that has no per-file state of its own (SoftGpu: the host keeps every
/// object's isolation itself): every call goes to the device, and closing it closes nothing.
/// </summary>
public sealed class SharedGpuSession(IGpuDevice device) : IGpuSession
{
    public IGpuDevice Device => device;

    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags) => device.CreateBuffer(size, domain, flags);

    public IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain) => device.ImportBuffer(fd, domain);

    public IGpuChannel CreateChannel(string owner) => device.CreateChannel(owner);

    public void Dispose()
    {
    }
}
