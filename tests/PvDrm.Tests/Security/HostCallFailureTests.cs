using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Native.Drm;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Tests.Drm;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// A host call that fails while serving a request, in any actor (guest, context, GEM, channel),
/// fails that request with the call's errno and names the call; the guest's session keeps
/// serving. Driven on the fake DRM node, whose ioctls fail as a kernel driver's do when the
/// hardware does (nouveau returns a failed runtime-PM resume's error, e.g. EIO, from any ioctl).
/// </summary>
public class HostCallFailureTests : TestKit
{
    // The host's configuration, as pvdrm-host loads it: blocking devices run on pvdrm-device-dispatcher.
    public HostCallFailureTests() : base(Actors.PvDrmConfig.Reference)
    {
    }

    /// <summary>The guest actor answers device queries on a device whose calls may block.</summary>
    [FakeDrmFact]
    public async Task A_device_query_whose_ioctl_fails_gets_that_errno_and_the_session_keeps_serving()
    {
        using var fake = FakeDrm.Start("nouveau", $"DRM_IOCTL_NOUVEAU_GETPARAM={Errno.EIO}");
        using var device = DrmGpuDevice.Open("nv0", fake.DevicePath);
        var host = new HostHarness(this, device: device);
        await using var client = await host.ConnectAsync("g");
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096, GemDomain.Gart);
        await gem.WriteAsync(0, "kept"u8.ToArray());

        var failed = await Assert.ThrowsAsync<DrmException>(() => client.GetParamAsync(NouveauDrm.NOUVEAU_GETPARAM_CHIPSET_ID));
        Assert.Equal(Errno.EIO, failed.Errno);
        Assert.Contains("GET_PARAM", failed.Message);
        Assert.Contains("DRM_IOCTL_NOUVEAU_GETPARAM", failed.Message);

        // The same session, the same context, the same buffer: nothing was torn down.
        Assert.Equal("nouveau", (await client.GetVersionAsync()).Name);
        var back = new byte[4];
        await gem.ReadAsync(0, back);
        Assert.Equal("kept"u8.ToArray(), back);
        Assert.NotNull(await ctx.GemNewAsync(4096, GemDomain.Gart));
        Assert.Equal(1, host.Status().Guests.Count(g => g.Name == "g"));
    }

    /// <summary>The channel actor frees its device channel on CHANNEL_FREE.</summary>
    [FakeDrmFact]
    public async Task A_channel_free_whose_ioctl_fails_gets_that_errno_and_the_session_keeps_serving()
    {
        using var fake = FakeDrm.Start("nouveau", $"DRM_IOCTL_NOUVEAU_CHANNEL_FREE={Errno.EIO}");
        using var device = DrmGpuDevice.Open("nv0", fake.DevicePath);
        var host = new HostHarness(this, device: device);
        await using var client = await host.ConnectAsync("g");
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096, GemDomain.Gart);
        await gem.WriteAsync(0, "kept"u8.ToArray());
        var channel = await ctx.ChannelAllocAsync();

        var failed = await Assert.ThrowsAsync<DrmException>(() => channel.FreeAsync());
        Assert.Equal(Errno.EIO, failed.Errno);
        Assert.Contains("CHANNEL_FREE", failed.Message);
        Assert.Contains("DRM_IOCTL_NOUVEAU_CHANNEL_FREE", failed.Message);

        // The channel is gone all the same (its quota back), and the session serves the next requests.
        var again = await ctx.ChannelAllocAsync();
        Assert.NotEqual(0u, again.Id);
        var back = new byte[4];
        await gem.ReadAsync(0, back);
        Assert.Equal("kept"u8.ToArray(), back);
        Assert.Equal(1, host.GuestStatus("g").Channels);
    }
}
