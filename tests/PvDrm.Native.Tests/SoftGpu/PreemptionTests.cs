using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// Engine time is shared by preemption: long commands yield between blocks, a waiting
/// SEMAPHORE_ACQUIRE parks its channel off the engines, and one owner never keeps every engine
/// from another that waits. Observed through fences and device state, never the clock.
/// </summary>
public class PreemptionTests
{
    private static Gpu.Soft.SoftGpu Device(int engines, TimeSpan? semaphoreTimeout = null) =>
        new("test", new SoftGpuOptions
        {
            Engines = engines,
            SemaphoreTimeout = semaphoreTimeout ?? TimeSpan.FromMinutes(10),
            TimeSlice = TimeSpan.FromMilliseconds(1),
        });

    /// <summary>Polls device state (not a deadline on the work): bounded only to end a hang.</summary>
    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Soft.Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the device never reached the expected state");
            await Task.Delay(1);
        }
    }

    private static Pushbuf Gemm(IGpuBuffer matrices, uint n, ulong matrix)
    {
        var w = new SoftCommandWriter();
        w.Gemm(n, n, n, 1, 0, 0, 0, 0, matrix, 0, 2 * matrix);
        return Soft.Inline(w, (matrices, BufferAccess.ReadWrite));
    }

    private static Pushbuf Fill(IGpuBuffer target, uint value)
    {
        var w = new SoftCommandWriter();
        w.Fill(0, 0, target.Size, value);
        return Soft.Inline(w, (target, BufferAccess.Write));
    }

    [Fact]
    public async Task One_long_gemm_yields_between_blocks_to_another_owners_pushbuf()
    {
        using var gpu = Device(engines: 1);
        const uint n = 4096; // 137 GFLOP in one command: some 2700 blocks
        const ulong matrix = (ulong)n * n * 4;
        var matrices = gpu.CreateBuffer(3 * matrix, GemDomain.Vram, 0);
        var big = gpu.CreateChannel("attacker");
        var gemm = big.Submit(Gemm(matrices, n, matrix));
        await Until(() => gpu.GetStats().Running == 1);

        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var small = gpu.CreateChannel("bystander").Submit(Fill(target, 9));
        await Soft.Done(small);

        Assert.False(gemm.IsSignaled, "the GEMM finished before the bystander's pushbuf: it was not preempted");
        Assert.True(gpu.Engines.Yields > 0);
        Assert.Equal(9u, Soft.ReadU32(target, 4092));
        big.Dispose(); // stops the GEMM at its next block
        await Soft.Signaled(gemm);
        Assert.Equal(Errno.ECANCELED, gemm.Error);
        Assert.StartsWith("channel closed while command 0 (GEMM) ran", gemm.Message);
    }

    [Fact]
    public async Task A_gemm_preempted_between_blocks_computes_the_same_result()
    {
        using var gpu = Device(engines: 1);
        const uint m = 600, n = 1100, k = 900; // 7 x 4 x 2 blocks (1.2 GFLOP), edges in every dimension
        var a = Soft.Random((int)(m * k), 1);
        var b = Soft.Random((int)(k * n), 2);
        var matrices = gpu.CreateBuffer((m * k + k * n + 2 * m * n) * 4, GemDomain.Vram, 0);
        Soft.Write(matrices, a);
        Soft.Write(matrices, b, m * k * 4);
        ulong c1 = (m * k + k * n) * 4, c2 = c1 + m * n * 4;
        var w = new SoftCommandWriter();
        w.Gemm(m, n, k, 1.5f, 0, 0, 0, 0, m * k * 4, 0, c1);
        var alone = gpu.CreateChannel("alone").Submit(Soft.Inline(w, (matrices, BufferAccess.ReadWrite)));
        await Soft.Done(alone);

        // Another owner keeps work waiting, so the same GEMM yields at its blocks.
        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var noise = gpu.CreateChannel("noise");
        long before = gpu.Engines.Yields;
        w.Reset();
        w.Gemm(m, n, k, 1.5f, 0, 0, 0, 0, m * k * 4, 0, c2);
        var preempted = gpu.CreateChannel("preempted").Submit(Soft.Inline(w, (matrices, BufferAccess.ReadWrite)));
        while (!preempted.IsSignaled) await Soft.Done(noise.Submit(Fill(target, 1)));
        await Soft.Done(preempted);

        Assert.True(gpu.Engines.Yields > before, "the GEMM was never preempted");
        Assert.Equal(Soft.ReadFloats(matrices, (int)(m * n), c1), Soft.ReadFloats(matrices, (int)(m * n), c2));
    }

    [Fact]
    public async Task A_waiting_acquire_parks_so_another_owner_runs_on_the_only_engine()
    {
        using var gpu = Device(engines: 1);
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        w.Fill(0, 4, 4, 7);
        var waiting = gpu.CreateChannel("waiter").Submit(Soft.Inline(w, (semaphore, BufferAccess.ReadWrite)));
        await Until(() => gpu.GetStats().Running == 1); // nobody else waits yet: it polls on the engine

        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        await Soft.Done(gpu.CreateChannel("other").Submit(Fill(target, 3)));

        Assert.False(waiting.IsSignaled);
        Assert.Equal(1, gpu.Engines.Parked);
        Soft.WriteU32(semaphore, 0, 1);
        await Soft.Done(waiting);
        Assert.Equal(7u, Soft.ReadU32(semaphore, 4));
        Assert.Equal(0, gpu.Engines.Parked);
    }

    [Fact]
    public async Task A_parked_acquire_still_times_out()
    {
        using var gpu = Device(engines: 1, semaphoreTimeout: TimeSpan.FromMilliseconds(200));
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        w.Fill(0, 4, 4, 7);
        var waiting = gpu.CreateChannel("waiter").Submit(Soft.Inline(w, (semaphore, BufferAccess.ReadWrite)));
        await Until(() => gpu.GetStats().Running == 1);
        await Soft.Done(gpu.CreateChannel("other").Submit(Fill(gpu.CreateBuffer(4096, GemDomain.Vram, 0), 3)));

        await Soft.Signaled(waiting);
        Assert.Equal(Errno.ETIMEDOUT, waiting.Error);
        Assert.Equal("command 0 (SEMAPHORE_ACQUIRE): the semaphore did not reach 1 within 200 ms; the rest of the pushbuf was skipped", waiting.Message);
        Assert.Equal(0u, Soft.ReadU32(semaphore, 4));
    }

    [Fact]
    public async Task An_owner_on_every_engine_leaves_one_to_another_owner_that_waits()
    {
        using var gpu = Device(engines: 2);
        const uint n = 4096;
        const ulong matrix = (ulong)n * n * 4;
        var matrices = gpu.CreateBuffer(3 * matrix, GemDomain.Vram, 0);
        // Four long GEMMs on four channels: two run, two wait, all the attacker's.
        var attacker = Enumerable.Range(0, 4).Select(_ => gpu.CreateChannel("attacker")).ToList();
        var gemms = attacker.Select(c => c.Submit(Gemm(matrices, n, matrix))).ToList();
        await Until(() => gpu.GetStats().Running == 2);

        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var bystander = gpu.CreateChannel("bystander");
        for (uint i = 1; i <= 3; i++) await Soft.Done(bystander.Submit(Fill(target, i)));

        Assert.All(gemms, g => Assert.False(g.IsSignaled));
        foreach (var c in attacker) c.Dispose();
        foreach (var g in gemms) await Soft.Signaled(g);
    }

    [Fact]
    public async Task A_parked_channel_of_a_closed_channel_is_cancelled_at_shutdown()
    {
        var gpu = Device(engines: 1);
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        var waiting = gpu.CreateChannel("waiter").Submit(Soft.Inline(w, (semaphore, BufferAccess.Read)));
        await Until(() => gpu.GetStats().Running == 1);
        await Soft.Done(gpu.CreateChannel("other").Submit(Fill(gpu.CreateBuffer(4096, GemDomain.Vram, 0), 3)));
        Assert.Equal(1, gpu.Engines.Parked);

        gpu.Dispose();
        await Soft.Signaled(waiting);
        Assert.Equal(Errno.ECANCELED, waiting.Error);
    }
}
