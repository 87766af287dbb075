using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Akka.TestKit.Xunit2;
using PvDrm.Client;
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
        var host = new HostHarness(this, gpu: new SoftGpuOptions { Engines = 1, SemaphoreTimeout = HostHarness.Timeout });
        await using var flooder = await host.ConnectAsync("flooder");
        await using var worker = await host.ConnectAsync("worker");
        await using var plug = await host.ConnectAsync("plug");
        var flood = await flooder.OpenContextAsync();
        var work = await worker.OpenContextAsync();
        var order = new ConcurrentQueue<string>();

        // A third guest holds the engine (a semaphore wait) until both have queued everything, so
        // only the engine's sharing decides the order, not how fast each side submits.
        var held = await plug.OpenContextAsync();
        var semaphore = await held.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        await held.SubmitAsync(await held.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, await held.GemNewAsync(4096), 7));
        AwaitCondition(() => host.Device.GetStats().Running == 1, HostHarness.Timeout, HostHarness.Poll);

        // Pushbufs of several milliseconds each, so the few that replies can lag behind the
        // engine on a loaded machine do not blur the order.
        var a = await flood.GemNewAsync(512 * 512 * 4);
        var c = await flood.GemNewAsync(512 * 512 * 4);
        var channels = new List<GemChannel>();
        for (int i = 0; i < 8; i++) channels.Add(await flood.ChannelAllocAsync());
        var floodDone = new List<Task>();
        for (int i = 0; i < 40; i++)
        {
            var p = new PushbufBuilder();
            uint ia = p.Use(a, BufferAccess.Read), ic = p.Use(c, BufferAccess.Write);
            p.Commands.Gemm(512, 512, 512, 1, 0, ia, 0, ia, 0, ic, 0);
            ulong fence = await flood.SubmitAsync(channels[i % channels.Count], p);
            floodDone.Add(flood.FenceWaitAsync(fence).ContinueWith(_ => order.Enqueue("flood"), TaskContinuationOptions.ExecuteSynchronously));
        }
        var gem = await work.GemNewAsync(2 << 20);
        var channel = await work.ChannelAllocAsync();
        var workDone = new List<Task>();
        for (int i = 0; i < 5; i++)
        {
            var p = new PushbufBuilder();
            uint ig = p.Use(gem, BufferAccess.ReadWrite);
            p.Commands.Gemm(512, 512, 256, 1, 0, ig, 0, ig, 0, ig, 1 << 20); // A and B at 0, C at 1 MiB
            ulong fence = await work.SubmitAsync(channel, p);
            workDone.Add(work.FenceWaitAsync(fence).ContinueWith(_ => order.Enqueue("work"), TaskContinuationOptions.ExecuteSynchronously));
        }
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(release.Bytes(0, 4))[0], 1u);
        await Task.WhenAll(workDone.Concat(floodDone)).WaitAsync(HostHarness.Timeout);

        // Between the worker's first and last pushbuf: shared by channel, the flooder gets 8
        // turns per worker turn (about 32 of its pushbufs); shared by guest time, one or two
        // (here they alternate).
        var seen = order.ToList();
        int first = seen.IndexOf("work"), last = seen.LastIndexOf("work");
        int floodBetween = seen.Skip(first).Take(last - first).Count(x => x == "flood");
        Assert.True(seen.Skip(last).Contains("flood"), $"the flood should still be running when the worker's work is done: {string.Join(",", seen)}");
        Assert.True(floodBetween < 16, $"{floodBetween} flood pushbufs finished between the worker's first and last: {string.Join(",", seen)}");
    }

    [Fact]
    public async Task A_guest_flooding_requests_does_not_hold_up_another_guests_requests()
    {
        var host = new HostHarness(this);
        await using var flooder = await host.ConnectAsync("flooder");
        await using var worker = await host.ConnectAsync("worker");

        // The flooder keeps 32768 requests outstanding, far past the host's in-flight limit (256),
        // so tens of thousands always wait in its socket. A host that served guests by arrival
        // would make each of the worker's requests wait behind that backlog; sharing by guest, it
        // waits for a few in-flight windows of the flooder's (about 900 requests here, most of
        // them while the worker's own client is busy with the flood's replies).
        using var stop = new CancellationTokenSource();
        long served = 0;
        async Task FloodAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                await flooder.GetParamAsync(DeviceParam.GraphUnits);
                Interlocked.Increment(ref served);
            }
        }
        var flood = Enumerable.Range(0, 32768).Select(_ => FloodAsync()).ToList();
        while (Interlocked.Read(ref served) < 10_000) await Task.Delay(HostHarness.Poll);

        const int roundTrips = 20;
        long before = Interlocked.Read(ref served);
        for (int i = 0; i < roundTrips; i++) await worker.GetParamAsync(DeviceParam.GraphUnits).WaitAsync(HostHarness.Timeout);
        long during = Interlocked.Read(ref served) - before;
        stop.Cancel();
        await Task.WhenAll(flood).WaitAsync(HostHarness.Timeout);

        Assert.True(during > 0, "the flood should be served while the worker's round trips run");
        Assert.True(during < roundTrips * 4096, $"{during} flood requests were served during the worker's {roundTrips} round trips");
    }
}
