using PvDrm.Native.Drm;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// DrmGpuDevice through the kernel against fake_drm as a driver without a command path
/// ("fakedrm"): version, caps, dumb buffers, PRIME export, and the allowlist.
/// </summary>
public class DrmGpuDeviceTests(FakeDumbDrmFixture fixture) : IClassFixture<FakeDumbDrmFixture>
{
    private FakeDrm Fake => fixture.Fake;

    private DrmGpuDevice Open() => DrmGpuDevice.Open("drm0", Fake.DevicePath);

    [FakeDrmFact]
    public void Opening_reads_driver_version_date_and_description_with_two_VERSION_calls()
    {
        long before = Fake.Count("DRM_IOCTL_VERSION");
        using var device = Open();

        Assert.Equal(new DeviceInfo("fakedrm", 1, 2, 3, "20251125", "PvDrm fake DRM device (FUSE)"), device.Info);
        Assert.Equal(2, Fake.Count("DRM_IOCTL_VERSION") - before);
        Assert.True(device.CallsMayBlock);
        Assert.Equal(Fake.DevicePath, device.Path);
        Assert.Equal("fakedrm", device.Allowlist.Driver);
    }

    [FakeDrmFact]
    public void Capabilities_come_from_GET_CAP_and_one_the_driver_does_not_know_is_false()
    {
        using var device = Open();
        long before = Fake.Count("DRM_IOCTL_GET_CAP");

        Assert.True(device.TryGetCap(DeviceCap.DumbBuffer, out ulong dumb));
        Assert.Equal(1UL, dumb);
        Assert.True(device.TryGetCap(DeviceCap.Prime, out ulong prime));
        Assert.Equal(DeviceCap.PrimeImport | DeviceCap.PrimeExport, prime);
        Assert.False(device.TryGetCap(DeviceCap.SyncObj, out _));
        Assert.Equal(3, Fake.Count("DRM_IOCTL_GET_CAP") - before);
        Assert.True(device.CanExportBuffers);
    }

    [FakeDrmFact]
    public void Driver_parameters_are_nouveau_only_and_cost_no_ioctl_elsewhere()
    {
        using var device = Open();
        long before = Fake.TotalIoctls;
        Assert.False(device.TryGetParam(DeviceParam.PciVendor, out _));
        Assert.Equal(before, Fake.TotalIoctls);
    }

    [FakeDrmFact]
    public void A_buffer_is_a_dumb_buffer_of_4096_byte_rows_mapped_through_MAP_DUMB_and_destroyed_on_release()
    {
        using var device = Open();
        long destroyed = Fake.Count("DRM_IOCTL_MODE_DESTROY_DUMB"), mapped = Fake.Count("DRM_IOCTL_MODE_MAP_DUMB");

        var buffer = device.CreateBuffer(5000, GemDomain.None, 0);
        Assert.Equal("1024:2:32", Fake.Stats()["dumb.request"]); // width : height (pages) : bpp
        Assert.Equal(8192UL, buffer.Size);
        Assert.Equal(1, Fake.Count("DRM_IOCTL_MODE_MAP_DUMB") - mapped);
        Assert.Equal("1", Fake.Stats()["live_bos"]);
        Assert.Equal(new DeviceStats(1, 8192, 0, 0, 0, 0, 0), device.GetStats());

        var zeros = new byte[8192];
        buffer.Read(0, zeros);
        Assert.All(zeros, b => Assert.Equal(0, b));
        byte[] data = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        buffer.Write(4000, data);
        var back = new byte[300];
        buffer.Read(4000, back);
        Assert.Equal(data, back);

        buffer.Release();
        Assert.Equal(1, Fake.Count("DRM_IOCTL_MODE_DESTROY_DUMB") - destroyed);
        Assert.Equal("0", Fake.Stats()["live_bos"]);
        Assert.Equal(new DeviceStats(0, 0, 0, 0, 0, 0, 0), device.GetStats());
    }

    [FakeDrmFact]
    public void A_range_outside_a_buffer_is_refused_with_EINVAL()
    {
        using var device = Open();
        var buffer = device.CreateBuffer(4096, GemDomain.Gart, 0);
        try
        {
            var e = Assert.Throws<ErrnoException>(() => buffer.Read(4090, new byte[8]));
            Assert.Equal(Errno.EINVAL, e.Errno);
            Assert.Equal(Errno.EINVAL, Assert.Throws<ErrnoException>(() => buffer.Write(ulong.MaxValue, new byte[1])).Errno);
            Assert.Equal(Errno.EINVAL, Assert.Throws<ErrnoException>(() => device.CreateBuffer(4096, GemDomain.Vram, flags: 1)).Errno);
        }
        finally
        {
            buffer.Release();
        }
    }

    [FakeDrmFact]
    public void Exporting_a_buffer_asks_PRIME_HANDLE_TO_FD_for_a_cloexec_read_write_dma_buf_and_surfaces_the_errno()
    {
        using var device = Open();
        var buffer = (DrmBuffer)device.CreateBuffer(4096, GemDomain.None, 0);
        try
        {
            // The fake cannot install a descriptor in this process (FUSE): it records the request and says EOPNOTSUPP.
            var e = Assert.Throws<ErrnoException>(() => buffer.Fd);
            Assert.Equal(Errno.EOPNOTSUPP, e.Errno);
            Assert.Contains("DRM_IOCTL_PRIME_HANDLE_TO_FD", e.Message);
            Assert.Contains($"handle {buffer.Handle}", e.Message);
            Assert.Contains($"fakedrm device {Fake.DevicePath}", e.Message);
            var stats = Fake.Stats();
            Assert.Equal(buffer.Handle.ToString(), stats["prime.handle"]);
            Assert.Equal((DRM_CLOEXEC | DRM_RDWR).ToString(), stats["prime.flags"]);
        }
        finally
        {
            buffer.Release();
        }
    }

    [FakeDrmFact]
    public void An_ioctl_outside_the_allowlist_is_refused_without_reaching_the_device()
    {
        using var device = Open();
        long before = Fake.TotalIoctls;

        var e = Refused(device, DRM_IOCTL_GEM_FLINK);
        Assert.Equal(Errno.EOPNOTSUPP, e.Errno);
        Assert.StartsWith($"DRM_IOCTL_GEM_FLINK is not allowed on fakedrm device {Fake.DevicePath}", e.Message);
        Assert.Equal(Errno.EOPNOTSUPP, Refused(device, DRM_IOCTL_NOUVEAU_GEM_NEW).Errno);
        Assert.Equal(Errno.EOPNOTSUPP, Refused(device, 0xC04064A0).Errno); // MODE_GETRESOURCES' number, unnamed here

        Assert.Equal(before, Fake.TotalIoctls);
        Assert.Equal(0, Fake.Count("DRM_IOCTL_GEM_FLINK"));
    }

    private static unsafe ErrnoException Refused(DrmGpuDevice device, uint request) =>
        Assert.Throws<ErrnoException>(() =>
        {
            byte* arg = stackalloc byte[256];
            device.Ioctl(request, arg);
        });

    [FakeDrmFact]
    public void A_driver_without_a_command_path_has_no_channels()
    {
        using var device = Open();
        var e = Assert.Throws<ErrnoException>(() => device.CreateChannel());
        Assert.Equal(Errno.EOPNOTSUPP, e.Errno);
        Assert.Equal("fakedrm has no command submission through PvDrm", e.Message);
    }

    [FakeDrmFact]
    public void A_disposed_device_refuses_new_buffers_but_keeps_live_ones_until_released()
    {
        var device = Open();
        var buffer = device.CreateBuffer(4096, GemDomain.None, 0);
        device.Dispose();

        Assert.Equal(Errno.ENODEV, Assert.Throws<ErrnoException>(() => device.CreateBuffer(4096, GemDomain.None, 0)).Errno);
        buffer.Write(0, [1, 2, 3]);
        var back = new byte[3];
        buffer.Read(0, back);
        Assert.Equal([1, 2, 3], back);
        long destroyed = Fake.Count("DRM_IOCTL_MODE_DESTROY_DUMB");
        buffer.Release();
        Assert.Equal(1, Fake.Count("DRM_IOCTL_MODE_DESTROY_DUMB") - destroyed);
    }

    [FakeDrmFact]
    public void Opening_a_missing_node_fails_with_ENOENT_naming_the_path()
    {
        string missing = Path.Combine(Fake.MountPoint, "renderD200");
        var e = Assert.Throws<ErrnoException>(() => DrmGpuDevice.Open("drm0", missing));
        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Contains(missing, e.Message);
    }
}
