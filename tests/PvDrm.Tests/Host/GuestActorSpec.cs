using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

public class GuestActorSpec : TestKit
{
    [Fact]
    public async Task A_guest_that_disconnects_has_all_its_objects_released()
    {
        var host = new HostHarness(this);
        var client = await host.ConnectAsync();
        for (int c = 0; c < 3; c++)
        {
            var ctx = await client.OpenContextAsync();
            var semaphore = await ctx.GemNewAsync(4096);
            for (int i = 0; i < 10; i++) await ctx.GemNewAsync(64 * 1024);
            var channel = await ctx.ChannelAllocAsync();
            var map = await semaphore.MapAsync();
            // Work still queued when the guest vanishes: it must be cancelled, not leaked.
            await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, semaphore, 0));
            await ctx.SubmitAsync(channel, Commands.Fill(semaphore, 1));
        }
        Assert.Equal(33, host.Device.GetStats().LiveBuffers);

        await client.DisposeAsync();

        host.AwaitDeviceEmpty();
    }

    [Fact]
    public async Task Another_guest_carries_on_while_one_leaves()
    {
        var host = new HostHarness(this);
        var leaving = await host.ConnectAsync();
        await using var staying = await host.ConnectAsync();
        var ctx = await staying.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096);
        await (await leaving.OpenContextAsync()).GemNewAsync(4096);

        await leaving.DisposeAsync();
        AwaitAssert(() => Assert.Equal(1, host.Device.GetStats().LiveBuffers), HostHarness.Timeout, HostHarness.Poll);

        var channel = await ctx.ChannelAllocAsync();
        await ctx.SubmitAsync(channel, Commands.Fill(gem, 9));
        await gem.CpuPrepAsync();
        var back = new byte[4];
        await gem.ReadAsync(0, back);
        Assert.Equal(9u, BitConverter.ToUInt32(back));
    }

    [Fact]
    public async Task Contexts_and_channels_are_limited_per_guest()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, ContextsPerGuest = 2, ChannelsPerGuest = 1 });
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        await client.OpenContextAsync();
        var contexts = await Assert.ThrowsAsync<DrmException>(() => client.OpenContextAsync());
        Assert.Equal(Errno.EMFILE, contexts.Errno);
        Assert.Contains("contexts-per-guest", contexts.Message);

        var channel = await ctx.ChannelAllocAsync();
        var channels = await Assert.ThrowsAsync<DrmException>(() => ctx.ChannelAllocAsync());
        Assert.Equal(Errno.EMFILE, channels.Errno);
        // Freeing makes room again.
        await channel.FreeAsync();
        await ctx.ChannelAllocAsync();
    }

    [Fact]
    public async Task Requests_for_a_context_that_is_not_open_get_ENOENT()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        await ctx.DisposeAsync();

        var error = await Assert.ThrowsAsync<DrmException>(() => client.SendAsync(new PvDrm.Protocol.Requests.GemInfo(1) { Context = ctx.Id }));
        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.Contains($"context {ctx.Id} is not open", error.Message);
    }

    [Fact]
    public async Task Device_queries_answer_from_the_device()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();

        var version = await client.GetVersionAsync();
        Assert.Equal("softgpu", version.Name);
        Assert.Equal(((Native.Gpu.Soft.SoftGpu)host.Device).Options.MemoryBytes, await client.GetParamAsync(Native.Gpu.DeviceParam.FbSize));
        Assert.Equal(3ul, await client.GetCapAsync(Native.Gpu.DeviceCap.Prime));
        var unknown = await Assert.ThrowsAsync<DrmException>(() => client.GetParamAsync(12345));
        Assert.Equal(Errno.EINVAL, unknown.Errno);
    }
}
