using System.Numerics;
using System.Runtime.CompilerServices;

namespace PvDrm.Native.Gpu.Soft.Kernels;

/// <summary>y = a·x + y on float32, vectorized.</summary>
internal static unsafe class Saxpy
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float a, float* x, float* y, int n)
    {
        var xs = new ReadOnlySpan<float>(x, n);
        var ys = new Span<float>(y, n);
        var va = new Vector<float>(a);
        int i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            (va * new Vector<float>(xs[i..]) + new Vector<float>(ys[i..])).CopyTo(ys[i..]);
        for (; i < n; i++) ys[i] = a * xs[i] + ys[i];
    }
}
