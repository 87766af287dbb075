using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>Each per-guest limit refuses with its errno and names the key; freeing makes room again.</summary>
public class QuotaTests : TestKit
{
    private HostHarness Host(HostSettings settings) => new(this, settings with { ListenUnix = null });

    [Fact]
    public async Task Memory_per_guest_is_ENOSPC_and_freeing_makes_room()
    {
        var host = Host(new HostSettings { MemoryPerGuest = 1 << 20 });
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var first = await ctx.GemNewAsync(600 * 1024);

        var error = await Assert.ThrowsAsync<DrmException>(() => ctx.GemNewAsync(600 * 1024));
        Assert.Equal(Errno.ENOSPC, error.Errno);
        Assert.Contains("limits.memory-per-guest", error.Message);

        await first.CloseAsync();
        await ctx.GemNewAsync(600 * 1024);
        // Another guest has its own quota.
        await using var other = await host.ConnectAsync();
        await (await other.OpenContextAsync()).GemNewAsync(600 * 1024);
    }

    [Fact]
    public async Task A_size_near_2_pow_64_is_refused_and_never_lets_another_context_past_the_limit()
    {
        var host = Host(new HostSettings { MemoryPerGuest = 1 << 20 });
        await using var client = await host.ConnectAsync();
        var wrapping = await client.OpenContextAsync();
        var honest = await client.OpenContextAsync();
        await honest.GemNewAsync((1 << 20) - 4096);

        // One context asks for 2^64 - 4096 bytes over and over while the other asks for 8 KiB: a
        // charge that wraps would let the 8 KiB through for an instant, past the limit.
        var huge = Task.Run(async () =>
        {
            for (int i = 0; i < 300; i++)
            {
                var e = await Assert.ThrowsAsync<DrmException>(() => wrapping.GemNewAsync(ulong.MaxValue - 4095));
                Assert.True(e.Errno is Errno.ENOSPC or Errno.E2BIG, e.Message);
            }
        });
        for (int i = 0; i < 300; i++)
        {
            var e = await Assert.ThrowsAsync<DrmException>(() => honest.GemNewAsync(8192));
            Assert.Equal(Errno.ENOSPC, e.Errno);
            Assert.Contains("limits.memory-per-guest", e.Message);
        }
        await huge;
        Assert.Equal((1 << 20) - 4096, host.GuestStatus(client.Name).Bytes);
    }

    [Fact]
    public async Task Handles_per_context_is_EMFILE()
    {
        var host = Host(new HostSettings { HandlesPerContext = 3 });
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        for (int i = 0; i < 3; i++) await ctx.GemNewAsync(4096);

        var error = await Assert.ThrowsAsync<DrmException>(() => ctx.GemNewAsync(4096));
        Assert.Equal(Errno.EMFILE, error.Errno);
        Assert.Contains("limits.handles-per-context", error.Message);
    }

    [Fact]
    public async Task Queued_pushbufs_per_guest_is_EAGAIN_until_a_fence_signals()
    {
        var host = Host(new HostSettings { QueuedPushbufsPerGuest = 3 });
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var target = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();
        for (int i = 0; i < 3; i++) await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 1));

        var error = await Assert.ThrowsAsync<DrmException>(() => ctx.SubmitAsync(channel, Commands.Fill(target, 2)));
        Assert.Equal(Errno.EAGAIN, error.Errno);
        Assert.Contains("limits.queued-pushbufs-per-guest", error.Message);

        await semaphore.WriteAsync(0, BitConverter.GetBytes(1u));
        await ctx.FenceWaitAsync(3).WaitAsync(HostHarness.Timeout);
        await ctx.SubmitAsync(channel, Commands.Fill(target, 2));
    }

    [Fact]
    public async Task Too_many_buffers_in_one_pushbuf_is_E2BIG()
    {
        var host = Host(new HostSettings { Protocol = new() { MaxPushbufBuffers = 2 } });
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var channel = await ctx.ChannelAllocAsync();
        var pushbuf = new PushbufBuilder();
        for (int i = 0; i < 3; i++) pushbuf.Use(await ctx.GemNewAsync(4096), BufferAccess.Read);

        var error = await Assert.ThrowsAsync<DrmException>(() => ctx.SubmitAsync(channel, pushbuf));
        Assert.Equal(Errno.E2BIG, error.Errno);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task At_the_in_flight_limit_the_host_stops_reading_instead_of_queueing(bool ring)
    {
        var host = Host(new HostSettings { InFlightPerGuest = 4 });
        await using var client = await host.ConnectAsync(ring: ring);
        var ctx = await client.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var target = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();
        var semaphoreMap = await semaphore.MapAsync();
        await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 1));

        // 50 CPU_PREPs that all wait: only 4 are taken in, the rest wait on the guest's side (its
        // socket, or its ring and, past the ring's 32 slots, the client's own queue).
        var preps = Enumerable.Range(0, 50).Select(_ => target.CpuPrepAsync()).ToList();
        AwaitAssert(() => Assert.Equal(4, host.GuestStatus(client.Name).InFlight), HostHarness.Timeout, HostHarness.Poll);
        Assert.All(preps, p => Assert.False(p.IsCompleted));

        // Release the semaphore through the mapping: no request needed, so nothing queues behind the preps.
        BitConverter.GetBytes(1u).CopyTo(semaphoreMap.Bytes(0, 4));
        await Task.WhenAll(preps).WaitAsync(HostHarness.Timeout);
        Assert.Equal(0, host.GuestStatus(client.Name).InFlight);
    }

    [Fact]
    public async Task Many_contexts_of_one_guest_taking_at_once_never_pass_a_limit_and_give_everything_back_on_close()
    {
        const int pages = 64, channels = 3;
        var host = Host(new HostSettings { MemoryPerGuest = pages * 4096, ChannelsPerGuest = channels });
        await using var client = await host.ConnectAsync();
        var contexts = new List<DrmContext>();
        for (int i = 0; i < 8; i++) contexts.Add(await client.OpenContextAsync());

        // Each context, on its own actor, takes a channel and then pages until refused: together
        // they get exactly the limits, never one page or channel more, and each refusal names its key.
        var taken = await Task.WhenAll(contexts.Select(ctx => Task.Run(async () =>
        {
            int channel = 0;
            try
            {
                await ctx.ChannelAllocAsync();
                channel = 1;
            }
            catch (DrmException e) when (e.Errno == Errno.EMFILE)
            {
                Assert.Contains("limits.channels-per-guest", e.Message);
            }
            for (int objects = 0; ; objects++)
            {
                try
                {
                    await ctx.GemNewAsync(4096);
                }
                catch (DrmException e) when (e.Errno == Errno.ENOSPC)
                {
                    Assert.Contains("limits.memory-per-guest", e.Message);
                    return (Channels: channel, Objects: objects);
                }
            }
        }))).WaitAsync(HostHarness.Timeout);
        Assert.Equal(channels, taken.Sum(t => t.Channels));
        Assert.Equal(pages, taken.Sum(t => t.Objects));
        var full = host.GuestStatus(client.Name);
        Assert.Equal((pages, pages * 4096L, channels), (full.Objects, full.Bytes, full.Channels));

        // Closing answers once the context's objects and channels are released.
        foreach (var ctx in contexts) await ctx.DisposeAsync();
        var after = host.GuestStatus(client.Name);
        Assert.Equal((0, 0L, 0L, 0, 0), (after.Objects, after.Bytes, after.MappedBytes, after.Channels, after.QueuedPushbufs));
        AwaitCondition(() => host.GuestStatus(client.Name).Contexts == 0, HostHarness.Timeout, HostHarness.Poll);
    }
}
