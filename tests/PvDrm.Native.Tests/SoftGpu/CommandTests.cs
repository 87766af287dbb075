using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>FILL, COPY, SAXPY, NOP and SEMAPHORE_RELEASE against plain references (GEMM: <see cref="GemmTests"/>).</summary>
public sealed class CommandTests : IDisposable
{
    private readonly Gpu.Soft.SoftGpu _gpu = Soft.Device();

    public void Dispose() => _gpu.Dispose();

    [Fact]
    public async Task Fill_repeats_its_32_bit_value_over_exactly_the_range()
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 8, 16, 0xA1B2C3D4);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, BufferAccess.Write))));

        Assert.Equal(new uint[] { 0, 0, 0xA1B2C3D4, 0xA1B2C3D4, 0xA1B2C3D4, 0xA1B2C3D4, 0, 0 },
            Enumerable.Range(0, 8).Select(i => Soft.ReadU32(buffer, (ulong)i * 4)));
    }

    [Fact]
    public async Task Fill_of_zero_bytes_and_nop_complete_without_touching_memory()
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Nop();
        w.Fill(0, 4096, 0, 7); // empty range at the very end is inside the buffer
        w.Nop();

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, BufferAccess.Write))));

        Assert.Equal(0u, Soft.ReadU32(buffer, 4092));
    }

    [Fact]
    public async Task Copy_moves_bytes_between_buffers_and_overlapping_copies_behave_like_memmove()
    {
        var a = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var b = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        a.Write(0, Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
        var w = new SoftCommandWriter();
        w.Copy(0, 10, 1, 0, 50);   // b[0..50) = a[10..60)
        w.Copy(0, 0, 0, 5, 20);    // a[5..25) = old a[0..20), forward overlap
        w.Copy(0, 30, 0, 27, 10);  // a[27..37) = old a[30..40), backward overlap

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (a, BufferAccess.ReadWrite), (b, BufferAccess.Write))));

        var got = new byte[50];
        b.Read(0, got);
        Assert.Equal(Enumerable.Range(10, 50).Select(i => (byte)i), got);
        var moved = new byte[40];
        a.Read(0, moved);
        var expected = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        Array.Copy(expected, 0, expected, 5, 20);
        Array.Copy(expected, 30, expected, 27, 10);
        Assert.Equal(expected.Take(40), moved);
    }

    [Fact]
    public async Task Copy_may_read_a_buffer_listed_write_only()
    {
        // Access rule: reading needs READ or WRITE, so WRITE alone allows both.
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        Soft.WriteU32(buffer, 0, 42);
        var w = new SoftCommandWriter();
        w.Copy(0, 0, 0, 8, 4);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, BufferAccess.Write))));

        Assert.Equal(42u, Soft.ReadU32(buffer, 8));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1003)]
    [InlineData(4096)]
    public async Task Saxpy_matches_the_reference_including_the_tail(int n)
    {
        var (x, y) = (Soft.Random(n, 1), Soft.Random(n, 2));
        var bx = _gpu.CreateBuffer((ulong)n * 4 + 12, GemDomain.Vram, 0);
        var by = _gpu.CreateBuffer((ulong)n * 4, GemDomain.Vram, 0);
        Soft.Write(bx, x, offset: 12);
        Soft.Write(by, y);
        var w = new SoftCommandWriter();
        w.Saxpy(2.5f, (uint)n, 0, 12, 1, 0);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (bx, BufferAccess.Read), (by, BufferAccess.ReadWrite))));

        var got = Soft.ReadFloats(by, n);
        for (int i = 0; i < n; i++) Assert.Equal(2.5 * x[i] + y[i], got[i], 1e-5);
    }

    [Fact]
    public async Task Saxpy_on_one_range_as_both_x_and_y_scales_it_by_a_plus_one()
    {
        var values = Soft.Random(100, 3);
        var buffer = _gpu.CreateBuffer(400, GemDomain.Vram, 0);
        Soft.Write(buffer, values);
        var w = new SoftCommandWriter();
        w.Saxpy(3f, 100, 0, 0, 0, 0);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, BufferAccess.ReadWrite))));

        var got = Soft.ReadFloats(buffer, 100);
        for (int i = 0; i < 100; i++) Assert.Equal(4.0 * values[i], got[i], 1e-5);
    }

    [Fact]
    public async Task Semaphore_release_is_written_after_the_work_before_it()
    {
        var data = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 64, 7);
        w.SemaphoreRelease(0, 64, 99);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (data, BufferAccess.Write))));

        Assert.Equal(7u, Soft.ReadU32(data, 60));
        Assert.Equal(99u, Soft.ReadU32(data, 64));
    }

    [Fact]
    public async Task Semaphore_acquire_compares_unsigned_and_passes_at_once_when_already_reached()
    {
        var data = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        Soft.WriteU32(data, 0, 0x8000_0000); // negative as int32: a signed compare would wait
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 5);
        w.Fill(0, 4, 4, 1);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (data, BufferAccess.ReadWrite))));

        Assert.Equal(1u, Soft.ReadU32(data, 4));
    }

    [Fact]
    public async Task Commands_from_several_push_entries_run_as_one_stream_in_entry_order()
    {
        var buffer = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var commands = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4, 1);
        w.Fill(0, 0, 4, 2);
        var words = w.Written.ToArray();
        commands.Write(64, words.AsSpan(0, 28));  // the first FILL from the command buffer
        var inline = words[28..];                  // the second, split across two inline entries
        var pushbuf = new Pushbuf(new[] { buffer, commands }, new[] { BufferAccess.Write, BufferAccess.Read },
            new[] { new PushEntry(1, 64, 28), new PushEntry(PushEntry.InlineIndex, 0, 8), new PushEntry(PushEntry.InlineIndex, 8, 20) }, inline);

        await Soft.Done(_gpu.CreateChannel().Submit(pushbuf));

        Assert.Equal(2u, Soft.ReadU32(buffer, 0));
    }
}
