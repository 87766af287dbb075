using System.Diagnostics;

namespace PvDrm.Benchmarks.Harness;

/// <summary>Sampling loops shared by the cases.</summary>
public static class Measure
{
    /// <summary>
    /// Latency of two paths, one request at a time: <paramref name="warmup"/> untimed round trips
    /// of each (and for at least the settings' warm-up time), then <paramref name="samples"/> timed ones of each, in <paramref name="blocks"/>
    /// alternating blocks (the order flips every block), so that drift and noise on the shared
    /// machine fall on both alike.
    /// </summary>
    public static async Task<(Samples A, Samples B)> InterleavedAsync(Func<Task> a, Func<Task> b, int samples, int warmup, int blocks,
        CaseContext c, double progressFrom = 0, double progressTo = 1, TimeSpan? warmupTime = null)
    {
        var warmupEnd = Stopwatch.GetTimestamp() + (long)((warmupTime ?? c.Settings.WarmupTime).TotalSeconds * Stopwatch.Frequency);
        for (int i = 0; i < warmup || Stopwatch.GetTimestamp() < warmupEnd; i++)
        {
            await a();
            await b();
        }
        var sa = new Samples(samples);
        var sb = new Samples(samples);
        int perBlock = Math.Max(1, samples / blocks);
        for (int block = 0; block < blocks; block++)
        {
            c.Ct.ThrowIfCancellationRequested();
            bool aFirst = block % 2 == 0;
            await Block(aFirst ? a : b, aFirst ? sa : sb, perBlock);
            await Block(aFirst ? b : a, aFirst ? sb : sa, perBlock);
            c.Progress(progressFrom + (progressTo - progressFrom) * (block + 1) / blocks);
        }
        return (sa, sb);

        static async Task Block(Func<Task> op, Samples into, int n)
        {
            for (int i = 0; i < n; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await op();
                into.Add(Samples.MicrosSince(start));
            }
        }
    }

    /// <summary>
    /// One pipelined trial: <paramref name="inFlight"/> workers each issue <paramref name="perSlot"/>
    /// requests back to back, so that many are always in flight. Returns requests per second and
    /// every request's latency.
    /// </summary>
    public static async Task<(double OpsPerSecond, Samples Latencies)> PipelinedAsync(Func<Task> op, int inFlight, int perSlot)
    {
        var latencies = new Samples[inFlight];
        var workers = new Task[inFlight];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < inFlight; i++) workers[i] = Worker(op, perSlot, latencies[i] = new Samples(perSlot));
        await Task.WhenAll(workers);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var all = new Samples(inFlight * perSlot);
        foreach (var l in latencies) all.AddRange(l);
        return (inFlight * perSlot / seconds, all);

        static async Task Worker(Func<Task> op, int n, Samples into)
        {
            await Task.Yield();
            for (int i = 0; i < n; i++)
            {
                long t = Stopwatch.GetTimestamp();
                await op();
                into.Add(Samples.MicrosSince(t));
            }
        }
    }

    /// <summary>Runs <paramref name="count"/> operations with at most <paramref name="window"/> in flight; stops issuing at the first failure.</summary>
    public static async Task<(int Succeeded, Exception? FirstError)> WindowedAsync(int count, int window, Func<int, Task> op, CancellationToken ct)
    {
        var inFlight = new Queue<Task>(window);
        int succeeded = 0;
        Exception? error = null;
        for (int i = 0; i < count && error == null; i++)
        {
            ct.ThrowIfCancellationRequested();
            if (inFlight.Count == window) Collect(await Done(inFlight.Dequeue()));
            inFlight.Enqueue(op(i));
        }
        while (inFlight.Count > 0) Collect(await Done(inFlight.Dequeue()));
        return (succeeded, error);

        void Collect(Exception? e)
        {
            if (e == null) succeeded++;
            else error ??= e;
        }

        static async Task<Exception?> Done(Task t)
        {
            try
            {
                await t;
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }
    }
}
