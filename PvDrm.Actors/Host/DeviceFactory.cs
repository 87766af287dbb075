using Akka.Configuration;
using PvDrm.Native.Drm;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>
/// Opens the configured devices before any actor starts, so a device that cannot open, or a
/// guest or default naming a device that does not exist, stops start-up with a message naming
/// the key. Every DRM device of the host charges its per-context files to one budget.
/// </summary>
public static class DeviceFactory
{
    /// <param name="note">Called with a line for the log when <c>auto</c> settles on something, and why.</param>
    public static HostDevices CreateAll(HostSettings settings, Action<string>? note = null)
    {
        var opened = new List<IGpuDevice>();
        var budget = FileBudget(settings);
        try
        {
            if (settings.Devices.Count == 0)
                opened.Add(CreateSingle(settings, note, budget));
            else
                foreach (var entry in settings.Devices)
                    opened.Add(Create(entry, $"{HostSettings.Root}.devices.{entry.Name}", note, budget));
            return Check(settings, opened);
        }
        catch
        {
            foreach (var device in opened) device.Dispose();
            throw;
        }
    }

    /// <summary>The one device of <c>pvdrm.host.device</c> (no <c>devices</c> block).</summary>
    /// <param name="budget">The host's DRM file budget; null: a new one from <paramref name="settings"/>.</param>
    public static IGpuDevice CreateSingle(HostSettings settings, Action<string>? note = null, DrmFileBudget? budget = null)
    {
        const string key = HostSettings.Root + ".device";
        budget ??= FileBudget(settings);
        return settings.Device switch
        {
            "soft" => new SoftGpu(DeviceSettings.DefaultName, settings.SoftGpu),
            "auto" => Auto(DeviceSettings.DefaultName, settings.DeviceDriver, settings.SoftGpu, key, note, budget),
            var path => Open(Path.GetFileName(path), path, key, budget),
        };
    }

    /// <summary>limits.drm-files-per-guest and limits.drm-files, for every DRM device of a host together.</summary>
    public static DrmFileBudget FileBudget(HostSettings settings) => new(settings.DrmFilesPerGuest, settings.DrmFiles,
        $"{HostSettings.Root}.limits.drm-files-per-guest", $"{HostSettings.Root}.limits.drm-files");

    private static IGpuDevice Create(DeviceSettings entry, string key, Action<string>? note, DrmFileBudget budget) => entry switch
    {
        { Kind: DeviceKind.Soft } => new SoftGpu(entry.Name, entry.SoftGpu),
        { Path: "auto" } => Auto(entry.Name, entry.Driver, entry.SoftGpu, $"{key}.path", note, budget),
        _ => Open(entry.Name, entry.Path!, $"{key}.path", budget),
    };

    private static IGpuDevice Auto(string name, string? driver, SoftGpuOptions fallback, string key, Action<string>? note, DrmFileBudget budget)
    {
        var node = DrmDiscovery.Pick(driver, null, out string? reason);
        if (node == null)
        {
            note?.Invoke($"{key} = auto: using the embedded SoftGpu, because {reason}");
            return new SoftGpu(name, fallback);
        }
        note?.Invoke($"{key} = auto: using {node}");
        return Open(name, node.Path, key, budget);
    }

    private static IGpuDevice Open(string name, string path, string key, DrmFileBudget budget)
    {
        try
        {
            return DrmGpuDevice.Open(name, path, budget);
        }
        catch (ErrnoException e)
        {
            throw new ConfigurationException($"{key}: cannot open {path}: {e.Message}");
        }
    }

    /// <summary>Every device name the configuration uses must exist.</summary>
    private static HostDevices Check(HostSettings settings, List<IGpuDevice> devices)
    {
        var names = devices.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        string known = string.Join(", ", names);
        string? defaultDevice = settings.DefaultDevice;
        // A single device from `device` is the default under the default name, whatever it is called.
        if (settings.Devices.Count == 0 && defaultDevice == DeviceSettings.DefaultName) defaultDevice = devices[0].Name;
        if (defaultDevice != null && !Deferred(defaultDevice) && !names.Contains(defaultDevice))
            throw new ConfigurationException($"{HostSettings.Root}.default-device: '{defaultDevice}' is not a device of this host ({known}), nor none");
        CheckGuestDevices(settings, devices);
        SharedRegions.Create(settings, devices, defaultDevice);
        return new HostDevices(devices, defaultDevice, deferredDefault: defaultDevice != null && Deferred(defaultDevice));
    }

    // auto, and node/device names of a pool, are resolved when guests arrive.
    private static bool Deferred(string name) => name == HostSettings.AutoDevice || name.Contains('/');

    /// <summary>Every <c>guests.&lt;g&gt;.device</c> names a device of <paramref name="devices"/> (at start, and on reload).</summary>
    public static void CheckGuestDevices(HostSettings settings, IReadOnlyCollection<IGpuDevice> devices)
    {
        var names = devices.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (guest, device) in settings.GuestDevices)
            if (device != null && !Deferred(device) && !names.Contains(device))
                throw new ConfigurationException($"{HostSettings.Root}.guests.{guest}.device: '{device}' is not a device of this host ({string.Join(", ", names)}), nor none");
    }
}
