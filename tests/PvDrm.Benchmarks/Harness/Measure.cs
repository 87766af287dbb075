using System.Diagnostics;

namespace PvDrm.Benchmarks.Harness;

/// <summary>One block of a path: takes <c>n</c> samples (µs per round trip) and returns them.</summary>
public delegate Task<Samples> BlockPath(int n);

/// <summary>Sampling loops shared by the cases.</summary>
public static class Measure
{
    /// <summary>
    /// Latency of two paths, one request at a time: <paramref name="warmup"/> untimed round trips
    /// of each (and for at least the settings' warm-up time), then <paramref name="samples"/> timed
    /// ones of each, in <paramref name="blocks"/> alternating blocks (the order flips every block),
    /// so that drift and noise on the shared machine fall on both alike. Kept block by block:
    /// <c>Ratio(0, 1)</c> is a over b per block.
    /// </summary>
    public static async Task<Interleaved> InterleavedAsync(Func<Task> a, Func<Task> b, int samples, int warmup, int blocks,
        CaseContext c, double progressFrom = 0, double progressTo = 1, TimeSpan? warmupTime = null)
    {
        var warmupEnd = Stopwatch.GetTimestamp() + (long)((warmupTime ?? c.Settings.WarmupTime).TotalSeconds * Stopwatch.Frequency);
        for (int i = 0; i < warmup || Stopwatch.GetTimestamp() < warmupEnd; i++)
        {
            await a();
            await b();
        }
        return await BlocksAsync([Timed(a), Timed(b)], Math.Max(1, samples / blocks), blocks, c, progressFrom, progressTo);
    }

    /// <summary>
    /// Any number of paths (in-process calls wrapped by <see cref="Timed"/>, or whole blocks run
    /// elsewhere such as the C ping-pongs of <see cref="CPingPong"/>), warmed up by running blocks
    /// of each for at least <paramref name="warmupTime"/> (the settings' warm-up time by
    /// default), then <paramref name="blocks"/> blocks of <paramref name="perBlock"/> samples of
    /// each; the order rotates every block so that no path always goes first.
    /// </summary>
    public static async Task<Interleaved> InterleaveAsync(IReadOnlyList<BlockPath> paths, int perBlock, int blocks, CaseContext c,
        double progressFrom = 0, double progressTo = 1, TimeSpan? warmupTime = null)
    {
        var warmupEnd = Stopwatch.GetTimestamp() + (long)((warmupTime ?? c.Settings.WarmupTime).TotalSeconds * Stopwatch.Frequency);
        do
        {
            foreach (var path in paths) await path(perBlock);
        }
        while (Stopwatch.GetTimestamp() < warmupEnd);
        return await BlocksAsync(paths, perBlock, blocks, c, progressFrom, progressTo);
    }

    private static async Task<Interleaved> BlocksAsync(IReadOnlyList<BlockPath> paths, int perBlock, int blocks, CaseContext c,
        double progressFrom, double progressTo)
    {
        var result = new Interleaved(paths.Count);
        for (int block = 0; block < blocks; block++)
        {
            c.Ct.ThrowIfCancellationRequested();
            for (int k = 0; k < paths.Count; k++)
            {
                int path = (block + k) % paths.Count;
                result.Add(path, await paths[path](perBlock));
            }
            c.Progress(progressFrom + (progressTo - progressFrom) * (block + 1) / blocks);
        }
        return result;
    }

    /// <summary>A block path of one awaited call: each sample is one call's time in µs.</summary>
    public static BlockPath Timed(Func<Task> op) => async n =>
    {
        var into = new Samples(n);
        for (int i = 0; i < n; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await op();
            into.Add(Samples.MicrosSince(start));
        }
        return into;
    };

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
