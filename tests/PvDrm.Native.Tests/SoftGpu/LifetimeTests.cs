using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Buffer references across submissions, cancellation on close and shutdown, and stats that return to zero.</summary>
public class LifetimeTests
{
    [Fact]
    public async Task A_buffer_released_while_a_pushbuf_uses_it_lives_until_the_fence()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        w.Fill(1, 0, 4096, 5);
        var fence = gpu.CreateChannel().Submit(Soft.Inline(w, (gate, BufferAccess.Read), (target, BufferAccess.Write)));

        target.Release(); // the guest closed its handle
        Assert.Equal(2, gpu.GetStats().LiveBuffers);
        Soft.WriteU32(gate, 0, 1);
        await Soft.Done(fence);

        Assert.Equal(1, gpu.GetStats().LiveBuffers); // freed before the fence signalled
        Assert.Throws<ObjectDisposedException>(target.AddRef);
        gate.Release();
        Assert.Equal(new DeviceStats(0, 0, 1, 1, 1, 0, 1), gpu.GetStats());
    }

    [Fact]
    public async Task Closing_a_channel_cancels_its_queued_and_running_work()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var channel = gpu.CreateChannel();
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        var running = channel.Submit(Soft.Inline(w, (gate, BufferAccess.Read)));
        var queued = channel.Submit(Soft.Inline(w, (gate, BufferAccess.Read)));

        channel.Dispose();

        await Soft.Signaled(running);
        await Soft.Signaled(queued);
        Assert.Equal((Errno.ECANCELED, "channel closed before the pushbuf ran"), (queued.Error, queued.Message));
        Assert.Equal(Errno.ECANCELED, running.Error); // stopped at its semaphore, or before it started
        Assert.StartsWith("channel closed", running.Message);
        var refused = Assert.Throws<ErrnoException>(() => channel.Submit(Soft.Inline(w, (gate, BufferAccess.Read))));
        Assert.Equal(Errno.ENODEV, refused.Errno);
        gate.Release();
        Assert.Equal(new DeviceStats(0, 0, 0, 2, 2, 0, gpu.GetStats().PeakRunning), gpu.GetStats());
    }

    [Fact]
    public async Task Disposing_the_device_cancels_all_work_and_refuses_more()
    {
        var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var (first, second) = (gpu.CreateChannel(), gpu.CreateChannel());
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        var running = first.Submit(Soft.Inline(w, (gate, BufferAccess.Read)));
        var queued = second.Submit(Soft.Inline(w, (gate, BufferAccess.Read)));

        gpu.Dispose(); // joins the engine: the running pushbuf must stop, not wait out its semaphore

        await Soft.Signaled(running);
        await Soft.Signaled(queued);
        Assert.Equal(Errno.ECANCELED, running.Error);
        Assert.Equal((Errno.ECANCELED, "SoftGpu test shut down before the pushbuf ran"), (queued.Error, queued.Message));
        Assert.Equal(Errno.ENODEV, Assert.Throws<ErrnoException>(() => first.Submit(Soft.Inline(w, (gate, BufferAccess.Read)))).Errno);
        Assert.Equal(Errno.ENODEV, Assert.Throws<ErrnoException>(() => gpu.CreateChannel()).Errno);
        // Buffers and channels stay their holders' to release, and still work for the CPU.
        Soft.WriteU32(gate, 0, 7);
        Assert.Equal(7u, Soft.ReadU32(gate, 0));
        first.Dispose();
        second.Dispose();
        gate.Release();
        var stats = gpu.GetStats();
        Assert.Equal(new DeviceStats(0, 0, 0, 2, 2, 0, stats.PeakRunning), stats);
        Assert.InRange(stats.PeakRunning, 0, 1); // the engine may not have started the first pushbuf yet
    }

    [Fact]
    public async Task Stats_return_to_zero_once_everything_is_released()
    {
        using var gpu = Soft.Device(engines: 2);
        var buffers = Enumerable.Range(0, 4).Select(_ => gpu.CreateBuffer(10_000, GemDomain.Vram, 0)).ToArray();
        Assert.Equal(new DeviceStats(4, 4 * 12288, 0, 0, 0, 0, 0), gpu.GetStats());
        var channels = Enumerable.Range(0, 3).Select(_ => gpu.CreateChannel()).ToArray();
        var fences = new List<GpuFence>();
        foreach (var channel in channels)
            for (int i = 0; i < 5; i++)
            {
                var w = new SoftCommandWriter();
                w.Copy(0, 0, (uint)(1 + i % 3), 0, 12288);
                fences.Add(channel.Submit(Soft.Inline(w, buffers.Select(b => (b, BufferAccess.ReadWrite)).ToArray())));
            }
        foreach (var buffer in buffers) buffer.Release();
        foreach (var fence in fences) await Soft.Done(fence);
        foreach (var channel in channels) channel.Dispose();

        var stats = gpu.GetStats();
        Assert.Equal(new DeviceStats(0, 0, 0, 15, 15, 0, stats.PeakRunning), stats);
        Assert.InRange(stats.PeakRunning, 1, 2);
    }

    [Fact]
    public void Device_memory_is_a_hard_limit_with_a_clear_message()
    {
        using var gpu = Soft.Device(memory: 1 << 20);
        var kept = gpu.CreateBuffer(900 * 1024, GemDomain.Vram, 0);

        var error = Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(200 * 1024, GemDomain.Vram, 0));

        Assert.Equal(Errno.ENOMEM, error.Errno);
        Assert.Equal("SoftGpu test is out of memory: 204800 more bytes would exceed its 1048576 bytes (921600 in use; soft-gpu.memory)", error.Message);
        kept.Release();
        gpu.CreateBuffer(200 * 1024, GemDomain.Vram, 0).Release();
        Assert.Equal(0, gpu.GetStats().LiveBytes);
    }

    [Fact]
    public void A_buffer_is_freed_by_its_last_release_and_cannot_be_revived()
    {
        using var gpu = Soft.Device();
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        buffer.AddRef();

        buffer.Release();
        Assert.Equal(1, gpu.GetStats().LiveBuffers);
        Assert.False(buffer.Fd.IsClosed);
        buffer.Release();

        Assert.Equal(0, gpu.GetStats().LiveBuffers);
        Assert.True(buffer.Fd.IsClosed);
        Assert.Throws<ObjectDisposedException>(buffer.AddRef);
    }
}
