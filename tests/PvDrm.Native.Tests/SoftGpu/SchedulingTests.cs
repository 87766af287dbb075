using System.Collections.Concurrent;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// Order within a channel, overlap and fairness between channels, semaphores. Overlap and order
/// are observed through the device (semaphores, PeakRunning, completion order), never timing.
/// </summary>
public class SchedulingTests
{
    [Fact]
    public async Task Fences_of_one_channel_signal_in_submission_order()
    {
        using var gpu = Soft.Device(engines: 2);
        var buffer = gpu.CreateBuffer(1 << 20, GemDomain.Vram, 0);
        var channel = gpu.CreateChannel();
        var order = new ConcurrentQueue<ulong>();
        var fences = new List<GpuFence>();
        for (int i = 0; i < 50; i++)
        {
            var w = new SoftCommandWriter();
            w.Fill(0, 0, (ulong)(i % 2 == 0 ? 1 << 20 : 4), (uint)i); // uneven work
            var fence = channel.Submit(Soft.Inline(w, (buffer, BufferAccess.Write)));
            fence.OnSignaled(f => order.Enqueue(f.Seqno));
            fences.Add(fence);
        }
        foreach (var f in fences) await Soft.Done(f);

        Assert.Equal(Enumerable.Range(1, 50).Select(i => (ulong)i), order);
        Assert.Equal(49u, Soft.ReadU32(buffer, 0)); // the last FILL ran last
    }

    /// <summary>Engine time is accounted to the owner whose pushbuf ran, and the device's busy time is every owner's together.</summary>
    [Fact]
    public async Task Engine_time_is_charged_to_the_owner_that_used_it()
    {
        using var gpu = Soft.Device(engines: 2);
        var buffer = gpu.CreateBuffer(8 << 20, GemDomain.Vram, 0);
        var worker = gpu.CreateChannel("worker");
        var idle = gpu.CreateChannel("idle");
        var w = new SoftCommandWriter();
        for (int i = 0; i < 8; i++) w.Fill(0, 0, 8 << 20, (uint)i);
        await Soft.Done(worker.Submit(Soft.Inline(w, (buffer, BufferAccess.Write))));

        var use = gpu.GetEngineUse();
        Assert.Equal(2, use.Engines);
        Assert.True(use.SecondsByOwner["worker"] > 0, $"{use.SecondsByOwner["worker"]}");
        Assert.Equal(0, use.SecondsByOwner["idle"]);
        Assert.Equal(use.BusySeconds, use.SecondsByOwner.Values.Sum(), 9);
        idle.Dispose();
        worker.Dispose();
        Assert.Empty(gpu.GetEngineUse().SecondsByOwner); // owners leave with their last channel
        Assert.Equal(use.BusySeconds, gpu.GetEngineUse().BusySeconds); // the device's total stays
    }

    [Fact]
    public async Task Two_channels_run_at_once_on_two_engines()
    {
        using var gpu = Soft.Device(engines: 2);
        var (a, b) = Handshake(gpu);

        await Soft.Done(a);
        await Soft.Done(b);
        Assert.Equal(2, gpu.GetStats().PeakRunning);
    }

    [Fact]
    public async Task With_one_engine_the_same_handshake_completes_because_the_waiting_acquire_parks()
    {
        using var gpu = new Gpu.Soft.SoftGpu("test", new SoftGpuOptions { Engines = 1, SemaphoreTimeout = Soft.Timeout, TimeSlice = TimeSpan.FromMilliseconds(1) });
        var (a, b) = Handshake(gpu);

        // A waits for B on the only engine; B waits for the engine: A parks and B runs.
        await Soft.Done(a);
        await Soft.Done(b);
        Assert.Equal(1, gpu.GetStats().PeakRunning);
    }

    [Fact]
    public async Task A_timed_out_acquire_skips_the_rest_of_its_pushbuf_and_the_channel_goes_on()
    {
        using var gpu = Soft.Device(engines: 1, semaphoreTimeout: TimeSpan.FromMilliseconds(100));
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var channel = gpu.CreateChannel();
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        w.Fill(0, 4, 4, 5);
        var timedOut = channel.Submit(Soft.Inline(w, (semaphore, BufferAccess.ReadWrite)));
        w.Reset();
        w.Fill(0, 8, 4, 6);
        var next = channel.Submit(Soft.Inline(w, (semaphore, BufferAccess.ReadWrite)));

        await Soft.Signaled(timedOut);
        await Soft.Done(next);

        Assert.Equal(Errno.ETIMEDOUT, timedOut.Error);
        Assert.Equal(0u, Soft.ReadU32(semaphore, 4)); // skipped
        Assert.Equal(6u, Soft.ReadU32(semaphore, 8));
    }

    [Fact]
    public async Task Channels_take_turns_so_a_long_queue_cannot_starve_another_channel()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var (busy, polite) = (gpu.CreateChannel(), gpu.CreateChannel());
        var order = new ConcurrentQueue<string>();
        // Hold the only engine until everything is queued.
        var hold = new SoftCommandWriter();
        hold.SemaphoreAcquire(0, 0, 1);
        busy.Submit(Soft.Inline(hold, (gate, BufferAccess.Read))).OnSignaled(_ => order.Enqueue("hold"));
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4, 1);
        var last = default(GpuFence);
        for (int i = 0; i < 1000; i++)
        {
            last = busy.Submit(Soft.Inline(w, (buffer, BufferAccess.Write)));
            last.OnSignaled(_ => order.Enqueue("busy"));
        }
        var politeFence = polite.Submit(Soft.Inline(w, (buffer, BufferAccess.Write)));
        politeFence.OnSignaled(_ => order.Enqueue("polite"));

        Soft.WriteU32(gate, 0, 1);
        await Soft.Done(last!);
        await Soft.Done(politeFence);

        // After the held pushbuf, the busy channel runs one more at most before the polite one gets its turn.
        var seen = order.ToList();
        Assert.True(seen.IndexOf("polite") <= 2, string.Join(",", seen.Take(5)));
        Assert.Equal("busy", seen[^1]);
    }

    [Fact]
    public async Task An_engine_survives_a_fence_callback_that_throws()
    {
        using var gpu = Soft.Device(engines: 1);
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var channel = gpu.CreateChannel();
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4, 1);
        var gate = new SoftCommandWriter();
        gate.SemaphoreAcquire(0, 64, 1);
        var first = channel.Submit(Soft.Inline(gate, (buffer, BufferAccess.Write)));
        first.OnSignaled(_ => throw new InvalidOperationException("a careless waiter"));
        var second = channel.Submit(Soft.Inline(w, (buffer, BufferAccess.Write)));

        Soft.WriteU32(buffer, 64, 1);
        await Soft.Done(second);

        Assert.Equal(0, first.Error);
        Assert.Equal(new DeviceStats(1, 4096, 1, 2, 2, 0, 1), gpu.GetStats());
    }

    [Fact]
    public async Task An_owner_whose_channel_closed_with_work_queued_leaves_nothing_in_the_scheduler()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var holder = gpu.CreateChannel("holder");
        var hold = new SoftCommandWriter();
        hold.SemaphoreAcquire(0, 0, 1);
        var held = holder.Submit(Soft.Inline(hold, (gate, BufferAccess.Read)));
        var guest = gpu.CreateChannel("guest-1");
        var nop = new SoftCommandWriter();
        nop.Nop();
        var dropped = guest.Submit(Soft.Inline(nop));
        guest.Dispose(); // its channel is still in the run queue

        Soft.WriteU32(gate, 0, 1);
        await Soft.Done(held);
        // The guest has used no engine time, so the engine visits its queued channel first.
        await Soft.Done(holder.Submit(Soft.Inline(nop)));

        Assert.Equal(Errno.ECANCELED, dropped.Error);
        Assert.Equal(1, gpu.Engines.Owners);
        holder.Dispose();
        Assert.Equal(0, gpu.Engines.Owners);
    }

    /// <summary>A releases s0 then waits for s1; B waits for s0 then releases s1: both finish only if they overlap.</summary>
    private static (GpuFence A, GpuFence B) Handshake(Gpu.Soft.SoftGpu gpu)
    {
        var semaphores = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var (one, two) = (new SoftCommandWriter(), new SoftCommandWriter());
        one.SemaphoreRelease(0, 0, 1);
        one.SemaphoreAcquire(0, 4, 1);
        two.SemaphoreAcquire(0, 0, 1);
        two.SemaphoreRelease(0, 4, 1);
        var a = gpu.CreateChannel().Submit(Soft.Inline(one, (semaphores, BufferAccess.ReadWrite)));
        var b = gpu.CreateChannel().Submit(Soft.Inline(two, (semaphores, BufferAccess.ReadWrite)));
        semaphores.Release(); // the pushbufs hold their own references
        return (a, b);
    }
}
