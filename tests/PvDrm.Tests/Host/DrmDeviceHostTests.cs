using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Guest.Client;
using PvDrm.Native.Drm;
using PvDrm.Native.Interop;
using PvDrm.Native.Tests.Drm;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>
/// The same actors on a DRM device: DrmGpuDevice over the FUSE fake DRM node (driver "fakedrm"),
/// so guest requests become real ioctls through the kernel.
/// </summary>
public class DrmDeviceHostTests : TestKit
{
    // The host's configuration, as pvdrm-host loads it: blocking devices run on pvdrm-device-dispatcher.
    public DrmDeviceHostTests() : base(Actors.PvDrmConfig.Reference)
    {
    }

    [FakeDrmFact]
    public async Task Guests_are_served_by_a_drm_device_through_the_same_actors()
    {
        using var fake = FakeDrm.Start("fakedrm");
        var host = new HostHarness(this, device: DrmGpuDevice.Open("fake0", fake.DevicePath));
        await using var client = await host.ConnectAsync();

        Assert.Equal("fakedrm", (await client.GetVersionAsync()).Name);
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(8192);          // a dumb buffer, created by ioctl
        await gem.WriteAsync(100, "through the kernel"u8.ToArray());
        var back = new byte[18];
        await gem.ReadAsync(100, back);
        Assert.Equal("through the kernel"u8.ToArray(), back);

        // The fake cannot hand a dma-buf back across FUSE; the guest gets a clear error, the host carries on.
        var map = await Assert.ThrowsAsync<DrmException>(() => gem.MapAsync());
        Assert.Contains("cannot be handed out", map.Message);
        var channel = await Assert.ThrowsAsync<DrmException>(() => ctx.ChannelAllocAsync());
        Assert.Equal(Errno.EOPNOTSUPP, channel.Errno);
        Assert.Equal(1, host.Device.GetStats().LiveBuffers);

        await client.DisposeAsync();
        host.AwaitDevice(buffers: 0, extra: 0);
    }

    [Fact]
    public void A_device_value_that_is_neither_soft_auto_nor_a_path_stops_start_up_naming_the_key()
    {
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host.device = gpu0")));
        Assert.Contains("pvdrm.host.device", error.Message);
        var missing = Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            DeviceFactory.CreateAll(HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host.device = \"/nonexistent/renderD128\""))));
        Assert.Contains("cannot open /nonexistent/renderD128", missing.Message);
    }

    [Fact]
    public void Auto_falls_back_to_SoftGpu_and_says_why_when_there_is_no_drm_node()
    {
        if (Directory.Exists("/dev/dri")) return; // a machine with a GPU: covered by `pvdrm-host nodes` there
        string? note = null;
        using var devices = DeviceFactory.CreateAll(HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host.device = auto")), n => note = n);
        var device = Assert.Single(devices.All);

        Assert.Equal("softgpu", device.Info.Driver);
        Assert.Contains("no /dev/dri", note);
    }
}
