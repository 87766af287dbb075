using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Gpu.Soft.Kernels;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>GEMM against a double-precision reference: shapes around the tile and block sizes, alpha and beta, edge cases.</summary>
public sealed class GemmTests : IDisposable
{
    private readonly Gpu.Soft.SoftGpu _gpu = Soft.Device();

    public void Dispose() => _gpu.Dispose();

    [Theory]
    [InlineData(1, 1, 1, 1f, 0f)]
    [InlineData(6, 16, 8, 1f, 0f)]       // exactly one register tile
    [InlineData(7, 19, 33, 1f, 0f)]      // one past the tile both ways
    [InlineData(5, 15, 3, 2f, 1f)]       // smaller than one tile
    [InlineData(64, 64, 64, 0.5f, 2f)]
    [InlineData(33, 100, 300, -1f, 1f)]  // k beyond one 256-deep slice
    [InlineData(130, 17, 513, 1f, 0f)]   // m beyond one 96-row block
    [InlineData(97, 1041, 259, 0.75f, -0.5f)] // n beyond one 1024-column block
    public async Task Gemm_matches_the_reference(int m, int n, int k, float alpha, float beta)
    {
        await CheckGemm(m, n, k, alpha, beta, seed: m * 1000 + n);
    }

    [Property(MaxTest = 40)]
    public Property Gemm_matches_the_reference_for_random_shapes_and_scalars()
    {
        var cases = from m in Gen.Choose(1, 40)
                    from n in Gen.Choose(1, 70)
                    from k in Gen.Choose(1, 40)
                    from alpha in Gen.Elements(1f, -0.5f, 2f)
                    from beta in Gen.Elements(0f, 1f, 0.25f)
                    select (m, n, k, alpha, beta);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            CheckGemm(c.m, c.n, c.k, c.alpha, c.beta, seed: c.m + 100 * c.n + 10000 * c.k).GetAwaiter().GetResult();
            return true;
        });
    }

    [Fact]
    public async Task Gemm_with_beta_zero_ignores_garbage_in_C()
    {
        var (a, b, c) = (Matrix(new[] { 1f, 2, 3, 4 }), Matrix(new[] { 1f, 0, 0, 1 }), Matrix(new[] { float.NaN, float.NaN, float.PositiveInfinity, float.NaN }));
        var w = new SoftCommandWriter();
        w.Gemm(2, 2, 2, 1, 0, 0, 0, 1, 0, 2, 0);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (a, BufferAccess.Read), (b, BufferAccess.Read), (c, BufferAccess.Write))));

        Assert.Equal(new[] { 1f, 2, 3, 4 }, Soft.ReadFloats(c, 4));
    }

    [Fact]
    public async Task Gemm_with_alpha_zero_only_scales_C_and_ignores_NaN_in_A()
    {
        var (a, b, c) = (Matrix(new[] { float.NaN, 1, 1, 1 }), Matrix(new[] { 1f, 1, 1, 1 }), Matrix(new[] { 1f, 2, 3, 4 }));
        var w = new SoftCommandWriter();
        w.Gemm(2, 2, 2, 0, 3, 0, 0, 1, 0, 2, 0);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (a, BufferAccess.Read), (b, BufferAccess.Read), (c, BufferAccess.ReadWrite))));

        Assert.Equal(new[] { 3f, 6, 9, 12 }, Soft.ReadFloats(c, 4));
    }

    [Fact]
    public async Task Gemm_reads_and_writes_at_offsets_inside_one_shared_buffer()
    {
        const int m = 9, n = 20, k = 11;
        var (a, b) = (Soft.Random(m * k, 4), Soft.Random(k * n, 5));
        var buffer = _gpu.CreateBuffer(8192, GemDomain.Vram, 0);
        Soft.Write(buffer, a, offset: 4);
        Soft.Write(buffer, b, offset: 1024);
        var w = new SoftCommandWriter();
        w.Gemm(m, n, k, 1, 0, 0, 4, 0, 1024, 0, 4096);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, BufferAccess.ReadWrite))));

        AssertClose(Reference(m, n, k, 1, 0, a, b, new float[m * n]), Soft.ReadFloats(buffer, m * n, offset: 4096), k);
    }

    [Fact]
    public async Task Gemm_over_a_very_wide_B_stays_inside_its_buffers()
    {
        // 16·(2^20 + 1) columns once made a packing buffer size wrap in 32 bits and overrun the heap.
        const uint n = 16 * ((1u << 20) + 1);
        var a = _gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var b = _gpu.CreateBuffer(n * 4, GemDomain.Vram, 0);
        var c = _gpu.CreateBuffer(n * 4, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4, BitConverter.SingleToUInt32Bits(3f));
        w.Fill(1, 0, n * 4, BitConverter.SingleToUInt32Bits(2f));
        w.Gemm(1, n, 1, 1, 0, 0, 0, 1, 0, 2, 0);

        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (a, BufferAccess.Write), (b, BufferAccess.Write), (c, BufferAccess.Write))));

        foreach (ulong j in new ulong[] { 0, 1u << 20, n - 1 })
            Assert.Equal(6f, Soft.ReadFloats(c, 1, offset: j * 4)[0]);
        foreach (var buffer in new[] { a, b, c }) buffer.Release();
    }

    [Theory]
    [InlineData(1, 1, 1, 1f, 0f)]
    [InlineData(13, 37, 21, 1.5f, 0.5f)]
    [InlineData(8, 64, 9, -1f, 0f)]
    public unsafe void The_portable_kernel_for_machines_without_FMA_matches_the_reference(int m, int n, int k, float alpha, float beta)
    {
        var (a, b, c) = (Soft.Random(m * k, 7), Soft.Random(k * n, 8), Soft.Random(m * n, 9));
        var expected = Reference(m, n, k, alpha, beta, a, b, c);

        fixed (float* pa = a, pb = b, pc = c) GemmPortable.Run(m, n, k, alpha, pa, pb, beta, pc);

        AssertClose(expected, c, k);
    }

    private IGpuBuffer Matrix(float[] values)
    {
        var buffer = _gpu.CreateBuffer((ulong)values.Length * 4, GemDomain.Vram, 0);
        Soft.Write(buffer, values);
        return buffer;
    }

    private async Task CheckGemm(int m, int n, int k, float alpha, float beta, int seed)
    {
        var (a, b, c) = (Soft.Random(m * k, seed), Soft.Random(k * n, seed + 1), Soft.Random(m * n, seed + 2));
        var (ba, bb, bc) = (Matrix(a), Matrix(b), Matrix(c));
        var w = new SoftCommandWriter();
        w.Gemm((uint)m, (uint)n, (uint)k, alpha, beta, 0, 0, 1, 0, 2, 0);
        using var channel = _gpu.CreateChannel();

        await Soft.Done(channel.Submit(Soft.Inline(w, (ba, BufferAccess.Read), (bb, BufferAccess.Read), (bc, BufferAccess.ReadWrite))));

        AssertClose(Reference(m, n, k, alpha, beta, a, b, c), Soft.ReadFloats(bc, m * n), k, $"{m}x{n}x{k}");
        foreach (var buffer in new[] { ba, bb, bc }) buffer.Release();
    }

    private static double[] Reference(int m, int n, int k, float alpha, float beta, float[] a, float[] b, float[] c)
    {
        var want = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
                want[i * n + j] = alpha * sum + (beta == 0 ? 0 : beta * (double)c[i * n + j]);
            }
        return want;
    }

    /// <summary>float32 sums of k terms in [-1, 1] may differ from the exact sum by about k ulps.</summary>
    private static void AssertClose(double[] want, float[] got, int k, string shape = "")
    {
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(got[i] - want[i]) <= 1e-6 * k * (4 + Math.Abs(want[i])), $"C[{i}] = {got[i]}, expected {want[i]} {shape}");
    }
}
