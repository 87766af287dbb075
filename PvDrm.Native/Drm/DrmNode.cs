namespace PvDrm.Native.Drm;

/// <summary>Primary nodes (/dev/dri/cardN) allow modesetting and dumb buffers; render nodes (renderDN) allow rendering only.</summary>
public enum DrmNodeKind
{
    Render,
    Primary,
    /// <summary>A file given by path that is not under the scanned /dev/dri (a test's fake device).</summary>
    Other,
}

/// <summary>
/// One DRM device file found by <see cref="DrmDiscovery"/>. <paramref name="Driver"/>, the PCI
/// ids and <paramref name="SysDevice"/> come from sysfs and are null where sysfs has nothing
/// (a virtual device has no PCI ids). <paramref name="SysDevice"/> is the same for the card and
/// render node of one GPU.
/// </summary>
public sealed record DrmNode(string Path, string Name, DrmNodeKind Kind, string? Driver, ushort? VendorId, ushort? DeviceId, string? SysDevice)
{
    /// <summary>"renderD128 (nouveau, 10de:1c82)", for listings and messages.</summary>
    public override string ToString()
    {
        string ids = VendorId is { } v && DeviceId is { } d ? $", {v:x4}:{d:x4}" : "";
        return $"{Path} ({Driver ?? "unknown driver"}{ids})";
    }
}
