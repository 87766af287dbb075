using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Host;

/// <summary>`pvdrm-host set sequential on|off` while guests work: nothing lost, nothing reordered within a guest.</summary>
public class ModeSwitchTests : TestKit
{
    private static async Task Set(HostHarness host, bool on)
    {
        var response = await host.Registry.Ask<ControlProtocol.Response>(
            new ControlProtocol.Request("set", Key: "sequential", Value: on ? "on" : "off"), HostHarness.Timeout);
        Assert.True(response.Ok, response.Message);
    }

    /// <summary>A guest's ordered work: each write must be seen by the read after it, each fill by the wait after it.</summary>
    private static async Task<int> OrderedWork(HostHarness host, string name, int iterations)
    {
        await using var client = await host.ConnectAsync(name);
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(8192);
        var channel = await ctx.ChannelAllocAsync();
        var back = new byte[4];
        for (uint i = 1; i <= (uint)iterations; i++)
        {
            client.Post(new GemWrite(gem.Handle, 0, BitConverter.GetBytes(i)) { Context = ctx.Id }); // no reply: order is all that makes the read right
            var fill = new PushbufBuilder();
            fill.Commands.Fill(fill.Use(gem, BufferAccess.Write), 4096, 4096, i);
            ulong fence = await ctx.SubmitAsync(channel, fill);
            await gem.ReadAsync(0, back);
            Assert.Equal(i, BitConverter.ToUInt32(back));
            await ctx.FenceWaitAsync(fence);
            await gem.ReadAsync(4096, back);
            Assert.Equal(i, BitConverter.ToUInt32(back));
        }
        return iterations;
    }

    [Fact]
    public async Task Switching_modes_under_load_loses_and_reorders_nothing_and_takes_effect()
    {
        var host = new HostHarness(this, gpu: new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMilliseconds(300) });
        var work = Enumerable.Range(1, 3).Select(i => OrderedWork(host, $"worker-{i}", 150)).ToList();
        for (int flip = 0; flip < 10 && !work.All(w => w.IsCompleted); flip++)
        {
            await Set(host, on: flip % 2 == 0);
            await Task.Delay(15);
        }
        Assert.Equal(new[] { 150, 150, 150 }, await Task.WhenAll(work).WaitAsync(HostHarness.Timeout));

        // The switch takes effect: two channels meet at a rendezvous only when concurrent.
        await Set(host, on: true);
        Assert.Equal("sequential", host.Status().Mode);
        Assert.Equal(Errno.ETIMEDOUT, await Rendezvous(host, "seq"));
        await Set(host, on: false);
        Assert.Equal(0, await Rendezvous(host, "conc"));
    }

    /// <summary>Returns the first channel's fence outcome (0, or ETIMEDOUT when the two never ran together).</summary>
    private static async Task<int> Rendezvous(HostHarness host, string name)
    {
        await using var client = await host.ConnectAsync(name);
        var ctx = await client.OpenContextAsync();
        var semaphores = await ctx.GemNewAsync(4096);
        var (first, second) = (await ctx.ChannelAllocAsync(), await ctx.ChannelAllocAsync());
        var one = new PushbufBuilder();
        uint s = one.Use(semaphores, BufferAccess.ReadWrite);
        one.Commands.SemaphoreRelease(s, 0, 1);
        one.Commands.SemaphoreAcquire(s, 4, 1);
        var two = new PushbufBuilder();
        s = two.Use(semaphores, BufferAccess.ReadWrite);
        two.Commands.SemaphoreAcquire(s, 0, 1);
        two.Commands.SemaphoreRelease(s, 4, 1);
        ulong fence = await ctx.SubmitAsync(first, one);
        await ctx.SubmitAsync(second, two);
        try
        {
            await ctx.FenceWaitAsync(fence);
            return 0;
        }
        catch (DrmException e)
        {
            return e.Errno;
        }
    }
}
