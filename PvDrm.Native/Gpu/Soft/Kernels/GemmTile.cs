using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PvDrm.Native.Gpu.Soft.Kernels;

/// <summary>
/// The 6×16 register tile of <see cref="Gemm"/>: 12 AVX accumulators, and per k step two loads
/// of the packed B panel, six broadcasts from the packed A panel and twelve FMAs. Twelve
/// independent chains cover the FMA latency on two ports; 15 of 16 ymm registers are live.
/// </summary>
internal static unsafe class GemmTile
{
    private const int Mr = Gemm.Mr, Nr = Gemm.Nr;

    /// <summary>
    /// C[6×16] = alpha · Σp aPanel[p]ᵀ · bPanel[p] + beta · C. With beta = 0, C is not read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Full(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += Mr, b += Nr)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(x, b0, c00);
            c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(x, b0, c10);
            c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(x, b0, c20);
            c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(x, b0, c30);
            c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(x, b0, c40);
            c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(x, b0, c50);
            c51 = Fma.MultiplyAdd(x, b1, c51);
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        bool readC = beta != 0;
        Store(c, c00, c01, va, vb, readC);
        Store(c + ldc, c10, c11, va, vb, readC);
        Store(c + 2 * ldc, c20, c21, va, vb, readC);
        Store(c + 3 * ldc, c30, c31, va, vb, readC);
        Store(c + 4 * ldc, c40, c41, va, vb, readC);
        Store(c + 5 * ldc, c50, c51, va, vb, readC);
    }

    /// <summary>
    /// A tile cut by the edge of C (mr &lt; 6 or nr &lt; 16): the packed panels are zero-padded,
    /// so the full tile is computed into a scratch tile and only the mr×nr part lands in C.
    /// </summary>
    public static void Edge(int kc, float* a, float* b, float* c, long ldc, int mr, int nr, float alpha, float beta)
    {
        float* tile = stackalloc float[Mr * Nr];
        Full(kc, a, b, tile, Nr, 1f, 0f);
        for (int i = 0; i < mr; i++)
        {
            float* row = c + i * ldc, sums = tile + i * Nr;
            if (beta == 0)
                for (int j = 0; j < nr; j++) row[j] = alpha * sums[j];
            else
                for (int j = 0; j < nr; j++) row[j] = alpha * sums[j] + beta * row[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> lo, Vector256<float> hi, Vector256<float> alpha, Vector256<float> beta, bool readC)
    {
        if (readC)
        {
            Avx.Store(c, Fma.MultiplyAdd(alpha, lo, Avx.Multiply(beta, Avx.LoadVector256(c))));
            Avx.Store(c + 8, Fma.MultiplyAdd(alpha, hi, Avx.Multiply(beta, Avx.LoadVector256(c + 8))));
        }
        else
        {
            Avx.Store(c, Avx.Multiply(alpha, lo));
            Avx.Store(c + 8, Avx.Multiply(alpha, hi));
        }
    }
}
