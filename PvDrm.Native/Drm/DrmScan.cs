namespace PvDrm.Native.Drm;

/// <summary>What <see cref="DrmDiscovery.Scan"/> found, or why it found nothing (<see cref="Reason"/>).</summary>
public sealed record DrmScan(IReadOnlyList<DrmNode> Nodes, string? Reason, string DevDir)
{
    /// <summary>
    /// The node to open for <paramref name="driver"/> and/or <paramref name="path"/> (both null:
    /// automatic), or null with <paramref name="reason"/> saying why none fits. For each GPU
    /// the node kind its driver needs is preferred: the render node for nouveau (unprivileged,
    /// has everything PvDrm uses), the primary node for other drivers, since the kernel allows
    /// dumb buffers on primary nodes only. Automatic choice prefers nouveau, which has channels.
    /// </summary>
    public DrmNode? Pick(string? driver, string? path, out string? reason, string sysDir = DrmDiscovery.DefaultSysDir)
    {
        reason = null;
        if (path is not null)
        {
            string full = Path.GetFullPath(path);
            var node = Nodes.FirstOrDefault(n => Path.GetFullPath(n.Path) == full);
            if (node is null)
            {
                if (!File.Exists(full))
                {
                    reason = $"{path} does not exist";
                    return null;
                }
                node = DrmDiscovery.DescribeFile(full, sysDir);
            }
            if (driver is not null && node.Driver is not null && node.Driver != driver)
            {
                reason = $"{path} is driven by {node.Driver}, not {driver}";
                return null;
            }
            return node;
        }

        if (Nodes.Count == 0)
        {
            reason = Reason ?? $"no DRM nodes under {DevDir}";
            return null;
        }
        var candidates = driver is null ? Nodes : Nodes.Where(n => n.Driver == driver).ToList();
        if (candidates.Count == 0)
        {
            reason = $"no DRM node is driven by '{driver}' (found: {string.Join(", ", Nodes)})";
            return null;
        }
        return candidates
            .OrderBy(n => DrmAllowlist.IsNouveau(n.Driver ?? "") ? 0 : 1)
            .ThenBy(n => n.Kind == PreferredKind(n.Driver) ? 0 : 1)
            .First();
    }

    /// <summary>The node kind PvDrm opens for a driver: render for nouveau, primary (dumb buffers) for the rest.</summary>
    public static DrmNodeKind PreferredKind(string? driver) =>
        driver is not null && DrmAllowlist.IsNouveau(driver) ? DrmNodeKind.Render : DrmNodeKind.Primary;
}
