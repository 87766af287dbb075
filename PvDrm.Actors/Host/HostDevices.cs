using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host;

/// <summary>
/// The devices a host serves, opened at start-up, by name; and which one guests get when
/// nothing else says. The host disposes them after every guest is gone.
/// </summary>
public sealed class HostDevices : IDisposable
{
    private readonly Dictionary<string, IGpuDevice> _byName;

    /// <param name="defaultDevice">A name in <paramref name="devices"/>, or null: guests wait for an attach.</param>
    /// <param name="deferredDefault"><paramref name="defaultDevice"/> is auto or another node's device, chosen when a guest arrives.</param>
    public HostDevices(IReadOnlyList<IGpuDevice> devices, string? defaultDevice, bool deferredDefault = false)
    {
        if (devices.Count == 0) throw new ArgumentException("a host needs at least one device", nameof(devices));
        All = devices;
        _byName = devices.ToDictionary(d => d.Name, StringComparer.Ordinal);
        if (defaultDevice != null && !deferredDefault && !_byName.ContainsKey(defaultDevice))
            throw new ArgumentException($"default device '{defaultDevice}' is not one of {string.Join(", ", _byName.Keys)}", nameof(defaultDevice));
        Default = defaultDevice;
    }

    /// <summary>One device, the default for every guest (tests, and hosts with a single device).</summary>
    public static HostDevices Single(IGpuDevice device) => new([device], device.Name);

    /// <summary>In configuration order.</summary>
    public IReadOnlyList<IGpuDevice> All { get; }

    public string? Default { get; }

    public IGpuDevice? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>What a device is, for status: soft or drm.</summary>
    public static string KindOf(IGpuDevice device) => device is Native.Gpu.Soft.SoftGpu ? "soft" : "drm";

    public void Dispose()
    {
        foreach (var device in All) device.Dispose();
    }
}
