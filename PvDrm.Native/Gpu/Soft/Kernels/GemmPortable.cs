using System.Numerics;
using System.Runtime.CompilerServices;

namespace PvDrm.Native.Gpu.Soft.Kernels;

/// <summary>
/// GEMM for machines without FMA (and the beta-only case): row by row, i-k-j order, so B and C
/// rows stream through Vector&lt;float&gt;. Correct everywhere; not blocked, so slower than
/// <see cref="Gemm"/>'s tiles.
/// </summary>
internal static unsafe class GemmPortable
{
    public static void Run(int m, int n, int k, float alpha, float* a, float* b, float beta, float* c) =>
        Rows(0, m, n, k, alpha, a, b, beta, c);

    /// <summary>Rows [first, first + count) of C: a band Gemm runs between chances to yield.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(int first, int count, int n, int k, float alpha, float* a, float* b, float beta, float* c)
    {
        Scale(c + (long)first * n, (long)count * n, beta);
        int width = Vector<float>.Count;
        for (int i = first; i < first + count; i++)
        {
            float* cRow = c + (long)i * n;
            float* aRow = a + (long)i * k;
            for (int p = 0; p < k; p++)
            {
                float aip = alpha * aRow[p];
                float* bRow = b + (long)p * n;
                var va = new Vector<float>(aip);
                int j = 0;
                for (; j <= n - width; j += width)
                {
                    var sum = Vector.Load(cRow + j) + va * Vector.Load(bRow + j);
                    sum.Store(cRow + j);
                }
                for (; j < n; j++) cRow[j] += aip * bRow[j];
            }
        }
    }

    /// <summary>C = beta·C; beta = 0 overwrites without reading (C may hold NaN garbage).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(float* c, long count, float beta)
    {
        if (beta == 1) return;
        var span = new Span<float>(c, checked((int)count));
        if (beta == 0)
        {
            span.Clear();
            return;
        }
        var vb = new Vector<float>(beta);
        int i = 0;
        for (; i <= span.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(span[i..]) * vb).CopyTo(span[i..]);
        for (; i < span.Length; i++) span[i] *= beta;
    }
}
