using System.Text.RegularExpressions;
using Akka.Configuration;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Actors.Host;

/// <summary>The kind of a configured device.</summary>
public enum DeviceKind
{
    /// <summary>The embedded SoftGpu.</summary>
    Soft,

    /// <summary>A DRM node of the kernel (a real GPU), or the first one found (<c>path = auto</c>).</summary>
    Drm,
}

/// <summary>
/// One entry of <c>pvdrm.host.devices</c>: a device the host opens at start-up and can attach
/// guests to. Named by its key; a SoftGpu's settings fall back to <c>pvdrm.host.soft-gpu</c>.
/// </summary>
public sealed partial record DeviceSettings(string Name, DeviceKind Kind, SoftGpuOptions SoftGpu, string? Path = null, string? Driver = null)
{
    /// <summary>The name of the one SoftGpu a host has when <c>devices</c> is empty.</summary>
    public const string DefaultName = "soft0";

    /// <summary>Device and guest names: what a HELLO may carry, and safe as an actor name.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    public static partial Regex ValidName();

    /// <summary>Every entry of <c>pvdrm.host.devices</c>, in the order the file lists them.</summary>
    /// <param name="softGpu">Reads a SoftGpu block (engines, memory, ...) from a reader rooted at it.</param>
    internal static IReadOnlyList<DeviceSettings> ReadAll(Config config, Func<SettingsReader, SoftGpuOptions> softGpu)
    {
        string root = $"{HostSettings.Root}.devices";
        var devices = new List<DeviceSettings>();
        foreach (string name in ObjectKeys(config, root))
        {
            string at = $"{root}.{Quote(name)}";
            if (!ValidName().IsMatch(name))
                throw new ConfigurationException($"{at}: '{name}' is not a valid device name: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
            // The entry's own keys first, then the host's soft-gpu block for what it leaves out.
            var entry = new SettingsReader(config.GetConfig(at).WithFallback(config.GetConfig($"{HostSettings.Root}.soft-gpu")), "", at);
            var reader = new SettingsReader(config, at);
            string type = reader.String("type");
            devices.Add(type switch
            {
                "soft" => new DeviceSettings(name, DeviceKind.Soft, softGpu(entry)),
                "drm" => DrmEntry(name, reader, at),
                _ => throw new ConfigurationException($"{at}.type: '{type}' is not soft or drm"),
            });
        }
        return devices;
    }

    private static DeviceSettings DrmEntry(string name, SettingsReader reader, string at)
    {
        string path = reader.String("path");
        if (path != "auto" && !path.StartsWith('/'))
            throw new ConfigurationException($"{at}.path: '{path}' is not auto or the path of a DRM node such as /dev/dri/renderD128");
        string driver = reader.Has("driver") ? reader.String("driver") : "";
        return new DeviceSettings(name, DeviceKind.Drm, new SoftGpuOptions(), path, driver.Length == 0 ? null : driver);
    }

    /// <summary><c>pvdrm.host.guests.&lt;guest&gt;.device</c> for every guest listed with one; null: none (attach it at run time).</summary>
    internal static IReadOnlyDictionary<string, string?> ReadGuests(Config config)
    {
        string root = $"{HostSettings.Root}.guests";
        var guests = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (string guest in ObjectKeys(config, root))
        {
            string at = $"{root}.{Quote(guest)}";
            if (!ValidName().IsMatch(guest))
                throw new ConfigurationException($"{at}: '{guest}' is not a valid guest name: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
            var reader = new SettingsReader(config, at);
            if (!reader.Has("device") && reader.Has("shared-memory")) continue; // only a region: the default device
            string device = reader.String("device");
            guests[guest] = device == "none" ? null : device;
        }
        return guests;
    }

    /// <summary>
    /// <c>pvdrm.host.guests.&lt;guest&gt;.shared-memory</c> of every guest that has one above 0:
    /// a power of two from 1 MiB to 64 GiB, as the BAR of an ivshmem device must be.
    /// </summary>
    internal static IReadOnlyDictionary<string, ulong> ReadSharedMemory(Config config)
    {
        string root = $"{HostSettings.Root}.guests";
        var sizes = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string guest in ObjectKeys(config, root))
        {
            var reader = new SettingsReader(config, $"{root}.{Quote(guest)}");
            if (!reader.Has("shared-memory")) continue;
            long size = reader.Bytes("shared-memory", 0, 64L << 30);
            if (size == 0) continue;
            if (size < 1 << 20 || (size & (size - 1)) != 0)
                throw new ConfigurationException($"{root}.{Quote(guest)}.shared-memory: {size} bytes is not a power of two from 1 MiB to 64 GiB (an ivshmem BAR), nor 0");
            sizes[guest] = (ulong)size;
        }
        return sizes;
    }

    private static IEnumerable<string> ObjectKeys(Config config, string path)
    {
        if (!config.HasPath(path)) return [];
        var value = config.GetValue(path);
        if (!value.IsObject()) throw new ConfigurationException($"{path}: expected an object of named entries");
        return value.GetObject().Items.Keys.ToList();
    }

    // Names may contain dots, which HOCON paths would split.
    private static string Quote(string key) => key.Contains('.') ? $"\"{key}\"" : key;
}
