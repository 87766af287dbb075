using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Guest.Client;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>
/// Overlap is observed through the device, not the clock: two pushbufs on two channels meet at a
/// rendezvous. The first releases semaphore 1 and then waits for semaphore 2; the second waits
/// for semaphore 1 and then releases semaphore 2. Both can succeed only if they run at once.
/// </summary>
public class SequentialGateSpec : TestKit
{
    private static async Task<DrmContext> Rendezvous(HostHarness host)
    {
        var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphores = await ctx.GemNewAsync(4096);
        var first = await ctx.ChannelAllocAsync();
        var second = await ctx.ChannelAllocAsync();

        var one = new PushbufBuilder();
        uint s = one.Use(semaphores, BufferAccess.ReadWrite);
        one.Commands.SemaphoreRelease(s, 0, 1);
        one.Commands.SemaphoreAcquire(s, 4, 1);
        var two = new PushbufBuilder();
        s = two.Use(semaphores, BufferAccess.ReadWrite);
        two.Commands.SemaphoreAcquire(s, 0, 1);
        two.Commands.SemaphoreRelease(s, 4, 1);

        await Task.WhenAll(ctx.SubmitAsync(first, one), ctx.SubmitAsync(second, two)).WaitAsync(HostHarness.Timeout);
        return ctx;
    }

    [Fact]
    public async Task Two_channels_run_at_the_same_time_in_concurrent_mode()
    {
        var host = new HostHarness(this);
        var ctx = await Rendezvous(host);

        await ctx.FenceWaitAsync(1).WaitAsync(HostHarness.Timeout);
        await ctx.FenceWaitAsync(2).WaitAsync(HostHarness.Timeout);
        Assert.Equal(2, host.Device.GetStats().PeakRunning);
    }

    [Fact]
    public async Task Nothing_overlaps_with_sequential_on()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, Sequential = true },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMilliseconds(300) });
        var ctx = await Rendezvous(host);

        // The first pushbuf held the gate until its wait gave up; only then did the second run.
        var failed = await Assert.ThrowsAsync<DrmException>(() => ctx.FenceWaitAsync(1));
        Assert.Equal(Errno.ETIMEDOUT, failed.Errno);
        await ctx.FenceWaitAsync(2).WaitAsync(HostHarness.Timeout);
        Assert.Equal(1, host.Device.GetStats().PeakRunning);
    }
}
