using System.Collections.Concurrent;
using Akka.TestKit.Xunit2;
using PvDrm.Guest.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// One guest floods, another works: the second is served while the first still has most of its
/// flood waiting. Observed through the order work completes, not through the clock.
/// </summary>
public class FairnessTests : TestKit
{
    [Fact]
    public async Task A_guest_flooding_the_gpu_from_many_channels_does_not_starve_another()
    {
        // One engine, so every pushbuf competes for it.
        var host = new HostHarness(this, gpu: new SoftGpuOptions { Engines = 1 });
        await using var flooder = await host.ConnectAsync("flooder");
        await using var worker = await host.ConnectAsync("worker");
        var flood = await flooder.OpenContextAsync();
        var work = await worker.OpenContextAsync();
        var order = new ConcurrentQueue<string>();

        var a = await flood.GemNewAsync(256 * 256 * 4);
        var c = await flood.GemNewAsync(256 * 256 * 4);
        var channels = new List<GemChannel>();
        for (int i = 0; i < 8; i++) channels.Add(await flood.ChannelAllocAsync());
        var floodDone = new List<Task>();
        for (int i = 0; i < 60; i++)
        {
            var p = new PushbufBuilder();
            uint ia = p.Use(a, BufferAccess.Read), ic = p.Use(c, BufferAccess.Write);
            p.Commands.Gemm(256, 256, 256, 1, 0, ia, 0, ia, 0, ic, 0);
            ulong fence = await flood.SubmitAsync(channels[i % channels.Count], p);
            floodDone.Add(flood.FenceWaitAsync(fence).ContinueWith(_ => order.Enqueue("flood")));
        }

        var gem = await work.GemNewAsync(1 << 20);
        var channel = await work.ChannelAllocAsync();
        for (int i = 0; i < 5; i++)
        {
            var p = new PushbufBuilder();
            uint ig = p.Use(gem, BufferAccess.ReadWrite);
            p.Commands.Gemm(256, 256, 128, 1, 0, ig, 0, ig, 0, ig, 512 * 1024); // A and B at 0, C at 512 KiB
            await work.FenceWaitAsync(await work.SubmitAsync(channel, p)).WaitAsync(HostHarness.Timeout);
            order.Enqueue("work");
        }
        await Task.WhenAll(floodDone).WaitAsync(HostHarness.Timeout);

        // Shared by channel the flooder would get 8 turns per worker turn (40 flood pushbufs
        // before the worker's 5th); shared by guest time it gets about one.
        var seen = order.ToList();
        int floodBeforeWorkDone = seen.Take(seen.LastIndexOf("work")).Count(x => x == "flood");
        Assert.True(floodBeforeWorkDone < 30, $"{floodBeforeWorkDone} flood pushbufs finished before the worker's 5th: {string.Join(",", seen)}");
    }

    [Fact]
    public async Task A_guest_flooding_requests_does_not_hold_up_another_guests_requests()
    {
        var host = new HostHarness(this);
        await using var flooder = await host.ConnectAsync("flooder");
        await using var worker = await host.ConnectAsync("worker");
        var flood = Enumerable.Range(0, 20_000).Select(_ => flooder.GetParamAsync(DeviceParam.GraphUnits)).ToList();

        for (int i = 0; i < 20; i++) await worker.GetParamAsync(DeviceParam.GraphUnits).WaitAsync(HostHarness.Timeout);
        int floodCompleted = flood.Count(t => t.IsCompleted);

        await Task.WhenAll(flood).WaitAsync(HostHarness.Timeout);
        Assert.True(floodCompleted < flood.Count, "the worker's 20 round trips should finish while the flood is still being served");
    }
}
