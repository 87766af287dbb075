using PvDrm.Native.Drm;

namespace PvDrm.Native.Tests.Drm;

/// <summary>Discovery over fake /dev/dri and /sys/class/drm trees built in a temporary directory.</summary>
public sealed class DrmDiscoveryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pvdrm-discovery-").FullName;

    private string Dev => Path.Combine(_root, "dev", "dri");

    private string Sys => Path.Combine(_root, "sys", "class", "drm");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A GPU as sysfs shows it: a PCI device directory with a driver symlink (or uevent) and ids, and its nodes.</summary>
    private void AddGpu(string pciSlot, string? driverLink, string? ueventDriver, string? vendor, string? device, params string[] nodes)
    {
        string pci = Path.Combine(_root, "sys", "devices", "pci0000:00", pciSlot);
        Directory.CreateDirectory(pci);
        if (driverLink is not null)
        {
            string driverDir = Path.Combine(_root, "sys", "bus", "pci", "drivers", driverLink);
            Directory.CreateDirectory(driverDir);
            Directory.CreateSymbolicLink(Path.Combine(pci, "driver"), driverDir);
        }
        if (ueventDriver is not null) File.WriteAllText(Path.Combine(pci, "uevent"), $"DRIVER={ueventDriver}\nPCI_SLOT_NAME={pciSlot}\n");
        if (vendor is not null) File.WriteAllText(Path.Combine(pci, "vendor"), vendor + "\n");
        if (device is not null) File.WriteAllText(Path.Combine(pci, "device"), device + "\n");
        Directory.CreateDirectory(Dev);
        foreach (var node in nodes)
        {
            File.WriteAllText(Path.Combine(Dev, node), "");
            string sysNode = Path.Combine(Sys, node);
            Directory.CreateDirectory(sysNode);
            Directory.CreateSymbolicLink(Path.Combine(sysNode, "device"), pci);
        }
    }

    [Fact]
    public void A_machine_without_dev_dri_has_no_nodes_and_says_so()
    {
        var scan = DrmDiscovery.Scan(Dev, Sys);
        Assert.Empty(scan.Nodes);
        Assert.Equal($"no {Dev}: no DRM device on this machine", scan.Reason);
        Assert.Null(scan.Pick(null, null, out var reason));
        Assert.Equal(scan.Reason, reason);
        Assert.Null(DrmDiscovery.Pick("nouveau", null, out var oneStep, Dev, Sys));
        Assert.Equal(scan.Reason, oneStep);
    }

    [Fact]
    public void Nodes_are_described_with_driver_and_pci_ids_from_sysfs()
    {
        AddGpu("0000:01:00.0", "nouveau", null, "0x10de", "0x1c82", "card0", "renderD128");
        Directory.CreateDirectory(Path.Combine(Dev, "by-path"));

        var scan = DrmDiscovery.Scan(Dev, Sys);

        Assert.Null(scan.Reason);
        Assert.Equal(["renderD128", "card0"], scan.Nodes.Select(n => n.Name));
        var render = scan.Nodes[0];
        Assert.Equal((DrmNodeKind.Render, "nouveau", (ushort?)0x10de, (ushort?)0x1c82), (render.Kind, render.Driver, render.VendorId, render.DeviceId));
        Assert.Equal(render.SysDevice, scan.Nodes[1].SysDevice);
        Assert.Equal($"{Path.Combine(Dev, "renderD128")} (nouveau, 10de:1c82)", render.ToString());
    }

    [Fact]
    public void Without_a_driver_symlink_the_driver_comes_from_uevent_and_missing_ids_stay_unknown()
    {
        AddGpu("virtio0", null, "virtio_gpu", null, null, "renderD128");
        var node = Assert.Single(DrmDiscovery.Scan(Dev, Sys).Nodes);
        Assert.Equal("virtio_gpu", node.Driver);
        Assert.Null(node.VendorId);
        Assert.Null(node.DeviceId);
    }

    [Fact]
    public void Picking_by_driver_takes_the_render_node_for_nouveau_and_the_primary_node_for_other_drivers()
    {
        AddGpu("0000:00:02.0", "i915", null, "0x8086", "0x9a49", "card0", "renderD128");
        AddGpu("0000:01:00.0", "nouveau", null, "0x10de", "0x1c82", "card1", "renderD129");
        var scan = DrmDiscovery.Scan(Dev, Sys);

        Assert.Equal("renderD129", scan.Pick("nouveau", null, out _)?.Name);
        Assert.Equal("card0", scan.Pick("i915", null, out _)?.Name);
        Assert.Equal("renderD129", scan.Pick(null, null, out _)?.Name); // automatic: nouveau has channels
    }

    [Fact]
    public void Picking_a_driver_nobody_uses_names_what_was_found()
    {
        AddGpu("0000:00:02.0", "i915", null, "0x8086", "0x9a49", "renderD128");
        var scan = DrmDiscovery.Scan(Dev, Sys);
        Assert.Null(scan.Pick("nouveau", null, out var reason));
        Assert.Equal($"no DRM node is driven by 'nouveau' (found: {Path.Combine(Dev, "renderD128")} (i915, 8086:9a49))", reason);
    }

    [Fact]
    public void Picking_by_path_takes_that_node_checks_its_driver_and_accepts_a_file_outside_dev_dri()
    {
        AddGpu("0000:01:00.0", "nouveau", null, "0x10de", "0x1c82", "card0", "renderD128");
        var scan = DrmDiscovery.Scan(Dev, Sys);
        string card = Path.Combine(Dev, "card0");

        Assert.Equal("card0", scan.Pick(null, card, out _)?.Name);
        Assert.Null(scan.Pick("i915", card, out var wrongDriver));
        Assert.Equal($"{card} is driven by nouveau, not i915", wrongDriver);

        string elsewhere = Path.Combine(_root, "fake-device");
        File.WriteAllText(elsewhere, "");
        var other = scan.Pick(null, elsewhere, out _, Sys);
        Assert.Equal((DrmNodeKind.Other, (string?)null), (other?.Kind, other?.Driver));

        Assert.Null(scan.Pick(null, Path.Combine(_root, "missing"), out var missing));
        Assert.Equal($"{Path.Combine(_root, "missing")} does not exist", missing);
    }

    [Fact]
    public void An_empty_dev_dri_is_reported_as_having_no_nodes()
    {
        Directory.CreateDirectory(Path.Combine(Dev, "by-path"));
        var scan = DrmDiscovery.Scan(Dev, Sys);
        Assert.Empty(scan.Nodes);
        Assert.Equal($"{Dev} has no DRM nodes (cardN, renderDN)", scan.Reason);
    }
}
