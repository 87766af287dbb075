using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// Scrubs run on the engines as their guest's work, a bounded chunk per step: the pages read
/// zero and are freed, and another guest's pushbuf waits for its share of engine time, not for
/// the scrubs to finish.
/// </summary>
public class ScrubTests
{
    private const int Chunk = 64 << 10;

    private static Gpu.Soft.SoftGpu Device() => new("test", new SoftGpuOptions
    {
        Engines = 1, MemoryBytes = 2UL << 30, ScrubChunkBytes = Chunk, TimeSlice = TimeSpan.FromTicks(1), SemaphoreTimeout = Soft.Timeout,
    });

    [Fact]
    public async Task A_scrub_frees_the_pages_a_chunk_at_a_time_and_they_read_zero()
    {
        using var gpu = Device();
        var buffer = (SoftBuffer)gpu.CreateBuffer(1 << 20, GemDomain.Vram, 0);
        buffer.Write(0, Enumerable.Repeat((byte)0xab, 1 << 20).ToArray());

        await buffer.ZeroAsync("guest").WaitAsync(Soft.Timeout);

        Assert.Equal((1 << 20) / Chunk, gpu.ScrubChunks);
        var back = new byte[1 << 20];
        buffer.Read(0, back);
        Assert.True(back.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the scrubbed buffer kept old data");
        Assert.Equal(0, ResidentBytes(buffer));
        Assert.Equal(0, gpu.GetStats().LiveChannels); // the scrub's own channel closed with it
        buffer.Release();
    }

    [Fact]
    public async Task Huge_scrubs_delay_another_guests_pushbuf_by_chunks_not_until_they_finish()
    {
        using var gpu = Device();
        const int scrubs = 16, size = 256 << 20;
        var huge = (SoftBuffer)gpu.CreateBuffer(size, GemDomain.Vram, 0);
        huge.Write(0, new byte[] { 1 });
        var running = Enumerable.Range(0, scrubs).Select(_ => huge.ZeroAsync("attacker")).ToArray();
        var deadline = DateTime.UtcNow + Soft.Timeout; // bounds a hang only
        while (gpu.ScrubChunks == 0 && DateTime.UtcNow < deadline) Thread.Yield();
        Assert.True(gpu.ScrubChunks > 0, "the scrubs never started on the engines");

        // The bystander's first pushbuf waits on its own semaphore (parked, off the engines), its
        // second fills a buffer. Both fences are watched before either can signal, and the count
        // is read on the engine as each signals, so the test thread's own delays cannot blur it.
        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var wait = new SoftCommandWriter();
        wait.SemaphoreAcquire(0, 0, 1);
        var fill = new SoftCommandWriter();
        fill.Fill(0, 0, 4096, 0x5a5a5a5a);
        using var channel = gpu.CreateChannel("bystander");
        long queued = -1, done = -1;
        var first = channel.Submit(Soft.Inline(wait, (semaphore, BufferAccess.Read)));
        var second = channel.Submit(Soft.Inline(fill, (target, BufferAccess.Write)));
        first.OnSignaled(_ => queued = gpu.ScrubChunks);
        second.OnSignaled(_ => done = gpu.ScrubChunks);
        Soft.WriteU32(semaphore, 0, 1);
        await Soft.Done(first);
        await Soft.Done(second);

        // The fill ran while the scrubs were far from done: it waited for the attacker's share of
        // engine time, chunks of it, not for the scrubs. (Not a fixed count of chunks: a turn of
        // the bystander's that the OS interrupts is charged to it, and the attacker may catch up.)
        Assert.True(done >= queued && done < (long)scrubs * size / Chunk / 2,
            $"the bystander's fill ended after {done} of {(long)scrubs * size / Chunk} scrub chunks ({done - queued} while it was queued)");
        Assert.Equal(0x5a5a5a5au, Soft.ReadU32(target, 4092));
        await Task.WhenAll(running).WaitAsync(Soft.Timeout);
        Assert.Equal((long)scrubs * size / Chunk, gpu.ScrubChunks);
        huge.Release();
        target.Release();
        semaphore.Release();
    }

    private static unsafe long ResidentBytes(SoftBuffer buffer)
    {
        Tmds.Linux.stat st;
        Assert.Equal(0, Tmds.Linux.LibC.fstat(buffer.Fd.Number, &st));
        return (long)st.st_blocks * 512;
    }
}
