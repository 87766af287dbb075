using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PvDrm.Native.Gpu.Soft.Kernels;

/// <summary>
/// Single-threaded float32 GEMM, C = alpha·A·B + beta·C, row-major and dense. Cache-blocked:
/// a KC×16 panel of B is packed contiguously, then a 4×16 register tile of C accumulates over
/// it with AVX2 FMA (8 accumulators, two B loads and four broadcasts per k step). Machines
/// without FMA take a portable Vector&lt;float&gt; path.
/// </summary>
internal static unsafe class Gemm
{
    private const int Mr = 4, Nr = 16, Kc = 256;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int m, int n, int k, float alpha, float* a, float* b, float beta, float* c)
    {
        Scale(c, m * (long)n, beta);
        if (alpha == 0) return;
        if (Fma.IsSupported && Avx.IsSupported) Blocked(m, n, k, alpha, a, b, c);
        else Portable(m, n, k, alpha, a, b, c);
    }

    /// <summary>C = beta·C, where beta = 0 overwrites without reading (C may hold NaN garbage).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scale(float* c, long count, float beta)
    {
        if (beta == 1) return;
        var span = new Span<float>(c, checked((int)count));
        if (beta == 0)
        {
            span.Clear();
            return;
        }
        int i = 0;
        var vb = new Vector<float>(beta);
        for (; i <= span.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(span[i..]) * vb).CopyTo(span[i..]);
        for (; i < span.Length; i++) span[i] *= beta;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked(int m, int n, int k, float alpha, float* a, float* b, float* c)
    {
        int panels = (n + Nr - 1) / Nr;
        var packed = GC.AllocateUninitializedArray<float>(Kc * Nr * panels);
        fixed (float* bp = packed)
        {
            for (int pc = 0; pc < k; pc += Kc)
            {
                int kc = Math.Min(Kc, k - pc);
                Pack(b + (long)pc * n, n, kc, panels, bp);
                for (int ic = 0; ic < m; ic += Mr)
                {
                    int mr = Math.Min(Mr, m - ic);
                    float* aRow = a + (long)ic * k + pc;
                    for (int jp = 0; jp < panels; jp++)
                    {
                        int jc = jp * Nr, nr = Math.Min(Nr, n - jc);
                        Tile(kc, aRow, k, mr, bp + jp * Kc * Nr, c + (long)ic * n + jc, n, nr, alpha);
                    }
                }
            }
        }
    }

    /// <summary>Packs kc rows of B into panels of 16 columns, each kc×16 contiguous, zero-padded at the right edge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(float* b, int n, int kc, int panels, float* bp)
    {
        for (int jp = 0; jp < panels; jp++)
        {
            int jc = jp * Nr, nr = Math.Min(Nr, n - jc);
            float* dst = bp + jp * Kc * Nr;
            for (int p = 0; p < kc; p++, dst += Nr)
            {
                float* src = b + (long)p * n + jc;
                if (nr == Nr)
                {
                    Avx.Store(dst, Avx.LoadVector256(src));
                    Avx.Store(dst + 8, Avx.LoadVector256(src + 8));
                }
                else
                {
                    for (int j = 0; j < nr; j++) dst[j] = src[j];
                    for (int j = nr; j < Nr; j++) dst[j] = 0;
                }
            }
        }
    }

    /// <summary>The 4×16 micro-kernel: C[mr×nr] += alpha · A[mr×kc] · panel[kc×16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(int kc, float* a, int lda, int mr, float* panel, float* c, int ldc, int nr, float alpha)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        // Rows past the edge read row 0 again; their sums are never stored.
        float* a0 = a, a1 = mr > 1 ? a + lda : a, a2 = mr > 2 ? a + 2L * lda : a, a3 = mr > 3 ? a + 3L * lda : a;
        for (int p = 0; p < kc; p++, panel += Nr)
        {
            var b0 = Avx.LoadVector256(panel);
            var b1 = Avx.LoadVector256(panel + 8);
            var x = Vector256.Create(a0[p]);
            c00 = Fma.MultiplyAdd(x, b0, c00);
            c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[p]);
            c10 = Fma.MultiplyAdd(x, b0, c10);
            c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[p]);
            c20 = Fma.MultiplyAdd(x, b0, c20);
            c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[p]);
            c30 = Fma.MultiplyAdd(x, b0, c30);
            c31 = Fma.MultiplyAdd(x, b1, c31);
        }
        var va = Vector256.Create(alpha);
        Store(c, nr, va, c00, c01);
        if (mr > 1) Store(c + ldc, nr, va, c10, c11);
        if (mr > 2) Store(c + 2L * ldc, nr, va, c20, c21);
        if (mr > 3) Store(c + 3L * ldc, nr, va, c30, c31);
    }

    /// <summary>c[0..nr) += alpha · (lo ‖ hi).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Store(float* c, int nr, Vector256<float> alpha, Vector256<float> lo, Vector256<float> hi)
    {
        if (nr == Nr)
        {
            Avx.Store(c, Fma.MultiplyAdd(alpha, lo, Avx.LoadVector256(c)));
            Avx.Store(c + 8, Fma.MultiplyAdd(alpha, hi, Avx.LoadVector256(c + 8)));
            return;
        }
        float* sums = stackalloc float[Nr];
        Avx.Store(sums, lo);
        Avx.Store(sums + 8, hi);
        float s = alpha.GetElement(0);
        for (int j = 0; j < nr; j++) c[j] += s * sums[j];
    }

    /// <summary>Row-by-row i-k-j with Vector&lt;float&gt;: correct everywhere, fast where FMA is missing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Portable(int m, int n, int k, float alpha, float* a, float* b, float* c)
    {
        int width = Vector<float>.Count;
        for (int i = 0; i < m; i++)
        {
            var cRow = new Span<float>(c + (long)i * n, n);
            for (int p = 0; p < k; p++)
            {
                float aip = alpha * a[(long)i * k + p];
                if (aip == 0) continue;
                var bRow = new ReadOnlySpan<float>(b + (long)p * n, n);
                var va = new Vector<float>(aip);
                int j = 0;
                for (; j <= n - width; j += width)
                    (new Vector<float>(cRow[j..]) + va * new Vector<float>(bRow[j..])).CopyTo(cRow[j..]);
                for (; j < n; j++) cRow[j] += aip * bRow[j];
            }
        }
    }
}
