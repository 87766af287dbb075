namespace PvDrm.Guest.Workloads;

/// <summary>What one workload run did and whether its results matched the CPU reference.</summary>
public sealed record WorkloadResult
{
    public string Guest { get; init; } = "";
    public string Workload { get; init; } = "";
    public int Size { get; init; }
    public int Iterations { get; init; }

    /// <summary>Requests sent to the host (or proxy).</summary>
    public long Requests { get; init; }

    /// <summary>GPU commands executed (FILL, GEMM, SAXPY, COPY, ...).</summary>
    public long Commands { get; init; }

    /// <summary>Bytes moved between the guest and GPU buffers (uploads and read-backs).</summary>
    public long Bytes { get; init; }

    /// <summary>Time of the timed iterations (after setup and one untimed warm-up iteration).</summary>
    public double ElapsedMs { get; init; }

    /// <summary>When the timed iterations started and ended, Unix time in ms, to compare guests.</summary>
    public double StartedAtMs { get; init; }

    public double EndedAtMs { get; init; }

    /// <summary>GEMM throughput of the timed iterations, transfers and verification included.</summary>
    public double Gflops { get; init; }

    public bool Verified { get; init; }

    /// <summary>Why the run failed or did not verify, if it did not.</summary>
    public string? Error { get; init; }

    /// <summary>"map" (zero-copy mapping) or "copy" (GEM_READ/GEM_WRITE).</summary>
    public string DataPath { get; init; } = "";
}
