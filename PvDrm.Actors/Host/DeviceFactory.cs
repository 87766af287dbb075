using Akka.Configuration;
using PvDrm.Native.Drm;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>
/// Creates the configured device before any actor starts, so a device that cannot open stops
/// start-up with a message naming the key.
/// </summary>
public static class DeviceFactory
{
    /// <param name="note">Called with a line for the log when <c>device = auto</c> settles on something, and why.</param>
    public static IGpuDevice Create(HostSettings settings, Action<string>? note = null)
    {
        const string key = HostSettings.Root + ".device";
        switch (settings.Device)
        {
            case "soft":
                return new SoftGpu("soft0", settings.SoftGpu);
            case "auto":
                var node = DrmDiscovery.Pick(settings.DeviceDriver, null, out string? reason);
                if (node == null)
                {
                    note?.Invoke($"device = auto: using the embedded SoftGpu, because {reason}");
                    return new SoftGpu("soft0", settings.SoftGpu);
                }
                note?.Invoke($"device = auto: using {node}");
                return Open(node.Path, key);
            default:
                return Open(settings.Device, key);
        }
    }

    private static IGpuDevice Open(string path, string key)
    {
        try
        {
            return DrmGpuDevice.Open(Path.GetFileName(path), path);
        }
        catch (ErrnoException e)
        {
            throw new ConfigurationException($"{key}: cannot open {path}: {e.Message}");
        }
    }
}
