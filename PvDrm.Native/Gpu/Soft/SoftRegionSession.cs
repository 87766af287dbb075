using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A context of a guest that has a shared region: its buffers are made in the region (the VM
/// maps them there); imports and channels are the device's, as for any other guest.
/// </summary>
internal sealed class SoftRegionSession(SoftGpu device, SoftRegion region) : IGpuSession
{
    public IGpuDevice Device => device;

    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags) => device.CreateBuffer(region, size, domain);

    public IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain) => device.ImportBuffer(fd, domain);

    public IGpuChannel CreateChannel(string owner) => device.CreateChannel(owner);

    public void Dispose()
    {
    }
}
