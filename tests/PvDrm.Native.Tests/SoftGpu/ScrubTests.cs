using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// Scrubs run on the engines as their guest's work, a bounded chunk per step: the pages read
/// zero and are freed, and another guest's pushbuf waits for a bounded number of chunks, not for
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
    public async Task Huge_scrubs_delay_another_guests_pushbuf_by_a_few_chunks_not_until_they_finish()
    {
        using var gpu = Device();
        const int scrubs = 4, size = 256 << 20;
        var huge = (SoftBuffer)gpu.CreateBuffer(size, GemDomain.Vram, 0);
        huge.Write(0, new byte[] { 1 });
        var running = Enumerable.Range(0, scrubs).Select(_ => huge.ZeroAsync("attacker")).ToArray();
        var deadline = DateTime.UtcNow + Soft.Timeout; // bounds a hang only
        while (gpu.ScrubChunks == 0 && DateTime.UtcNow < deadline) Thread.Yield();
        Assert.True(gpu.ScrubChunks > 0, "the scrubs never started on the engines");

        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4096, 0x5a5a5a5a);
        using var channel = gpu.CreateChannel("bystander");
        long before = gpu.ScrubChunks, at = -1;
        var fence = channel.Submit(Soft.Inline(w, (target, BufferAccess.Write)));
        // Runs on the engine as the fence signals (or here, later, which can only count more).
        fence.OnSignaled(_ => at = gpu.ScrubChunks);
        await Soft.Done(fence);

        // The chunk under way when it was queued, and at most one more turn of one chunk that a
        // tie in engine time may give the attacker first.
        Assert.InRange(at - before, 0, 2);
        Assert.True(at < (long)scrubs * size / Chunk, "the bystander waited for the scrubs to finish");
        Assert.Equal(0x5a5a5a5au, Soft.ReadU32(target, 4092));
        await Task.WhenAll(running).WaitAsync(Soft.Timeout);
        Assert.Equal((long)scrubs * size / Chunk, gpu.ScrubChunks);
        huge.Release();
        target.Release();
    }

    private static unsafe long ResidentBytes(SoftBuffer buffer)
    {
        Tmds.Linux.stat st;
        Assert.Equal(0, Tmds.Linux.LibC.fstat(buffer.Fd.Number, &st));
        return (long)st.st_blocks * 512;
    }
}
