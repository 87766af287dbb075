using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// Queued work costs the host what its command words weigh, never an object per command, and
/// that weight is budgeted per owner and per device before anything is queued.
/// </summary>
public class QueuedCommandTests
{
    private static byte[] Nops(int bytes) =>
        Enumerable.Repeat(SoftOpcodes.Header(SoftOpcode.Nop), bytes / 4).SelectMany(BitConverter.GetBytes).ToArray();

    private static Pushbuf Hold(IGpuBuffer semaphore)
    {
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        return Soft.Inline(w, (semaphore, BufferAccess.Read));
    }

    [Fact]
    public async Task A_megabyte_of_nops_costs_the_host_about_a_megabyte()
    {
        using var gpu = Soft.Device(engines: 1);
        var channel = gpu.CreateChannel("guest");
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var held = channel.Submit(Hold(semaphore));
        var pushbuf = Soft.Inline(Nops(1 << 20));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var fence = channel.Submit(pushbuf);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The private copy of the words and a few small objects; decoded per command, 27 MB.
        Assert.True(allocated < (1 << 20) + (64 << 10), $"{allocated} bytes allocated to queue 1 MiB of commands");
        Soft.WriteU32(semaphore, 0, 1);
        await Soft.Done(held);
        await Soft.Done(fence);
        Assert.Equal(0, gpu.CommandBudget.Bytes);
    }

    [Fact]
    public async Task Queued_commands_are_refused_past_the_owners_and_the_devices_budget()
    {
        using var gpu = new Gpu.Soft.SoftGpu("test", new SoftGpuOptions
        {
            Engines = 1,
            SemaphoreTimeout = Soft.Timeout,
            MaxQueuedCommandBytesPerOwner = 4 << 20,
            MaxQueuedCommandBytes = 6 << 20,
        });
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var first = gpu.CreateChannel("first");
        var held = first.Submit(Hold(semaphore)); // holds the engine: everything after it stays queued
        var megabyte = Soft.Inline(Nops(1 << 20));
        var fences = new List<GpuFence> { held };
        for (int i = 0; i < 3; i++) fences.Add(first.Submit(megabyte));

        var full = Assert.Throws<ErrnoException>(() => first.Submit(megabyte));
        Assert.Equal(Errno.EAGAIN, full.Errno);
        Assert.Contains("soft-gpu.max-queued-commands-per-guest (4194304 bytes)", full.Message);

        var second = gpu.CreateChannel("second");
        fences.Add(second.Submit(Hold(semaphore))); // a parked hold: its own queue waits too
        fences.Add(second.Submit(megabyte));
        fences.Add(second.Submit(megabyte));
        var device = Assert.Throws<ErrnoException>(() => second.Submit(megabyte));
        Assert.Equal(Errno.EAGAIN, device.Errno);
        Assert.Contains("soft-gpu.max-queued-commands (6291456 bytes)", device.Message);

        Soft.WriteU32(semaphore, 0, 1);
        foreach (var f in fences) await Soft.Done(f);
        Assert.Equal(0, gpu.CommandBudget.Bytes);
        await Soft.Done(first.Submit(megabyte)); // the budget came back
    }
}
