using System.Globalization;

namespace PvDrm.Native.Drm;

/// <summary>
/// Finds DRM nodes: the cardN and renderDN files under /dev/dri, described from
/// /sys/class/drm/NAME/device (driver symlink or uevent DRIVER=, vendor, device). Both
/// directories are parameters so tests can point at fake trees. sysfs names the driver of the
/// node's parent device, which is not always the DRM driver: virtio_gpu's parent is the PCI
/// device (driver virtio-pci) and vgem's has none. So each render node is opened once and asked
/// DRM_IOCTL_VERSION, and its answer names the driver of every node of its device. Primary
/// nodes are never opened here: opening one can make the opener DRM master.
/// </summary>
public static class DrmDiscovery
{
    public const string DefaultDevDir = "/dev/dri";
    public const string DefaultSysDir = "/sys/class/drm";

    public static DrmScan Scan(string devDir = DefaultDevDir, string sysDir = DefaultSysDir)
    {
        if (!Directory.Exists(devDir))
            return new DrmScan([], $"no {devDir}: no DRM device on this machine", devDir);

        var nodes = new List<DrmNode>();
        foreach (var path in Directory.EnumerateFileSystemEntries(devDir))
        {
            string name = System.IO.Path.GetFileName(path);
            DrmNodeKind? kind = KindOf(name);
            if (kind is null) continue; // by-path/, by-id/ and anything else
            nodes.Add(Describe(path, name, kind.Value, sysDir));
        }
        nodes = AskedDrivers(nodes);
        nodes.Sort((a, b) => a.Kind != b.Kind ? a.Kind.CompareTo(b.Kind) : NumberOf(a.Name).CompareTo(NumberOf(b.Name)));
        return new DrmScan(nodes, nodes.Count == 0 ? $"{devDir} has no DRM nodes (cardN, renderDN)" : null, devDir);
    }

    /// <summary>
    /// Scans and picks in one step: the node for <paramref name="driver"/> and/or
    /// <paramref name="path"/> (both null: automatic), or null with the reason (e.g. "no
    /// /dev/dri: no DRM device on this machine"). See <see cref="DrmScan.Pick"/>.
    /// </summary>
    public static DrmNode? Pick(string? driver, string? path, out string? reason, string devDir = DefaultDevDir, string sysDir = DefaultSysDir) =>
        Scan(devDir, sysDir).Pick(driver, path, out reason, sysDir);

    /// <summary>The node for a path outside the scan (e.g. a fake device), described as far as sysfs allows.</summary>
    internal static DrmNode DescribeFile(string path, string sysDir)
    {
        string name = System.IO.Path.GetFileName(path);
        return Describe(path, name, KindOf(name) ?? DrmNodeKind.Other, sysDir);
    }

    /// <summary>The nodes with the driver each render node's DRM_IOCTL_VERSION names, for it and the other nodes of its device.</summary>
    private static List<DrmNode> AskedDrivers(List<DrmNode> nodes)
    {
        var asked = new Dictionary<string, string>();
        foreach (var render in nodes.Where(n => n.Kind == DrmNodeKind.Render))
            if (DrmGpuDevice.AskDriver(render.Path) is { } driver)
                asked[render.SysDevice ?? render.Path] = driver;
        return nodes.Select(n => asked.TryGetValue(n.SysDevice ?? n.Path, out var d) ? n with { Driver = d } : n).ToList();
    }

    private static DrmNodeKind? KindOf(string name) =>
        name.StartsWith("renderD", StringComparison.Ordinal) && IsNumber(name.AsSpan(7)) ? DrmNodeKind.Render
        : name.StartsWith("card", StringComparison.Ordinal) && IsNumber(name.AsSpan(4)) ? DrmNodeKind.Primary
        : null;

    private static bool IsNumber(ReadOnlySpan<char> s) => s.Length > 0 && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static int NumberOf(string name) =>
        int.TryParse(name.AsSpan(name.StartsWith("renderD", StringComparison.Ordinal) ? 7 : 4), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : int.MaxValue;

    private static DrmNode Describe(string path, string name, DrmNodeKind kind, string sysDir)
    {
        string device = System.IO.Path.Combine(sysDir, name, "device");
        if (!Directory.Exists(device)) return new DrmNode(path, name, kind, null, null, null, null);
        return new DrmNode(path, name, kind, DriverOf(device), ReadId(device, "vendor"), ReadId(device, "device"), Resolve(device));
    }

    /// <summary>The basename of device/driver (a symlink into the bus's drivers/), else DRIVER= from device/uevent.</summary>
    private static string? DriverOf(string device)
    {
        try
        {
            var link = new FileInfo(System.IO.Path.Combine(device, "driver")).LinkTarget;
            if (link is not null) return System.IO.Path.GetFileName(link.TrimEnd('/'));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }

        string uevent = System.IO.Path.Combine(device, "uevent");
        if (!File.Exists(uevent)) return null;
        foreach (var line in File.ReadLines(uevent))
            if (line.StartsWith("DRIVER=", StringComparison.Ordinal)) return line[7..].Trim();
        return null;
    }

    /// <summary>sysfs writes ids as "0x10de\n".</summary>
    private static ushort? ReadId(string device, string file)
    {
        string path = System.IO.Path.Combine(device, file);
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path).Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        return ushort.TryParse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    private static string? Resolve(string device)
    {
        try
        {
            var target = Directory.ResolveLinkTarget(device, returnFinalTarget: true);
            return target?.FullName ?? System.IO.Path.GetFullPath(device);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
