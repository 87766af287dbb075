namespace PvDrm.Benchmarks.Harness;

/// <summary>How many samples each case takes: quick mode (under 3 minutes on 2 cores) or full.</summary>
public sealed record Settings(bool Quick)
{
    /// <summary>Round trips per path for the latency comparisons (after <see cref="RttWarmup"/>).</summary>
    public int RttSamples => Quick ? 5000 : 30000;

    public int RttWarmup => Quick ? 500 : 2000;

    /// <summary>Round trips per path for the slower peers (gRPC, Akka.Remote).</summary>
    public int PeerSamples => Quick ? 3000 : 15000;

    /// <summary>Blocks the latency samples are split into, alternating between the compared paths.</summary>
    public int Blocks => Quick ? 30 : 60;

    /// <summary>The limits case: blocks of its five paths, and round trips per path per block (each C block is one run of its program).</summary>
    public int LimitsBlocks => Quick ? 20 : 60;

    public int LimitsPerBlock => Quick ? 100 : 300;

    public int PipelinedTrials => Quick ? 21 : 41;

    /// <summary>Requests per in-flight slot in one pipelined trial.</summary>
    public int PipelinedPerSlot => Quick ? 100 : 300;

    public int MapSamples => Quick ? 7 : 21;

    public int FirstTouchSamples => Quick ? 7 : 11;

    public int CopySamples => Quick ? 5 : 11;

    public int GemmSamples => Quick ? 31 : 61;

    public int ConcurrentRounds => Quick ? 5 : 9;

    public int ConcurrentIterations => Quick ? 12 : 24;

    public int ConcurrentSize => 512;

    /// <summary>Scaling case: time each level runs in all, split into <see cref="ScalingBlocks"/> interleaved windows.</summary>
    public TimeSpan ScalingDuration => TimeSpan.FromSeconds(Quick ? 2 : 6);

    public int ScalingBlocks => Quick ? 8 : 24;

    /// <summary>Least warm-up time per path or level, besides a least count: lets tiered JIT reach its optimized code.</summary>
    public TimeSpan WarmupTime => TimeSpan.FromSeconds(Quick ? 0.5 : 2);

    /// <summary>
    /// Warm-up of the gRPC and Akka.Remote peers: their code paths are long, and tiered JIT takes
    /// seconds of calls to reach its final code (gRPC measured ~200 µs after 0.5 s, ~70 µs after 2 s).
    /// </summary>
    public TimeSpan PeerWarmupTime => TimeSpan.FromSeconds(Quick ? 3 : 4);

    public int GemNewSamples => Quick ? 1000 : 5000;

    public int GemNewBatch => Quick ? 2000 : 5000;

    public int GemNewTrials => Quick ? 5 : 15;

    /// <summary>
    /// Cache case: trials per proxy (alternating), and rounds of GEM_NEW + GEM_CLOSE churn per
    /// trial. Many short trials: the speedup is a ratio per pair of trials, and a handful of pairs
    /// gave medians 3.7 and 1.2 in two consecutive runs on the loaded 2-core machine.
    /// </summary>
    public int CacheTrials => Quick ? 15 : 31;

    public int CacheRounds => Quick ? 70 : 200;

    public int MemoryObjects => 100_000;

    /// <summary>Fresh hosts the fallback count is measured in (when the 100k attempt fails).</summary>
    public int MemoryRepeats => Quick ? 1 : 3;
}
