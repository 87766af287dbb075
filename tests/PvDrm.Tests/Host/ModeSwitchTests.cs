using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Gpu;
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

    /// <summary>
    /// A guest's ordered work: each write must be seen by the read after it, each fill by the wait
    /// after it. Each finished iteration releases <paramref name="progress"/> once.
    /// </summary>
    private static async Task<int> OrderedWork(HostHarness host, string name, int iterations, SemaphoreSlim progress)
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
            progress.Release();
        }
        return iterations;
    }

    [Fact]
    public async Task Switching_modes_under_load_keeps_each_guests_order_and_loses_nothing()
    {
        const int Workers = 3, Iterations = 150, Between = 15;
        var host = new HostHarness(this);
        var progress = new SemaphoreSlim(0);
        var work = Enumerable.Range(1, Workers).Select(i => OrderedWork(host, $"worker-{i}", Iterations, progress)).ToList();
        var all = Task.WhenAll(work);
        // A switch after every few iterations, paced by the guests' own progress, while they run.
        int flips = 0;
        for (int done = 0; done + Between <= Workers * Iterations && !all.IsFaulted; done += Between)
        {
            for (int i = 0; i < Between; i++) Assert.True(await progress.WaitAsync(HostHarness.Timeout), "the guests made no progress");
            await Set(host, on: flips++ % 2 == 0);
        }
        Assert.Equal(new[] { Iterations, Iterations, Iterations }, await all.WaitAsync(HostHarness.Timeout));
    }

    [Fact]
    public async Task A_switch_takes_effect_for_the_requests_after_it()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();

        await Set(host, on: true);
        Assert.Equal("sequential", host.Status().Mode);
        await this.ReleaseWaitsWhileAcquireHolds(host, ctx);

        await Set(host, on: false);
        Assert.Equal("concurrent", host.Status().Mode);
        await GateScenarios.Rendezvous(ctx); // completes only when two channels run at once
    }
}
