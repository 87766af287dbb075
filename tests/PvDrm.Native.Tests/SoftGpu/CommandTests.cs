using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Each command's result against a plain reference.</summary>
public class CommandTests
{
    [Fact]
    public async Task Fill_repeats_its_32_bit_value_over_exactly_the_range()
    {
        using var gpu = Soft.Device();
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var channel = gpu.CreateChannel();
        var w = new SoftCommandWriter();
        w.Fill(0, 8, 16, 0xA1B2C3D4);

        await Soft.Done(channel.Submit(Soft.Inline(w, (buffer, BufferAccess.Write))));

        var bytes = new byte[32];
        buffer.Read(0, bytes);
        Assert.Equal(new uint[] { 0, 0, 0xA1B2C3D4, 0xA1B2C3D4, 0xA1B2C3D4, 0xA1B2C3D4, 0, 0 },
            Enumerable.Range(0, 8).Select(i => BitConverter.ToUInt32(bytes, i * 4)));
    }

    [Fact]
    public async Task Copy_moves_bytes_between_buffers_and_overlapping_copies_behave_like_memmove()
    {
        using var gpu = Soft.Device();
        var a = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var b = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        a.Write(0, Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
        var channel = gpu.CreateChannel();
        var w = new SoftCommandWriter();
        w.Copy(0, 10, 1, 0, 50);   // b[0..50) = a[10..60)
        w.Copy(0, 0, 0, 5, 20);    // a[5..25) = old a[0..20), overlapping

        await Soft.Done(channel.Submit(Soft.Inline(w, (a, BufferAccess.ReadWrite), (b, BufferAccess.Write))));

        var got = new byte[50];
        b.Read(0, got);
        Assert.Equal(Enumerable.Range(10, 50).Select(i => (byte)i), got);
        var moved = new byte[25];
        a.Read(0, moved);
        Assert.Equal(Enumerable.Range(0, 5).Concat(Enumerable.Range(0, 20)).Select(i => (byte)i), moved);
    }

    [Fact]
    public async Task Saxpy_matches_the_reference_including_the_tail()
    {
        using var gpu = Soft.Device();
        const int n = 1000 + 3;
        var (x, y) = (Soft.Random(n, 1), Soft.Random(n, 2));
        var bx = gpu.CreateBuffer(n * 4, GemDomain.Vram, 0);
        var by = gpu.CreateBuffer(n * 4, GemDomain.Vram, 0);
        Soft.Write(bx, x);
        Soft.Write(by, y);
        var w = new SoftCommandWriter();
        w.Saxpy(2.5f, n, 0, 0, 1, 0);

        await Soft.Done(gpu.CreateChannel().Submit(Soft.Inline(w, (bx, BufferAccess.Read), (by, BufferAccess.ReadWrite))));

        var got = Soft.ReadFloats(by, n);
        for (int i = 0; i < n; i++) Assert.Equal(2.5f * x[i] + y[i], got[i], 5);
    }

    [Theory]
    [InlineData(1, 1, 1, 1f, 0f)]
    [InlineData(4, 16, 8, 1f, 0f)]
    [InlineData(7, 19, 33, 1f, 0f)]
    [InlineData(64, 64, 64, 0.5f, 2f)]
    [InlineData(33, 100, 300, -1f, 1f)]
    [InlineData(130, 17, 513, 1f, 0f)]
    public async Task Gemm_matches_the_reference(int m, int n, int k, float alpha, float beta)
    {
        using var gpu = Soft.Device();
        await CheckGemm(gpu, m, n, k, alpha, beta, seed: m * 1000 + n);
    }

    [Property(MaxTest = 40)]
    public Property Gemm_matches_the_reference_for_random_shapes()
    {
        var shapes = from m in Gen.Choose(1, 40) from n in Gen.Choose(1, 40) from k in Gen.Choose(1, 40) select (m, n, k);
        var gpu = Soft.Device();
        return Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            CheckGemm(gpu, s.m, s.n, s.k, 1.5f, 0.5f, seed: s.m + s.n + s.k).GetAwaiter().GetResult();
            return true;
        });
    }

    [Fact]
    public async Task Gemm_with_beta_zero_ignores_garbage_in_C()
    {
        using var gpu = Soft.Device();
        var a = gpu.CreateBuffer(16, GemDomain.Vram, 0);
        var b = gpu.CreateBuffer(16, GemDomain.Vram, 0);
        var c = gpu.CreateBuffer(16, GemDomain.Vram, 0);
        Soft.Write(a, new[] { 1f, 2, 3, 4 });
        Soft.Write(b, new[] { 1f, 0, 0, 1 });
        Soft.Write(c, new[] { float.NaN, float.NaN, float.PositiveInfinity, float.NaN });
        var w = new SoftCommandWriter();
        w.Gemm(2, 2, 2, 1, 0, 0, 0, 1, 0, 2, 0);

        await Soft.Done(gpu.CreateChannel().Submit(Soft.Inline(w, (a, BufferAccess.Read), (b, BufferAccess.Read), (c, BufferAccess.Write))));

        Assert.Equal(new[] { 1f, 2, 3, 4 }, Soft.ReadFloats(c, 4));
    }

    [Fact]
    public async Task Semaphore_release_is_written_after_the_work_before_it()
    {
        using var gpu = Soft.Device();
        var data = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 64, 7);
        w.SemaphoreRelease(0, 64, 99);

        await Soft.Done(gpu.CreateChannel().Submit(Soft.Inline(w, (data, BufferAccess.Write))));

        var bytes = new byte[68];
        data.Read(0, bytes);
        Assert.Equal(7u, BitConverter.ToUInt32(bytes, 60));
        Assert.Equal(99u, BitConverter.ToUInt32(bytes, 64));
    }

    private static async Task CheckGemm(Gpu.Soft.SoftGpu gpu, int m, int n, int k, float alpha, float beta, int seed)
    {
        var (a, b, c) = (Soft.Random(m * k, seed), Soft.Random(k * n, seed + 1), Soft.Random(m * n, seed + 2));
        var ba = gpu.CreateBuffer((ulong)a.Length * 4, GemDomain.Vram, 0);
        var bb = gpu.CreateBuffer((ulong)b.Length * 4, GemDomain.Vram, 0);
        var bc = gpu.CreateBuffer((ulong)c.Length * 4, GemDomain.Vram, 0);
        Soft.Write(ba, a);
        Soft.Write(bb, b);
        Soft.Write(bc, c);
        var w = new SoftCommandWriter();
        w.Gemm((uint)m, (uint)n, (uint)k, alpha, beta, 0, 0, 1, 0, 2, 0);
        var channel = gpu.CreateChannel();

        await Soft.Done(channel.Submit(Soft.Inline(w, (ba, BufferAccess.Read), (bb, BufferAccess.Read), (bc, BufferAccess.ReadWrite))));

        var got = Soft.ReadFloats(bc, m * n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double want = beta * (double)c[i * n + j];
                for (int p = 0; p < k; p++) want += alpha * (double)a[i * k + p] * b[p * n + j];
                Assert.True(Math.Abs(got[i * n + j] - want) <= 1e-5 * k * (1 + Math.Abs(want)), $"C[{i},{j}] = {got[i * n + j]}, expected {want} ({m}x{n}x{k})");
            }
        channel.Dispose();
        foreach (var buffer in new[] { ba, bb, bc }) buffer.Release();
    }
}
