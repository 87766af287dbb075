using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace PvDrm.Native.Gpu.Soft.Kernels;

/// <summary>
/// Single-threaded float32 GEMM, C = alpha·A·B + beta·C, row-major and dense, blocked as BLIS
/// does: for each Nc-column block of B and Kc-deep slice, B is packed into 16-column panels
/// (kept in L3/L2); for each Mc-row block of A, A is packed into 6-row panels (kept in L2); then
/// a 6×16 register tile of C accumulates over one panel of each (<see cref="GemmTile"/>). The
/// packing buffers are bounded by the block sizes, whatever shape a guest asks for, and kept per
/// engine thread, so a GEMM allocates nothing once its engine has run one of that size.
/// Machines without FMA take <see cref="GemmPortable"/>.
/// </summary>
internal static unsafe class Gemm
{
    internal const int Mr = 6, Nr = 16;
    private const int Kc = 256, Mc = 96, Nc = 1024;

    // Per engine thread: a block runs on one thread, start to end.
    [ThreadStatic] private static float[]? t_packedA;
    [ThreadStatic] private static float[]? t_packedB;

    /// <summary>
    /// Runs on validated arguments (SoftCommandDecoder): m, n, k ≥ 1, every matrix inside its
    /// buffer and below 2 GiB, C overlapping neither A nor B. With beta = 0, C is never read.
    /// </summary>
    public static void Run(int m, int n, int k, float alpha, float* a, float* b, float beta, float* c)
    {
        long progress = 0;
        Run(m, n, k, alpha, a, b, beta, c, ref progress, null);
    }

    /// <summary>
    /// The same, in bounded steps from <paramref name="progress"/> (0 at first): one Mc×Nc×Kc
    /// block (at most 25 M multiply-adds), or a band of rows without FMA or with alpha = 0. Between
    /// steps it asks <paramref name="slice"/> whether to yield; true once C is complete, false
    /// when it yielded (call again with the same progress to go on).
    /// </summary>
    public static bool Run(int m, int n, int k, float alpha, float* a, float* b, float beta, float* c, ref long progress, SoftSlice? slice)
    {
        if (alpha != 0 && Fma.IsSupported) return Blocked(m, n, k, alpha, a, b, beta, c, ref progress, slice);
        // Rows of C in bands; progress counts rows done. With alpha = 0 (BLAS semantics) A·B is
        // not evaluated, so NaN in A or B does not reach C.
        int band = (int)Math.Max(1, alpha == 0 ? (1L << 22) / n : (1L << 24) / ((long)n * k));
        for (bool first = true; progress < m; first = false)
        {
            if (!first && slice?.ShouldYield() == true) return false;
            int i = (int)progress, rows = Math.Min(band, m - i);
            if (alpha == 0) GemmPortable.Scale(c + (long)i * n, (long)rows * n, beta);
            else GemmPortable.Rows(i, rows, n, k, alpha, a, b, beta, c);
            progress += rows;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Blocked(int m, int n, int k, float alpha, float* a, float* b, float beta, float* c, ref long progress, SoftSlice? slice)
    {
        int kcMax = Math.Min(Kc, k);
        var packedA = Scratch(ref t_packedA, RoundUp(Math.Min(Mc, m), Mr) * kcMax);
        var packedB = Scratch(ref t_packedB, RoundUp(Math.Min(Nc, n), Nr) * kcMax);
        // Blocks in the order of the loops jc, pc, ic: progress is the next block's number.
        long blocksI = (m + Mc - 1) / Mc, blocksP = (k + Kc - 1) / Kc, blocks = blocksI * blocksP * ((n + Nc - 1) / Nc);
        fixed (float* pa = packedA, pb = packedB)
        {
            for (bool first = true; progress < blocks; first = false, progress++)
            {
                if (!first && slice?.ShouldYield() == true) return false;
                int ic = (int)(progress % blocksI) * Mc, pc = (int)(progress / blocksI % blocksP) * Kc, jc = (int)(progress / (blocksI * blocksP)) * Nc;
                int nc = Math.Min(Nc, n - jc), kc = Math.Min(Kc, k - pc), mc = Math.Min(Mc, m - ic);
                // B's panel serves every row block of a slice: packed at its first, or again on resuming.
                if (ic == 0 || first) PackB(b + (long)pc * n + jc, n, kc, nc, pb);
                PackA(a + (long)ic * k + pc, k, mc, kc, pa);
                // beta applies once, on the first slice; later slices accumulate.
                Macro(mc, nc, kc, pa, pb, c + (long)ic * n + jc, n, alpha, pc == 0 ? beta : 1f);
            }
        }
        return true;
    }

    /// <summary>C[mc×nc] (= or +=) alpha · packed A · packed B, tile by tile; a B panel stays in L1 across the A panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(int mc, int nc, int kc, float* pa, float* pb, float* c, int ldc, float alpha, float beta)
    {
        for (int jr = 0; jr < nc; jr += Nr)
        {
            int nr = Math.Min(Nr, nc - jr);
            float* bPanel = pb + (long)jr * kc;
            for (int ir = 0; ir < mc; ir += Mr)
            {
                int mr = Math.Min(Mr, mc - ir);
                float* aPanel = pa + (long)ir * kc;
                float* tile = c + (long)ir * ldc + jr;
                if (mr == Mr && nr == Nr) GemmTile.Full(kc, aPanel, bPanel, tile, ldc, alpha, beta);
                else GemmTile.Edge(kc, aPanel, bPanel, tile, ldc, mr, nr, alpha, beta);
            }
        }
    }

    /// <summary>
    /// Packs kc rows × nc columns of B into panels of 16 columns: panel j holds, for each p,
    /// B[p, 16j .. 16j+16) contiguously; columns past nc are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(float* b, int ldb, int kc, int nc, float* packed)
    {
        for (int jr = 0; jr < nc; jr += Nr)
        {
            int nr = Math.Min(Nr, nc - jr);
            float* dst = packed + (long)jr * kc;
            float* src = b + jr;
            if (nr == Nr)
            {
                for (int p = 0; p < kc; p++, dst += Nr, src += ldb)
                {
                    Avx.Store(dst, Avx.LoadVector256(src));
                    Avx.Store(dst + 8, Avx.LoadVector256(src + 8));
                }
                continue;
            }
            for (int p = 0; p < kc; p++, dst += Nr, src += ldb)
            {
                int j = 0;
                for (; j < nr; j++) dst[j] = src[j];
                for (; j < Nr; j++) dst[j] = 0;
            }
        }
    }

    /// <summary>
    /// Packs mc rows × kc columns of A into panels of 6 rows: panel i holds, for each p,
    /// A[6i .. 6i+6, p] contiguously (what the tile broadcasts); rows past mc are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(float* a, int lda, int mc, int kc, float* packed)
    {
        for (int ir = 0; ir < mc; ir += Mr)
        {
            int mr = Math.Min(Mr, mc - ir);
            float* dst = packed + (long)ir * kc;
            float* src = a + (long)ir * lda;
            if (mr == Mr)
            {
                float* r1 = src + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
                for (int p = 0; p < kc; p++, dst += Mr)
                {
                    dst[0] = src[p];
                    dst[1] = r1[p];
                    dst[2] = r2[p];
                    dst[3] = r3[p];
                    dst[4] = r4[p];
                    dst[5] = r5[p];
                }
                continue;
            }
            for (int p = 0; p < kc; p++, dst += Mr)
            {
                int i = 0;
                for (; i < mr; i++) dst[i] = src[(long)i * lda + p];
                for (; i < Mr; i++) dst[i] = 0;
            }
        }
    }

    /// <summary>This thread's packing buffer, grown to <paramref name="floats"/> if smaller (bounded by the block sizes).</summary>
    private static float[] Scratch(ref float[]? cached, int floats)
    {
        if (cached == null || cached.Length < floats) cached = GC.AllocateUninitializedArray<float>(floats);
        return cached;
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
