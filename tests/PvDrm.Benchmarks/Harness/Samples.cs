using System.Diagnostics;

namespace PvDrm.Benchmarks.Harness;

/// <summary>Repeated measurements of one thing (µs, seconds, ops/s...): median and percentiles by nearest rank.</summary>
public sealed class Samples
{
    private readonly List<double> _values;
    private bool _sorted;

    public Samples(int capacity = 64)
    {
        _values = new List<double>(capacity);
    }

    public Samples(IEnumerable<double> values)
    {
        _values = new List<double>(values);
    }

    public int Count => _values.Count;

    public void Add(double value)
    {
        _values.Add(value);
        _sorted = false;
    }

    public void AddRange(Samples other)
    {
        _values.AddRange(other._values);
        _sorted = false;
    }

    /// <summary>The middle value (mean of the two middle ones for an even count).</summary>
    public double Median
    {
        get
        {
            Sort();
            if (_values.Count == 0) return double.NaN;
            int n = _values.Count;
            return n % 2 == 1 ? _values[n / 2] : (_values[n / 2 - 1] + _values[n / 2]) / 2;
        }
    }

    public double P99 => Percentile(0.99);

    public double Min => Percentile(0);

    public double Max => Percentile(1);

    /// <summary>
    /// Interquartile range: the spread of the middle half, third quartile minus first, with the
    /// quartiles interpolated between ranks (a handful of blocks has no "nearest" rank worth the name).
    /// </summary>
    public double Iqr => Quantile(0.75) - Quantile(0.25);

    /// <summary>Quantile by linear interpolation between the sorted values (q in [0, 1]; q = 0.5 is the median).</summary>
    public double Quantile(double q)
    {
        Sort();
        if (_values.Count == 0) return double.NaN;
        double at = Math.Clamp(q, 0, 1) * (_values.Count - 1);
        int below = (int)Math.Floor(at);
        int above = Math.Min(below + 1, _values.Count - 1);
        return _values[below] + (_values[above] - _values[below]) * (at - below);
    }

    /// <summary>Nearest-rank percentile, <paramref name="q"/> in [0, 1].</summary>
    public double Percentile(double q)
    {
        Sort();
        if (_values.Count == 0) return double.NaN;
        int rank = (int)Math.Ceiling(q * _values.Count);
        return _values[Math.Clamp(rank - 1, 0, _values.Count - 1)];
    }

    private void Sort()
    {
        if (_sorted) return;
        _values.Sort();
        _sorted = true;
    }

    /// <summary>Microseconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/> value).</summary>
    public static double MicrosSince(long start) => Stopwatch.GetElapsedTime(start).TotalMicroseconds;

    /// <summary>Times one awaited operation in µs.</summary>
    public static async Task<double> TimeAsync(Func<Task> operation)
    {
        long start = Stopwatch.GetTimestamp();
        await operation();
        return MicrosSince(start);
    }
}
