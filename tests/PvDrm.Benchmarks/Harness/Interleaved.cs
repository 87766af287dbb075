namespace PvDrm.Benchmarks.Harness;

/// <summary>
/// Samples of several paths measured in alternating blocks, kept block by block, so that a ratio
/// can be taken within each block (two paths a moment apart, under the same load) and then
/// summarized over the blocks, instead of one ratio of two medians that drift apart.
/// </summary>
public sealed class Interleaved
{
    private readonly List<Samples>[] _blocks;

    public Interleaved(int paths)
    {
        _blocks = Enumerable.Range(0, paths).Select(_ => new List<Samples>()).ToArray();
    }

    public int Paths => _blocks.Length;

    /// <summary>Complete blocks (each path measured once in each).</summary>
    public int Blocks => _blocks.Min(b => b.Count);

    public void Add(int path, Samples block) => _blocks[path].Add(block);

    /// <summary>Every sample of <paramref name="path"/>, all blocks together.</summary>
    public Samples All(int path)
    {
        var all = new Samples(_blocks[path].Sum(b => b.Count));
        foreach (var b in _blocks[path]) all.AddRange(b);
        return all;
    }

    /// <summary>Per block, the median of <paramref name="numerator"/> over the median of <paramref name="denominator"/>.</summary>
    public Samples Ratio(int numerator, int denominator) => RatiosPerBlock(_blocks[numerator], _blocks[denominator]);

    /// <summary>Block i's ratio is median(numerators[i]) / median(denominators[i]); blocks without both are left out.</summary>
    public static Samples RatiosPerBlock(IReadOnlyList<Samples> numerators, IReadOnlyList<Samples> denominators)
    {
        var ratios = new Samples(numerators.Count);
        for (int i = 0; i < Math.Min(numerators.Count, denominators.Count); i++)
        {
            double r = numerators[i].Median / denominators[i].Median;
            if (double.IsFinite(r)) ratios.Add(r);
        }
        return ratios;
    }

    /// <summary>The two paths of <see cref="Measure.InterleavedAsync"/>: <c>var (a, b) = ...</c>.</summary>
    public void Deconstruct(out Samples a, out Samples b) => (a, b) = (All(0), All(1));
}
