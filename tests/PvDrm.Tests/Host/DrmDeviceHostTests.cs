using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Drm;
using PvDrm.Native.Gpu;
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

    /// <summary>
    /// Issue 16, attack 11: on one shared DRM file every guest's objects sat in one handle table
    /// and one GPU address space. Each context now has a file of its own: the fake (which keeps a
    /// table per open file, as the kernel does) receives each guest's pushbuf on a different
    /// file, and a kernel handle that exists in guest a's file is absent from guest b's.
    /// </summary>
    [FakeDrmFact]
    public async Task Each_guest_context_has_its_own_drm_file_and_one_guests_kernel_handles_are_absent_from_anothers()
    {
        using var fake = FakeDrm.Start("nouveau");
        var device = DrmGpuDevice.Open("nv0", fake.DevicePath);
        var host = new HostHarness(this, device: device);
        string files = fake.Stats()["files"]; // the device's own file

        await using var a = await host.ConnectAsync("a");
        var ctxA = await a.OpenContextAsync();
        var spareA = await ctxA.GemNewAsync(4096, GemDomain.Gart);
        var secretA = await ctxA.GemNewAsync(4096, GemDomain.Gart);
        var (fileA, handleA) = await SubmitAndRecord(fake, ctxA, secretA);

        await using var b = await host.ConnectAsync("b");
        var ctxB = await b.OpenContextAsync();
        var ownB = await ctxB.GemNewAsync(4096, GemDomain.Gart);
        var (fileB, handleB) = await SubmitAndRecord(fake, ctxB, ownB);

        Assert.NotEqual(fileA, fileB);
        var tableA = fake.Stats()[$"file.{fileA}.handles"].Split(',');
        var tableB = fake.Stats()[$"file.{fileB}.handles"].Split(',');
        Assert.Contains(handleA, tableA);
        Assert.DoesNotContain(handleA, tableB); // b's file cannot name a's buffer: the kernel answers ENOENT
        Assert.Contains(handleB, tableB);
        Assert.Equal(3, device.OpenFiles);

        // Through the protocol b can only name its own handles; a's number is unknown in b's context.
        var e = await Assert.ThrowsAsync<DrmException>(() => ctxB.Send(new PvDrm.Protocol.Requests.GemInfo(secretA.Handle)));
        Assert.Equal(Errno.ENOENT, e.Errno);

        // Closing a context closes its file, and the kernel drops that file's handles with it.
        await ctxA.DisposeAsync();
        AwaitAssert(() => Assert.False(fake.Stats().ContainsKey($"file.{fileA}.handles")), HostHarness.Timeout);
        await a.DisposeAsync();
        await b.DisposeAsync();
        host.AwaitDeviceEmpty();
        AwaitAssert(() => Assert.Equal(files, fake.Stats()["files"]), HostHarness.Timeout);
        Assert.Equal(1, device.OpenFiles);
        Assert.Equal(0, device.FileBudget.Open);
        Assert.Equal("1", tableA[0]); // spareA: each file numbers its handles from 1
        _ = spareA;
        device.Dispose(); // the node is closed, so the fake unmounts at once
    }

    [FakeDrmFact]
    public async Task Drm_files_are_budgeted_per_guest_and_host_wide_and_OPEN_CONTEXT_beyond_names_the_key()
    {
        using var fake = FakeDrm.Start("fakedrm");
        var settings = HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host { listen.unix = \"\", control.unix = \"\", limits { drm-files-per-guest = 2, drm-files = 3 } }"));
        var device = DrmGpuDevice.Open("drm0", fake.DevicePath, DeviceFactory.FileBudget(settings));
        var host = new HostHarness(this, settings, device: device);

        await using var a = await host.ConnectAsync("a");
        var first = await a.OpenContextAsync();
        await a.OpenContextAsync();
        var perGuest = await Assert.ThrowsAsync<DrmException>(() => a.OpenContextAsync());
        Assert.Equal(Errno.EMFILE, perGuest.Errno);
        Assert.Contains("pvdrm.host.limits.drm-files-per-guest = 2", perGuest.Message);

        await using var b = await host.ConnectAsync("b");
        await b.OpenContextAsync();
        var total = await Assert.ThrowsAsync<DrmException>(() => b.OpenContextAsync());
        Assert.Equal(Errno.EMFILE, total.Errno);
        Assert.Contains("pvdrm.host.limits.drm-files = 3", total.Message);

        // Only the request failed: a's contexts still work, and closing one gives its file back.
        var gem = await first.GemNewAsync(4096);
        await gem.WriteAsync(0, "still here"u8.ToArray());
        await first.DisposeAsync();
        AwaitAssert(() => Assert.Equal(2, device.FileBudget.Open), HostHarness.Timeout);
        await b.OpenContextAsync();

        await a.DisposeAsync();
        await b.DisposeAsync();
        AwaitAssert(() => Assert.Equal(0, device.FileBudget.Open), HostHarness.Timeout);
        device.Dispose();
    }

    // Submits a pushbuf that uses gem on a new channel; returns the fake's file id and the kernel handle it received.
    private static async Task<(string File, string Handle)> SubmitAndRecord(FakeDrm fake, DrmContext ctx, GemObject gem)
    {
        var channel = await ctx.ChannelAllocAsync();
        var pushbuf = new PushbufBuilder();
        pushbuf.Use(gem, BufferAccess.Read);
        pushbuf.Commands.Nop();
        await ctx.FenceWaitAsync(await ctx.SubmitAsync(channel, pushbuf));
        var stats = fake.Stats();
        string handle = System.Text.RegularExpressions.Regex.Match(stats["pushbuf"], "buffers=(\\d+):").Groups[1].Value;
        return (stats["pushbuf.file"], handle);
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

    [WithoutDrmNodesFact]
    public void Auto_falls_back_to_SoftGpu_and_says_why_when_there_is_no_drm_node()
    {
        string? note = null;
        using var devices = DeviceFactory.CreateAll(HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host.device = auto")), n => note = n);
        var device = Assert.Single(devices.All);

        Assert.Equal("softgpu", device.Info.Driver);
        Assert.Contains("no /dev/dri", note);
    }
}
