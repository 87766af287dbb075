using Akka.Configuration;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>
/// The VM guests' shared regions (<c>guests.&lt;g&gt;.shared-memory</c>), made at start-up so a
/// VM can be started on them: one file per guest under <c>shared-memory-dir</c>, given to the
/// SoftGpu the guest is configured on, which makes that guest's buffers in it.
/// </summary>
internal static class SharedRegions
{
    /// <summary>The region file of <paramref name="guest"/> (deploy/vm/run.sh gives it to QEMU).</summary>
    public static string PathOf(HostSettings settings, string guest) => Path.Combine(settings.SharedMemoryDir, $"pvdrm-{guest}.region");

    public static void Create(HostSettings settings, IReadOnlyList<IGpuDevice> devices, string? defaultDevice)
    {
        foreach (var (guest, size) in settings.GuestSharedMemory)
        {
            string key = $"{HostSettings.Root}.guests.{guest}.shared-memory";
            string? name = settings.GuestDevices.TryGetValue(guest, out var configured) ? configured : defaultDevice;
            if (devices.FirstOrDefault(d => d.Name == name) is not SoftGpu soft)
                throw new ConfigurationException($"{key}: guest {guest}'s device ({name ?? "none"}) is not a SoftGpu of this host; shared regions hold SoftGpu buffers (DRM.md: what a real device would need)");
            try
            {
                soft.AddRegion(guest, SoftRegion.Create(PathOf(settings, guest), size, key));
            }
            catch (ErrnoException e)
            {
                throw new ConfigurationException($"{key}: cannot create {PathOf(settings, guest)} ({HostSettings.Root}.shared-memory-dir): {e.Message}");
            }
        }
    }
}
