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
