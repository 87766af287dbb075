using System.Text.RegularExpressions;

namespace PvDrm.Tests.Vm;

/// <summary>
/// One VM, booted once for the class with vgem loaded and a virtio-gpu-pci device, running
/// deploy/vm/drm-check.sh: one pvdrm-host in the VM has, per real kernel driver, the card node
/// that discovery (as device = auto) finds and the render node as devices; two guests in the
/// same VM run `pvdrm-guest check` on each card node, one on each render node.
/// </summary>
public sealed class RealDrmFixture : IAsyncLifetime
{
    private readonly Support.TempDir _dir = new();
    private VmRun? _vm;

    /// <summary>Everything the check printed, once the VM has powered off.</summary>
    public string Output { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Native.Tests.Drm.NativeToolchain.Ensure(VirtualMachines.Gap, VirtualMachines.Require);
        _vm = VmRun.Start("boot.sh", _dir["qemu.pid"], "--vgem", "--virtio-gpu", "--timeout", "600", "--",
            Path.Combine(VirtualMachines.Scripts, "drm-check.sh"), VirtualMachines.Bin);
        int exit = await _vm.ExitAsync();
        Output = _vm.Stdout;
        Assert.True(exit == 0, $"drm-check.sh exited {exit}:\n{_vm.Stdout}\n{_vm.Stderr}");
    }

    public Task DisposeAsync()
    {
        _vm?.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

[Collection(VirtualMachines.Collection)]
public sealed class RealDrmTests(RealDrmFixture vm) : IClassFixture<RealDrmFixture>
{
    private string[] Lines(string prefix) =>
        vm.Output.Split('\n').Select(l => l.TrimEnd()).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToArray();

    private string Line(string prefix) => Assert.Single(Lines(prefix));

    private int Files(string tag, string when) =>
        int.Parse(Regex.Match(Line($"{tag}: host DRM files {when}"), @"(\d+)$").Groups[1].Value);

    [VmTheory]
    [InlineData("vgem", "vgem 1.0.0")]
    [InlineData("virtio_gpu", "virtio_gpu 0.1.0")]
    public void A_host_in_a_VM_serves_a_guest_a_dumb_buffer_of_the_real_driver_as_a_dma_buf_it_maps(string driver, string version)
    {
        string tag = $"{driver}-card";
        Assert.StartsWith($"{tag}: /dev/dri/card", Line($"{tag}: /dev/"));
        foreach (string g in new[] { "g1", "g2" })
        {
            string guest = $"{tag} guest {g}: ";
            Assert.StartsWith($"{guest}version: ok {version}", Line($"{guest}version:"));
            Assert.Equal($"{guest}gem-new: ok", Line($"{guest}gem-new:")[..(guest.Length + 11)]);
            Assert.StartsWith($"{guest}gem-map: ok", Line($"{guest}gem-map:"));
            Assert.Equal($"{guest}gem-read of mapped bytes: ok same bytes", Line($"{guest}gem-read"));
            Assert.Equal($"{guest}gem-close: ok", Line($"{guest}gem-close"));
            Assert.Equal($"{guest}exit 0", Line($"{guest}exit"));
        }
    }

    [VmTheory]
    [InlineData("vgem")]
    [InlineData("virtio_gpu")]
    public void Two_guests_on_one_real_node_hold_two_DRM_files_of_the_host_closed_when_they_leave(string driver)
    {
        string tag = $"{driver}-card";
        int before = Files(tag, "before guests");
        Assert.Equal(before + 2, Files(tag, "with 2 guests holding a context"));
        Assert.Equal(before, Files(tag, "after the guests left"));
    }

    [VmTheory]
    [InlineData("vgem")]
    [InlineData("virtio_gpu")]
    public void A_render_node_refuses_dumb_buffers_with_the_kernels_errno_and_a_message(string driver)
    {
        string guest = $"{driver}-render guest g1: ";
        string refused = Line($"{guest}gem-new:");
        Assert.StartsWith($"{guest}gem-new: failed EACCES", refused);
        Assert.Contains("MODE_CREATE_DUMB", refused);
        Assert.Equal($"{guest}exit 1", Line($"{guest}exit"));
    }
}
