using System.Diagnostics;
using System.Numerics;

namespace PvDrm.Protocol;

/// <summary>
/// Request latencies in log-spaced buckets (four per power of two of microseconds, so a
/// percentile is within 25% of the truth), recorded lock-free from any thread. Fixed size: a
/// guest sending a million requests costs the same as one sending ten.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 4;
    private const int MaxPower = 40; // 2^40 µs: nothing waits that long
    private readonly long[] _counts = new long[SubBuckets * MaxPower];
    private long _maxMicros;

    /// <summary>Records one latency measured with <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public void Record(long startTimestamp)
    {
        long micros = (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
        Interlocked.Increment(ref _counts[Bucket(micros)]);
        long max = Volatile.Read(ref _maxMicros);
        while (micros > max && Interlocked.CompareExchange(ref _maxMicros, micros, max) is var seen && seen != max) max = seen;
    }

    /// <summary>Percentiles of what was recorded so far.</summary>
    public LatencySummary Summary()
    {
        var counts = new long[_counts.Length];
        for (int i = 0; i < counts.Length; i++) counts[i] = Interlocked.Read(ref _counts[i]);
        long total = counts.Sum();
        long max = Volatile.Read(ref _maxMicros);
        double At(double quantile)
        {
            if (total == 0) return 0;
            long rank = (long)Math.Ceiling(quantile * total), seen = 0;
            for (int i = 0; i < counts.Length; i++)
                if ((seen += counts[i]) >= rank) return Math.Min(UpperBound(i), max);
            return max;
        }
        return new LatencySummary(total, At(0.5), At(0.9), At(0.99), max);
    }

    // Below 4 µs one bucket per microsecond; above, four per power of two.
    private static int Bucket(long micros)
    {
        if (micros < SubBuckets) return (int)Math.Max(micros, 0);
        int power = Math.Min(BitOperations.Log2((ulong)micros), MaxPower);
        int sub = (int)(micros >> (power - 2)) & (SubBuckets - 1);
        return SubBuckets * (power - 1) + sub;
    }

    /// <summary>The largest latency (µs) that falls in bucket <paramref name="index"/>.</summary>
    internal static long UpperBound(int index)
    {
        if (index < SubBuckets) return index;
        int power = index / SubBuckets + 1, sub = index % SubBuckets;
        return ((SubBuckets + sub + 1L) << (power - 2)) - 1;
    }

    internal static int BucketOf(long micros) => Bucket(micros);
}

/// <summary>Percentiles in microseconds (bucket upper bounds, never above the largest seen).</summary>
public sealed record LatencySummary(long Count, double P50Us, double P90Us, double P99Us, double MaxUs);
