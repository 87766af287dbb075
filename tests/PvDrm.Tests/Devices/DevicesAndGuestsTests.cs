using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Devices;

/// <summary>
/// One host, two SoftGpu devices: guests placed by configuration and moved at run time
/// (PVDRM's `tools/vdrm DEVICE DOMAIN`), with the device's resources released on detach and
/// buffers never crossing devices.
/// </summary>
public class DevicesAndGuestsTests : TestKit
{
    private readonly SoftGpu _a = HostHarness.NewSoftGpu(), _b = HostHarness.NewSoftGpu();

    private HostHarness Host(Dictionary<string, string?> guests, bool sequential = false, string[][]? sharing = null) =>
        new(this, new HostSettings
        {
            ListenUnix = null,
            Sequential = sequential,
            GuestDevices = guests,
            DefaultDevice = null,
            SharingGroups = sharing ?? [],
        }, devices: new HostDevices([_a, _b], defaultDevice: null));

    private static ControlProtocol.Request Attach(string guest, string device) => new("attach", guest, Value: device);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_guests_on_two_devices_run_verified_work_each_on_its_own(bool sequential)
    {
        var host = Host(new() { ["vm1"] = _a.Name, ["vm2"] = _b.Name }, sequential);
        await using var vm1 = await host.ConnectAsync("vm1");
        await using var vm2 = await host.ConnectAsync("vm2");

        async Task Work(DrmClient guest, uint pattern)
        {
            await using var ctx = await guest.OpenContextAsync();
            for (int i = 0; i < 10; i++) await Verified.FillAndCheck(ctx, pattern + (uint)i);
        }
        await Task.WhenAll(Work(vm1, 0x100), Work(vm2, 0x200)).WaitAsync(HostHarness.Timeout);

        Assert.Equal(10, _a.GetStats().Completed);
        Assert.Equal(10, _b.GetStats().Completed);
        var status = host.Status();
        Assert.Equal([(_a.Name, ["vm1"]), (_b.Name, ["vm2"])], status.Devices.Select(d => (d.Name, d.Guests.ToArray())));
        Assert.Equal(_a.Name, host.GuestStatus("vm1").Device);
        Assert.Equal(sequential ? "sequential" : "concurrent", status.Mode);
    }

    [Fact]
    public async Task In_concurrent_mode_one_devices_work_completes_while_the_other_device_is_busy()
    {
        var host = Host(new() { ["vm1"] = _a.Name, ["vm2"] = _b.Name });
        await using var vm1 = await host.ConnectAsync("vm1");
        await using var vm2 = await host.ConnectAsync("vm2");
        await using var busy = await vm1.OpenContextAsync();
        var semaphore = await busy.GemNewAsync(4096);
        var target = await busy.GemNewAsync(4096);
        var waiting = await busy.SubmitAsync(await busy.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, target, 0x11));

        await using var other = await vm2.OpenContextAsync();
        for (int i = 0; i < 3; i++) await Verified.FillAndCheck(other, 0x200 + (uint)i);

        // Proof of overlap: vm2 finished while vm1's pushbuf still waits on device A.
        Assert.Equal(Errno.EBUSY, (await Assert.ThrowsAsync<DrmException>(() => busy.FenceWaitAsync(waiting, noWait: true))).Errno);
        await busy.SubmitAsync(await busy.ChannelAllocAsync(), Commands.Release(semaphore, 1));
        await busy.FenceWaitAsync(waiting).WaitAsync(HostHarness.Timeout);
        Assert.Equal((2L, 3L), (_a.GetStats().Completed, _b.GetStats().Completed)); // the wait and the release; three fills
    }

    [Fact]
    public async Task A_guest_admitted_before_its_device_is_attached_opens_contexts_once_it_is()
    {
        var host = Host(new() { ["vm3"] = null });
        await using var vm3 = await host.ConnectAsync("vm3");

        var refused = await Assert.ThrowsAsync<DrmException>(() => vm3.OpenContextAsync());
        Assert.Equal(Errno.ENODEV, refused.Errno);
        Assert.Contains("guest vm3 has no device attached", refused.Message);
        Assert.Equal(Errno.ENODEV, (await Assert.ThrowsAsync<DrmException>(() => vm3.GetParamAsync(DeviceParam.GraphUnits))).Errno);
        Assert.Null(host.GuestStatus("vm3").Device);

        var attached = host.Admin(Attach("vm3", _b.Name));
        Assert.True(attached.Ok, attached.Message);
        Assert.Contains($"attached to {_b.Name}", attached.Message);
        // The same connection: no reconnect.
        await using var ctx = await vm3.OpenContextAsync();
        await Verified.FillAndCheck(ctx, 0x33);
        Assert.Equal(1, _b.GetStats().Completed);
    }

    [Fact]
    public async Task Detach_mid_workload_answers_what_was_in_flight_with_ENODEV_and_gives_the_device_back_its_memory()
    {
        var host = Host(new() { ["vm1"] = _a.Name });
        await using var vm1 = await host.ConnectAsync("vm1");
        var ctx = await vm1.OpenContextAsync();
        var baseline = _a.GetStats();
        // In flight at the detach: a CPU_PREP waiting for a pushbuf that waits on a semaphore nobody releases.
        var semaphore = await ctx.GemNewAsync(4096);
        var target = await ctx.GemNewAsync(1 << 20);
        var channel = await ctx.ChannelAllocAsync();
        ulong fence = await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 0x55));
        var waiting = target.CpuPrepAsync();
        var fenceWait = ctx.FenceWaitAsync(fence);
        // And a loop of verified work on another context, until the detach ends it.
        var loop = Task.Run(async () =>
        {
            var other = await vm1.OpenContextAsync();
            while (true) await Verified.FillAndCheck(other, 0x66);
        });
        AwaitCondition(() => _a.GetStats().Completed > 3, HostHarness.Timeout, HostHarness.Poll);

        var detached = host.Admin(new ControlProtocol.Request("detach", "vm1"));
        Assert.True(detached.Ok, detached.Message);

        foreach (var inFlight in new[] { waiting, fenceWait, loop })
        {
            var error = await Assert.ThrowsAsync<DrmException>(() => inFlight.WaitAsync(HostHarness.Timeout));
            Assert.True(error.Errno == Errno.ENODEV, error.Message);
        }
        Assert.Contains($"device {_a.Name} was detached", (await Assert.ThrowsAsync<DrmException>(() => target.InfoAsync())).Message);
        AwaitAssert(() =>
        {
            var now = _a.GetStats();
            Assert.Equal((baseline.LiveBuffers, baseline.LiveBytes, 0L), (now.LiveBuffers, now.LiveBytes, now.LiveChannels));
            Assert.Equal(0, host.GuestStatus("vm1").Bytes);
        }, HostHarness.Timeout, HostHarness.Poll);
        Assert.True(vm1.IsConnected);

        // Re-attached, to the other device: new contexts work, the old one stays gone.
        Assert.True(host.Admin(Attach("vm1", _b.Name)).Ok);
        await using var again = await vm1.OpenContextAsync();
        await Verified.FillAndCheck(again, 0x77);
        Assert.Equal(Errno.ENODEV, (await Assert.ThrowsAsync<DrmException>(() => ctx.GemNewAsync(4096))).Errno);
        await ctx.DisposeAsync(); // closing a context the detach closed is fine
    }

    [Fact]
    public async Task Buffers_are_shared_between_guests_of_one_device_and_refused_across_devices_with_EXDEV()
    {
        var host = Host(new() { ["vm1"] = _a.Name, ["vm2"] = _b.Name, ["vm3"] = _a.Name }, sharing: [["vm1", "vm2", "vm3"]]);
        await using var vm1 = await host.ConnectAsync("vm1");
        await using var vm2 = await host.ConnectAsync("vm2");
        await using var vm3 = await host.ConnectAsync("vm3");
        var owner = await vm1.OpenContextAsync();
        var gem = await owner.GemNewAsync(4096);
        uint name = await gem.ExportAsync();
        using var fd = await gem.PrimeExportAsync();

        var elsewhere = await vm2.OpenContextAsync();
        var byName = await Assert.ThrowsAsync<DrmException>(() => elsewhere.ImportAsync(name));
        Assert.Equal(Errno.EXDEV, byName.Errno);
        Assert.Contains($"lives on device {_a.Name}", byName.Message);
        Assert.Equal(Errno.EXDEV, (await Assert.ThrowsAsync<DrmException>(() => elsewhere.PrimeImportAsync(fd.Duplicate()))).Errno);

        var sameDevice = await vm3.OpenContextAsync();
        Assert.Equal(gem.Size, (await sameDevice.ImportAsync(name)).Size);
        Assert.Equal(gem.Size, (await sameDevice.PrimeImportAsync(fd.Duplicate())).Size);
    }

    [Fact]
    public void Bad_admin_requests_get_a_clear_answer()
    {
        var host = Host(new() { ["vm1"] = _a.Name });
        var unknownGuest = host.Admin(Attach("nobody", _a.Name));
        Assert.False(unknownGuest.Ok);
        Assert.Contains("no guest named 'nobody'", unknownGuest.Message);
        var unknownDevice = host.Admin(Attach("vm1", "gpu9"));
        Assert.False(unknownDevice.Ok);
        Assert.Contains($"no device named 'gpu9' on this host (devices: {_a.Name}, {_b.Name})", unknownDevice.Message);
        Assert.False(host.Admin(new ControlProtocol.Request("detach")).Ok);
        // A configured guest that is not connected yet may be given a device ahead of time.
        var ahead = host.Admin(Attach("vm1", _b.Name));
        Assert.True(ahead.Ok, ahead.Message);
        Assert.Contains("not connected", ahead.Message);
    }
}
