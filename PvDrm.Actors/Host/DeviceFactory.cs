using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Actors.Host;

/// <summary>Creates the configured device before any actor starts, so a device that cannot open stops start-up.</summary>
public static class DeviceFactory
{
    public static IGpuDevice Create(HostSettings settings) => settings.Device switch
    {
        "soft" => new SoftGpu("soft0", settings.SoftGpu),
        var other => throw new Akka.Configuration.ConfigurationException($"{HostSettings.Root}.device: '{other}' is not a known device kind"),
    };
}
