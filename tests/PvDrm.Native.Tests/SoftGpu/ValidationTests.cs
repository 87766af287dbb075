using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Malformed pushbufs are refused at Submit, with an errno and a message, before anything runs.</summary>
public sealed class ValidationTests : IDisposable
{
    private readonly Gpu.Soft.SoftGpu _gpu = Soft.Device();

    public void Dispose() => _gpu.Dispose();

    public static TheoryData<string, Action<SoftCommandWriter>, BufferAccess, string> MalformedCommands() => new()
    {
        { "buffer index past the list", w => w.Fill(3, 0, 4, 0), BufferAccess.Write, "names buffer 3, but the pushbuf lists 2" },
        { "write to a read-only buffer", w => w.Fill(0, 0, 4, 0), BufferAccess.Read, "access Read" },
        { "read from an unlisted-access buffer", w => w.Copy(0, 0, 1, 0, 4), BufferAccess.None, "access None" },
        { "range past the end", w => w.Fill(0, 4092, 8, 0), BufferAccess.Write, "[4092, +8) exceeds buffer 0 (4096 bytes)" },
        { "offset near 2^64", w => w.Copy(0, ulong.MaxValue - 3, 1, 0, 8), BufferAccess.ReadWrite, "exceeds buffer 0" },
        { "size that wraps", w => w.Fill(0, 8, ulong.MaxValue - 3, 0), BufferAccess.Write, "exceeds buffer 0" },
        { "semaphore at 2^64 - 4", w => w.SemaphoreRelease(0, ulong.MaxValue - 3, 1), BufferAccess.Write, "exceeds buffer 0" },
        { "unaligned fill", w => w.Fill(0, 2, 4, 0), BufferAccess.Write, "multiple of 4" },
        { "unaligned semaphore", w => w.SemaphoreAcquire(0, 6, 1), BufferAccess.Write, "multiple of 4" },
        { "saxpy count past the end", w => w.Saxpy(1, 1025, 0, 0, 1, 0), BufferAccess.Read, "x range [0, +4100) exceeds buffer 0" },
        { "saxpy x and y partly overlapping", w => w.Saxpy(1, 8, 0, 0, 0, 4), BufferAccess.ReadWrite, "overlap" },
        { "gemm with a zero dimension", w => w.Gemm(0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0), BufferAccess.ReadWrite, "at least 1" },
        { "gemm too large", w => w.Gemm(1u << 30, 1u << 30, 1, 1, 0, 0, 0, 0, 0, 1, 0), BufferAccess.ReadWrite, "too large" },
        { "gemm C past the end", w => w.Gemm(1024, 1024, 1, 1, 0, 0, 0, 0, 0, 1, 0), BufferAccess.ReadWrite, "C range [0, +4194304) exceeds buffer 1 (4096 bytes)" },
        { "gemm with C over A", w => w.Gemm(4, 4, 4, 1, 0, 0, 0, 0, 256, 0, 32), BufferAccess.ReadWrite, "overlaps" },
    };

    [Theory]
    [MemberData(nameof(MalformedCommands))]
    public void A_malformed_command_is_refused_with_its_index_and_name_and_nothing_runs(string what, Action<SoftCommandWriter> write, BufferAccess access, string mentions)
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var scratch = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(1, 0, 4, 0xFFFFFFFF); // a valid first command that must not run either
        write(w);

        var error = Assert.Throws<ErrnoException>(() => _gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, access), (scratch, BufferAccess.ReadWrite))));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.StartsWith("command ", error.Message);
        Assert.True(error.Message.Contains(mentions), $"{what}: {error.Message}");
        AssertNothingRan(scratch, 0);
    }

    [Fact]
    public void The_message_names_the_command_index_and_opcode()
    {
        var small = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Nop();
        w.Nop();
        w.Gemm(1024, 1024, 1024, 1, 0, 0, 0, 0, 0, 0, 0);

        var error = Assert.Throws<ErrnoException>(() => _gpu.CreateChannel().Submit(Soft.Inline(w, (small, BufferAccess.ReadWrite))));

        Assert.Equal("command 2 (GEMM): A range [0, +4194304) exceeds buffer 0 (4096 bytes)", error.Message);
    }

    public static TheoryData<string, byte[], string> MalformedStreams() => new()
    {
        { "unknown opcode", Soft.Words(0x0001_0077), "command 0 (opcode 0x0077): unknown opcode" },
        { "wrong length", Soft.Words(0x0002_0001, 0, 0), "command 0 (FILL): length 2 words at word 0, expected 7" },
        { "header of zero", Soft.Words(0, 0), "command 0 (NOP): length 0 words" },
        { "truncated", Soft.Words(0x0001_0000, 0x0007_0001, 0, 0), "command 1 (FILL): truncated" },
        { "not whole words", new byte[] { 0, 0, 1 }, "not word aligned" },
    };

    [Theory]
    [MemberData(nameof(MalformedStreams))]
    public void A_malformed_command_stream_is_refused(string what, byte[] stream, string mentions)
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);

        var error = Assert.Throws<ErrnoException>(() => _gpu.CreateChannel().Submit(Soft.Inline(stream, (buffer, BufferAccess.Write))));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.True(error.Message.Contains(mentions), $"{what}: {error.Message}");
    }

    public static TheoryData<string, PushEntry, BufferAccess, string> MalformedPushEntries() => new()
    {
        { "past the inline block", new PushEntry(PushEntry.InlineIndex, 4, 8), BufferAccess.Read, "push entry 0 [4, +8) exceeds the inline block (8 bytes)" },
        { "past its buffer", new PushEntry(0, 4092, 8), BufferAccess.Read, "exceeds buffer 0 (4096 bytes)" },
        { "offset near 2^64", new PushEntry(0, ulong.MaxValue - 3, 8), BufferAccess.Read, "exceeds buffer 0" },
        { "unlisted buffer", new PushEntry(5, 0, 4), BufferAccess.Read, "names buffer 5, but the pushbuf lists 1" },
        { "buffer without access", new PushEntry(0, 0, 4), BufferAccess.None, "access None" },
        { "unaligned offset", new PushEntry(0, 2, 4), BufferAccess.Read, "not word aligned" },
    };

    [Theory]
    [MemberData(nameof(MalformedPushEntries))]
    public void A_malformed_push_entry_is_refused(string what, PushEntry entry, BufferAccess access, string mentions)
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var pushbuf = new Pushbuf(new[] { buffer }, new[] { access }, new[] { entry }, Soft.Words(0x0001_0000, 0x0001_0000));

        var error = Assert.Throws<ErrnoException>(() => _gpu.CreateChannel().Submit(pushbuf));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.True(error.Message.Contains(mentions), $"{what}: {error.Message}");
        Assert.Equal(0, _gpu.GetStats().Submitted);
    }

    [Fact]
    public void More_command_bytes_than_allowed_is_E2BIG()
    {
        using var gpu = new Gpu.Soft.SoftGpu("small", new SoftGpuOptions { Engines = 1, MaxCommandBytes = 64 });
        var w = new SoftCommandWriter();
        for (int i = 0; i < 17; i++) w.Nop();

        var error = Assert.Throws<ErrnoException>(() => gpu.CreateChannel().Submit(Soft.Inline(w)));

        Assert.Equal(Errno.E2BIG, error.Errno);
        Assert.Contains("more than 64 bytes", error.Message);
        w.Reset();
        for (int i = 0; i < 16; i++) w.Nop();
        Assert.NotNull(gpu.CreateChannel().Submit(Soft.Inline(w))); // exactly the limit is fine
    }

    [Fact]
    public void A_buffer_of_another_device_is_refused()
    {
        using var other = Soft.Device(engines: 1);
        var foreign = other.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4, 1);

        var error = Assert.Throws<ErrnoException>(() => _gpu.CreateChannel().Submit(Soft.Inline(w, (foreign, BufferAccess.Write))));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.Contains("does not belong to SoftGpu test", error.Message);
        AssertNothingRan(foreign, 0);
    }

    [Fact]
    public void Overlap_is_judged_by_buffer_not_by_list_index()
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Gemm(4, 4, 4, 1, 0, 0, 0, 0, 256, 1, 32); // C (index 1) lands on A (index 0): one buffer listed twice

        var error = Assert.Throws<ErrnoException>(() => _gpu.CreateChannel().Submit(
            Soft.Inline(w, (buffer, BufferAccess.Read), (buffer, BufferAccess.Write))));

        Assert.Contains("C overlaps A or B", error.Message);
    }

    [Fact]
    public async Task Commands_are_copied_at_submit_so_later_writes_to_the_command_buffer_change_nothing()
    {
        using var gpu = Soft.Device(engines: 1);
        var gate = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var commands = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var target = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var blocker = new SoftCommandWriter();
        blocker.SemaphoreAcquire(0, 0, 1);
        var blocked = gpu.CreateChannel().Submit(Soft.Inline(blocker, (gate, BufferAccess.Read)));

        var w = new SoftCommandWriter();
        w.Fill(2, 0, 4, 1111);
        commands.Write(0, w.Written.Span);
        var fence = gpu.CreateChannel().Submit(new Pushbuf(new[] { gate, commands, target },
            new[] { BufferAccess.Read, BufferAccess.Read, BufferAccess.Write },
            new[] { new PushEntry(1, 0, (ulong)w.Length) }, ReadOnlyMemory<byte>.Empty));
        // The guest rewrites its command buffer while the only engine is still busy.
        w.Reset();
        w.Fill(2, 0, 4, 2222);
        commands.Write(0, w.Written.Span);
        Soft.WriteU32(gate, 0, 1);

        await Soft.Done(blocked);
        await Soft.Done(fence);
        Assert.Equal(1111u, Soft.ReadU32(target, 0));
    }

    private void AssertNothingRan(IGpuBuffer scratch, ulong offset)
    {
        Assert.Equal(0u, Soft.ReadU32(scratch, offset));
        Assert.Equal(0, _gpu.GetStats().Submitted);
    }
}
