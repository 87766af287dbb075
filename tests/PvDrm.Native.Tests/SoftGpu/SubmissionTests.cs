using System.Collections.Concurrent;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Validation, ordering, lifetime and fairness of pushbufs on SoftGpu channels.</summary>
public class SubmissionTests
{
    public static TheoryData<string, Action<SoftCommandWriter>, BufferAccess, string> Malformed() => new()
    {
        { "buffer index past the list", w => w.Fill(3, 0, 4, 0), BufferAccess.Write, "names buffer 3" },
        { "write to a read-only buffer", w => w.Fill(0, 0, 4, 0), BufferAccess.Read, "access Read" },
        { "range past the end", w => w.Fill(0, 4092, 8, 0), BufferAccess.Write, "exceeds buffer 0" },
        { "offset near 2^64", w => w.Copy(0, ulong.MaxValue - 3, 0, 0, 8), BufferAccess.ReadWrite, "exceeds buffer 0" },
        { "size that wraps", w => w.Fill(0, 8, ulong.MaxValue - 3, 0), BufferAccess.Write, "exceeds buffer 0" },
        { "unaligned fill", w => w.Fill(0, 2, 4, 0), BufferAccess.Write, "multiple of 4" },
        { "gemm with a zero dimension", w => w.Gemm(0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0), BufferAccess.ReadWrite, "at least 1" },
        { "gemm too large", w => w.Gemm(1u << 30, 1u << 30, 1, 1, 0, 0, 0, 0, 0, 0, 0), BufferAccess.ReadWrite, "too large" },
        { "gemm with C over A", w => w.Gemm(4, 4, 4, 1, 0, 0, 0, 0, 256, 0, 32), BufferAccess.ReadWrite, "overlaps" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_command_is_refused_before_anything_runs(string what, Action<SoftCommandWriter> write, BufferAccess access, string mentions)
    {
        using var gpu = Soft.Device();
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var scratch = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(1, 0, 4, 0xFFFFFFFF); // a valid first command that must not run either
        write(w);

        var error = Assert.Throws<ErrnoException>(() => gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, access), (scratch, BufferAccess.Write))));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.Contains("command 1", error.Message);
        Assert.Contains(mentions, error.Message);
        Assert.Equal(0, gpu.GetStats().Submitted);
        var first = new byte[4];
        scratch.Read(0, first);
        Assert.Equal(0u, BitConverter.ToUInt32(first)); // nothing ran
        _ = what;
    }

    public static TheoryData<string, byte[], string> MalformedStreams() => new()
    {
        { "unknown opcode", Words(0x0001_0077), "unknown opcode" },
        { "wrong length", Words(0x0002_0001, 0, 0), "expected 7" },
        { "truncated", Words(0x0007_0001, 0, 0), "truncated" },
        { "not whole words", new byte[] { 0, 0, 1 }, "not word aligned" },
    };

    [Theory]
    [MemberData(nameof(MalformedStreams))]
    public void A_malformed_command_stream_is_refused(string what, byte[] stream, string mentions)
    {
        using var gpu = Soft.Device();
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var pushbuf = new Pushbuf(new[] { buffer }, new[] { BufferAccess.Write },
            new[] { new PushEntry(PushEntry.InlineIndex, 0, (ulong)stream.Length) }, stream);

        var error = Assert.Throws<ErrnoException>(() => gpu.CreateChannel().Submit(pushbuf));
        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.Contains(mentions, error.Message);
        _ = what;
    }

    [Fact]
    public void More_command_bytes_than_allowed_is_E2BIG()
    {
        using var gpu = new Gpu.Soft.SoftGpu("small", new SoftGpuOptions { Engines = 1, MaxCommandBytes = 64 });
        var w = new SoftCommandWriter();
        for (int i = 0; i < 20; i++) w.Nop();

        var error = Assert.Throws<ErrnoException>(() => gpu.CreateChannel().Submit(Soft.Inline(w)));
        Assert.Equal(Errno.E2BIG, error.Errno);
    }

    [Fact]
    public async Task Commands_are_copied_at_submit_so_later_writes_to_the_command_buffer_change_nothing()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var commands = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var busy = gpu.CreateChannel();
        var blocker = new SoftCommandWriter();
        blocker.SemaphoreAcquire(0, 0, 1);
        var blocked = busy.Submit(Soft.Inline(blocker, (gate, BufferAccess.Read)));

        var w = new SoftCommandWriter();
        w.Fill(2, 0, 4, 1111);
        commands.Write(0, w.Written.Span);
        var fence = gpu.CreateChannel().Submit(new Pushbuf(new[] { gate, commands, target },
            new[] { BufferAccess.Read, BufferAccess.Read, BufferAccess.Write },
            new[] { new PushEntry(1, 0, (ulong)w.Length) }, ReadOnlyMemory<byte>.Empty));
        // The guest rewrites its command buffer before the engine gets to it.
        w.Reset();
        w.Fill(2, 0, 4, 2222);
        commands.Write(0, w.Written.Span);
        gate.Write(0, BitConverter.GetBytes(1u));

        await Soft.Done(blocked);
        await Soft.Done(fence);
        var value = new byte[4];
        target.Read(0, value);
        Assert.Equal(1111u, BitConverter.ToUInt32(value));
    }

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
    }

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
        gate.Write(0, BitConverter.GetBytes(1u));
        await Soft.Done(fence);

        Assert.Equal(1, gpu.GetStats().LiveBuffers);
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

        await running.WaitAsync().WaitAsync(Soft.Timeout);
        await queued.WaitAsync().WaitAsync(Soft.Timeout);
        Assert.Equal(Errno.ECANCELED, queued.Error);
        Assert.Equal(Errno.ECANCELED, running.Error);
        gate.Release();
        Assert.Equal(0, gpu.GetStats().LiveBuffers);
        Assert.Equal(0, gpu.GetStats().LiveChannels);
    }

    [Fact]
    public async Task Two_channels_run_at_once_on_two_engines()
    {
        using var gpu = Soft.Device(engines: 2);
        var semaphores = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var (one, two) = (new SoftCommandWriter(), new SoftCommandWriter());
        one.SemaphoreRelease(0, 0, 1);
        one.SemaphoreAcquire(0, 4, 1);
        two.SemaphoreAcquire(0, 0, 1);
        two.SemaphoreRelease(0, 4, 1);

        var a = gpu.CreateChannel().Submit(Soft.Inline(one, (semaphores, BufferAccess.ReadWrite)));
        var b = gpu.CreateChannel().Submit(Soft.Inline(two, (semaphores, BufferAccess.ReadWrite)));

        await Soft.Done(a);
        await Soft.Done(b);
        Assert.Equal(2, gpu.GetStats().PeakRunning);
    }

    [Fact]
    public async Task A_semaphore_nobody_releases_times_out_with_ETIMEDOUT()
    {
        using var gpu = Soft.Device(engines: 1, semaphoreTimeout: TimeSpan.FromMilliseconds(100));
        var semaphore = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        w.Fill(0, 0, 4, 5);

        var fence = gpu.CreateChannel().Submit(Soft.Inline(w, (semaphore, BufferAccess.ReadWrite)));
        await fence.WaitAsync().WaitAsync(Soft.Timeout);

        Assert.Equal(Errno.ETIMEDOUT, fence.Error);
        Assert.Contains("did not reach 1", fence.Message);
        var value = new byte[4];
        semaphore.Read(0, value);
        Assert.Equal(0u, BitConverter.ToUInt32(value)); // the rest was skipped
    }

    [Fact]
    public async Task Channels_take_turns_so_a_long_queue_cannot_starve_another_channel()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var (busy, polite) = (gpu.CreateChannel(), gpu.CreateChannel());
        var order = new ConcurrentQueue<string>();
        // Hold the engine until everything is queued.
        var hold = new SoftCommandWriter();
        hold.SemaphoreAcquire(0, 0, 1);
        busy.Submit(Soft.Inline(hold, (gate, BufferAccess.Read))).OnSignaled(_ => order.Enqueue("hold"));
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4, 1);
        var last = default(GpuFence);
        for (int i = 0; i < 100; i++)
        {
            last = busy.Submit(Soft.Inline(w, (buffer, BufferAccess.Write)));
            last.OnSignaled(_ => order.Enqueue("busy"));
        }
        var politeFence = polite.Submit(Soft.Inline(w, (buffer, BufferAccess.Write)));
        politeFence.OnSignaled(_ => order.Enqueue("polite"));

        gate.Write(0, BitConverter.GetBytes(1u));
        await Soft.Done(last!);
        await Soft.Done(politeFence);

        // After the held pushbuf, the busy channel runs one more at most before the polite one gets its turn.
        Assert.True(order.ToList().IndexOf("polite") <= 2, string.Join(",", order.Take(5)));
    }

    [Fact]
    public void Device_memory_is_a_hard_limit_with_a_clear_message()
    {
        using var gpu = Soft.Device(memory: 1 << 20);
        var kept = gpu.CreateBuffer(900 * 1024, GemDomain.Vram, 0);

        var error = Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(200 * 1024, GemDomain.Vram, 0));
        Assert.Equal(Errno.ENOMEM, error.Errno);
        Assert.Contains("out of memory", error.Message);
        kept.Release();
        gpu.CreateBuffer(200 * 1024, GemDomain.Vram, 0).Release();
        Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(0, GemDomain.Vram, 0));
        Assert.Equal(0, gpu.GetStats().LiveBytes);
    }

    private static byte[] Words(params uint[] words) => words.SelectMany(BitConverter.GetBytes).ToArray();
}
